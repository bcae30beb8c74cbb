// The seam between a channel and its connection: what a channel may ask of the connection it
// runs on (socket state, flow control, permissions, the store) without knowing sockets.

import type { PermissionKind } from '../auth/access.js';
import type { FrameWriter } from '../codec/frame-writer.js';
import type { ConnectionError } from '../errors.js';
import type { FlowSource } from '../queue/queue.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { Store, WriteRange } from '../store/store.js';

/** A channel's message counts (the HTTP API's and /metrics' totals add them up). */
export interface ChannelStats {
  published: number;
  delivered: number;
  acked: number;
}

/** A channel as its connection calls it back (channel.ts). */
export interface HostedChannel {
  readonly id: number;
  readonly stats: ChannelStats;
  /** Writes the confirms and commit-ok now due; true while still waiting for the store. */
  flushHook(durableSeq: number, failed?: WriteRange | null): boolean;
  /** The frames read with the client's channel.close are handled. */
  afterInput(): void;
}

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly writer: FrameWriter;
  readonly vhost: VirtualHost;
  readonly store: Store;
  readonly username: string;
  readonly maxMessageSize: number;
  /** Consumers a channel may have (null: no cap). */
  readonly consumerMaxPerChannel: number | null;
  /** The negotiated frame_max (header and end octet included; 0: no limit). */
  readonly frameMax: number;
  /** Bytes messages arriving on several channels at once may hold together (one alone: maxMessageSize). */
  readonly maxConnectionBuffer: number;
  /** Body bytes held for messages still arriving on the connection's channels; each channel adds its share. */
  contentHeld: number;
  /** The client announced consumer_cancel_notify: tell it when the server cancels a consumer. */
  readonly consumerCancelNotify: boolean;
  /** The socket is not backed up: deliveries may be written. */
  readonly writable: boolean;
  scheduleFlush(): void;
  /** This channel has confirms or a commit waiting for the store or for the next flush. */
  wantsFlushHook(ch: HostedChannel): void;
  /** The channel is fully closed; its number may be reused. */
  channelClosed(ch: HostedChannel): void;
  /** Call ch.afterInput() once the frames received with the current one are handled. */
  afterInput(ch: HostedChannel): void;
  /** Throws 403 ACCESS_REFUSED unless the user may do `kind` on the named queue or exchange. */
  checkPermission(kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void;
  /** Changes whenever permissions change anywhere (invalidates cached checks). */
  readonly permissionEpoch: number;
  /** Pause reading from the client until `queue` has drained, or the store caught up (flow control). */
  throttle(queue: FlowSource): void;
  /** A resource alarm is on: publishers are to be blocked (see blockForAlarm). */
  readonly alarmed: boolean;
  /** Stop reading from this publisher until the alarm clears (connection.blocked). */
  blockForAlarm(): void;
  /** Closes the whole connection with a hard error (from outside frame handling). */
  closeWithError(e: ConnectionError): void;
}
