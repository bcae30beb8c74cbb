// What a connection needs from the broker that accepted it: configuration, the store, users and
// permissions, vhosts, resource alarms, and the broker's per-turn flush. Broker implements it;
// tests pass their own. Also the permission check every AMQP operation goes through.

import type { Logger } from 'pino';
import type { PermissionKind } from '../auth/access.js';
import { ChannelError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Connection } from './connection.js';
import type { HandshakeContext } from './handshake.js';

export interface ConnectionContext extends HandshakeContext {
  readonly store: Store;
  readonly log: Logger;
  permits(user: string, vhost: string, kind: PermissionKind, name: string): boolean;
  /** Changes whenever any permission changes. */
  readonly permissionEpoch: number;
  /** The active resource alarms ('memory', 'disk'); publishers are blocked while any is on. */
  readonly alarms: ReadonlySet<string>;
  /** Flush this connection's output at the end of the event-loop turn. */
  scheduleFlush(conn: Connection): void;
  /**
   * The connection used up its input slice and paused reading: call its resumeAfterYield()
   * after this turn's output is flushed (without this, it resumes on its own setImmediate).
   */
  yieldInput?(conn: Connection): void;
  connectionClosed(conn: Connection): void;
  /** Throws 530 when the user's max-channels limit is reached (channel.open). */
  admitChannel?(conn: Connection): void;
}

/** 403 unless `user` may do `kind` on the resource; the default exchange is 'amq.default' to permissions, as in RabbitMQ. */
export function checkPermission(ctx: Pick<ConnectionContext, 'permits'>, user: string, vhost: string, kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void {
  const n = resource === 'exchange' && name === '' ? 'amq.default' : name;
  if (!ctx.permits(user, vhost, kind, n)) {
    throw new ChannelError('ACCESS_REFUSED', `access to ${resource} '${n}' in vhost '${vhost}' refused for user '${user}'`);
  }
}
