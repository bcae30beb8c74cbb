// The connection handshake, apart from the socket: the protocol header, connection.start, the
// client's capabilities, the login (SASL credentials checked against the users), tune negotiation
// and the vhost check of connection.open. Connection keeps the state and routes each handshake
// method here; Handshake answers through HandshakeHost (send, close, drop the socket, advance).

import type { Logger } from 'pino';
import type { FieldTable } from '../codec/field-table.js';
import { fieldString } from '../codec/field-table.js';
import { CONNECTION_OPEN, CONNECTION_OPEN_OK, CONNECTION_START, CONNECTION_START_OK, CONNECTION_TUNE, CONNECTION_TUNE_OK, FRAME_MIN_SIZE, methodName, type Method } from '../codec/methods.generated.js';
import type { BrokerConfig } from '../config.js';
import { ConnectionError } from '../errors.js';
import type { VirtualHost } from '../routing/vhost.js';
import { externalUser, parseCredentials, SASL_MECHANISMS, SASL_MECHANISMS_TLS, type TlsClient } from './sasl.js';

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** What a connection speaks once its header is accepted. */
export type Protocol = '0-9-1' | '0-8';

interface KnownHeader {
  readonly bytes: Buffer;
  readonly protocol: Protocol;
  /** The version connection.start announces. */
  readonly major: number;
  readonly minor: number;
}

/** The headers RabbitMQ accepts (rabbit_reader), and what it serves for each. */
const KNOWN_HEADERS: readonly KnownHeader[] = [
  { bytes: PROTOCOL_HEADER, protocol: '0-9-1', major: 0, minor: 9 },
  // 0-9 (AnyEvent::RabbitMQ sends it): served as 0-9-1.
  { bytes: Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]), protocol: '0-9-1', major: 0, minor: 9 },
  // 0-8, which names itself version 8-0; and the header of the 0-8 spec on the AMQP site.
  { bytes: Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 8, 0]), protocol: '0-8', major: 8, minor: 0 },
  { bytes: Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 9, 1]), protocol: '0-8', major: 8, minor: 0 },
];

export type HeaderResult =
  /** Not all 8 bytes yet, and those so far match. */
  | { readonly kind: 'incomplete' }
  /** Not a header we speak; `got` holds what arrived. */
  | { readonly kind: 'refused'; readonly got: Buffer }
  /** A good header; `rest` is what followed it in the same read. */
  | { readonly kind: 'accepted'; readonly header: KnownHeader; readonly rest: Buffer };

const INCOMPLETE: HeaderResult = { kind: 'incomplete' };

/** Collects the 8-byte protocol header, which may arrive split across reads. */
export class ProtocolHeaderReader {
  #partial: Buffer | null = null;

  read(chunk: Buffer): HeaderResult {
    const have = this.#partial === null ? chunk : Buffer.concat([this.#partial, chunk]);
    const n = Math.min(have.length, 8);
    // A mismatch can be told before all 8 bytes are in.
    const header = KNOWN_HEADERS.find((h) => h.bytes.subarray(0, n).equals(have.subarray(0, n)));
    if (header === undefined) return { kind: 'refused', got: have };
    if (have.length < 8) {
      this.#partial = have;
      return INCOMPLETE;
    }
    this.#partial = null;
    return { kind: 'accepted', header, rest: have.subarray(8) };
  }
}

/** connection.start for the protocol a header asked for; RabbitMQ names no capabilities to 0-8 clients. */
export function connectionStart(serverProperties: FieldTable, header: KnownHeader = KNOWN_HEADERS[0]!, overTls = false): Method {
  if (header.protocol === '0-8') {
    serverProperties = new Map(serverProperties);
    serverProperties.set('capabilities', { type: 'F', value: new Map() });
  }
  return {
    id: CONNECTION_START,
    versionMajor: header.major,
    versionMinor: header.minor,
    serverProperties,
    mechanisms: Buffer.from(overTls ? SASL_MECHANISMS_TLS : SASL_MECHANISMS),
    locales: Buffer.from('en_US'),
  };
}

/** The client capabilities warren acts on, from connection.start-ok's client properties. */
export interface ClientCapabilities {
  readonly consumerCancelNotify: boolean;
  readonly authenticationFailureClose: boolean;
  readonly connectionBlocked: boolean;
}

export const NO_CAPABILITIES: ClientCapabilities = { consumerCancelNotify: false, authenticationFailureClose: false, connectionBlocked: false };

export function clientCapabilities(clientProperties: FieldTable): ClientCapabilities {
  const caps = clientProperties.get('capabilities');
  if (caps?.type !== 'F') return NO_CAPABILITIES;
  return {
    consumerCancelNotify: caps.value.get('consumer_cancel_notify')?.value === true,
    authenticationFailureClose: caps.value.get('authentication_failure_close')?.value === true,
    connectionBlocked: caps.value.get('connection.blocked')?.value === true,
  };
}

/** What the login needs from the broker. */
export interface LoginChecks {
  /** True when `user` exists and `password` is right. */
  checkPassword(user: string, password: string): boolean;
  /** True when `user` exists (EXTERNAL: the certificate stands for the password). */
  userExists(user: string): boolean;
  /** False when the user may only log in from loopback and `remoteAddress` is not loopback. */
  mayLogInFrom(user: string, remoteAddress: string): boolean;
}

export type LoginResult =
  | { readonly kind: 'ok'; readonly user: string }
  /** A mechanism we do not offer, or a response it cannot parse: a protocol error. */
  | { readonly kind: 'invalid' }
  /** Wrong user, password or place. */
  | { readonly kind: 'refused' };

/** Checks the start-ok response; the reason for a failure is logged here. */
export function logIn(checks: LoginChecks, mechanism: string, response: Buffer, remoteAddress: string, log: Logger, tls: TlsClient | null = null): LoginResult {
  if (mechanism === 'EXTERNAL' && tls !== null) return logInExternal(checks, tls, remoteAddress, log);
  const credentials = parseCredentials(mechanism, response);
  if (credentials.kind === 'unknown-mechanism') {
    log.warn({ mechanism }, `unknown authentication mechanism '${mechanism}'`);
    return { kind: 'invalid' };
  }
  if (credentials.kind === 'invalid') {
    log.warn({ mechanism }, credentials.reason);
    return { kind: 'invalid' };
  }
  const { user, password } = credentials;
  const passwordOk = checks.checkPassword(user, password);
  if (passwordOk && checks.mayLogInFrom(user, remoteAddress)) return { kind: 'ok', user };
  if (passwordOk) {
    log.warn({ user, mechanism, remote: remoteAddress }, `login refused for user '${user}': it may only connect from localhost (loopback_users); create another user for remote clients`);
  } else {
    log.warn({ user, mechanism }, `login refused for user '${user}': unknown user or wrong password`);
  }
  return { kind: 'refused' };
}

function logInExternal(checks: LoginChecks, tls: TlsClient, remoteAddress: string, log: Logger): LoginResult {
  const found = externalUser(tls);
  if ('refused' in found) {
    log.warn({ mechanism: 'EXTERNAL', remote: remoteAddress }, `login refused (EXTERNAL): ${found.refused}`);
    return { kind: 'refused' };
  }
  const { user } = found;
  if (!checks.userExists(user)) {
    log.warn({ user, mechanism: 'EXTERNAL' }, `login refused for user '${user}' (EXTERNAL, from the client certificate's CN): no such user`);
    return { kind: 'refused' };
  }
  if (!checks.mayLogInFrom(user, remoteAddress)) {
    log.warn({ user, mechanism: 'EXTERNAL', remote: remoteAddress }, `login refused for user '${user}': it may only connect from localhost (loopback_users); create another user for remote clients`);
    return { kind: 'refused' };
  }
  return { kind: 'ok', user };
}

/** The hard error sent on a refused login when the client asked for authentication_failure_close. */
export function loginRefused(mechanism: string): ConnectionError {
  return new ConnectionError('ACCESS_REFUSED', `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`);
}

export interface Tuned {
  readonly channelMax: number;
  readonly frameMax: number;
  readonly heartbeat: number;
}

/** Checks connection.tune-ok against our limits; a string says why negotiation failed. */
export function negotiateTune(cfg: BrokerConfig, channelMax: number, frameMax: number, heartbeat: number): Tuned | string {
  const fm = frameMax === 0 ? cfg.frameMax : frameMax;
  if (fm < FRAME_MIN_SIZE || fm > cfg.frameMax) {
    const bound = fm < FRAME_MIN_SIZE ? `lower than the minimum allowed value (${FRAME_MIN_SIZE})` : `higher than the maximum allowed value (${cfg.frameMax})`;
    return `negotiated frame_max = ${fm} is ${bound}`;
  }
  if (channelMax === 0 || channelMax > cfg.channelMax) {
    return `negotiated channel_max = ${channelMax} is outside 1..${cfg.channelMax}`;
  }
  return { channelMax, frameMax: fm, heartbeat };
}

/** What connection.open needs from the broker. */
export interface VhostChecks {
  vhost(name: string): VirtualHost | undefined;
  canAccessVhost(user: string, vhost: string): boolean;
  /** Throws 530 when a connection limit (broker, vhost or user) is reached. */
  admitConnection?(user: string, vhost: string): void;
}

/** The vhost connection.open asks for, if it exists and `user` may use it. */
export function openVhost(checks: VhostChecks, user: string, vhostName: string): VirtualHost {
  const vhost = checks.vhost(vhostName);
  if (vhost === undefined) throw new ConnectionError('NOT_ALLOWED', `vhost ${vhostName} not found`);
  // RabbitMQ checks the connection limits before the user's access to the vhost.
  checks.admitConnection?.(user, vhostName);
  if (!checks.canAccessVhost(user, vhostName)) {
    throw new ConnectionError('NOT_ALLOWED', `access to vhost '${vhostName}' refused for user '${user}'`);
  }
  return vhost;
}

/** What the handshake needs from the broker. */
export interface HandshakeContext extends LoginChecks, VhostChecks {
  readonly config: BrokerConfig;
  readonly serverProperties: FieldTable;
}

/** How the handshake acts on its connection. */
export interface HandshakeHost {
  /** Sends a method on channel 0. */
  send(m: Method): void;
  /** Writes bytes that are not a frame (our protocol header). */
  writeRaw(bytes: Buffer): void;
  /** Flushes what is pending, then ends the socket. */
  endSocket(): void;
  /** A mistake before tune-ok: RabbitMQ answers nothing and drops the socket 3 s later. */
  refuse(): void;
  closeWith(e: ConnectionError): void;
  /** The protocol header was accepted and connection.start sent. */
  started(protocol: Protocol): void;
  /** start-ok arrived (before the login is checked). */
  greeted(clientProperties: FieldTable, caps: ClientCapabilities): void;
  /** The login succeeded and connection.tune was sent. */
  loggedIn(user: string): void;
  tuned(t: Tuned): void;
  opened(vhost: VirtualHost, vhostName: string): void;
}

export class Handshake {
  readonly #ctx: HandshakeContext;
  readonly #host: HandshakeHost;
  readonly #log: Logger;
  readonly #remoteAddress: string;
  readonly #remotePort: number;
  readonly #tls: TlsClient | null;
  readonly #header = new ProtocolHeaderReader();
  #authenticationFailureClose = false;
  #user = '';
  #clientProduct: string | undefined;

  /** `remote`: the client's address (the loopback check) and port (for the log). */
  constructor(ctx: HandshakeContext, host: HandshakeHost, log: Logger, remote: { readonly address: string; readonly port: number }, tls: TlsClient | null = null) {
    this.#ctx = ctx;
    this.#host = host;
    this.#log = log;
    this.#remoteAddress = remote.address;
    this.#remotePort = remote.port;
    this.#tls = tls;
  }

  /** Consumes the 8-byte protocol header; returns the bytes after it, or null if incomplete or refused. */
  readHeader(chunk: Buffer): Buffer | null {
    const r = this.#header.read(chunk);
    if (r.kind === 'incomplete') return null;
    if (r.kind === 'refused') {
      // Wrong protocol header: answer with ours and close, as the spec says.
      this.#log.warn({ header: r.got.subarray(0, 8).toString('hex') }, 'client sent an unsupported protocol header; closing');
      this.#host.writeRaw(PROTOCOL_HEADER);
      this.#host.endSocket();
      return null;
    }
    this.#host.started(r.header.protocol);
    this.#host.send(connectionStart(this.#ctx.serverProperties, r.header, this.#tls !== null));
    return r.rest;
  }

  /** A channel-0 method while the handshake runs, in RabbitMQ's names for its states. */
  onMethod(m: Method, state: 'starting' | 'tuning' | 'opening'): void {
    if (state === 'starting') {
      if (m.id !== CONNECTION_START_OK) return this.unexpected(m, state);
      return this.startOk(m.mechanism, m.response, m.clientProperties);
    }
    if (state === 'tuning') {
      if (m.id !== CONNECTION_TUNE_OK) return this.unexpected(m, state);
      return this.tuneOk(m.channelMax, m.frameMax, m.heartbeat);
    }
    // From here on RabbitMQ answers mistakes with connection.close (even connection.close itself).
    if (m.id !== CONNECTION_OPEN) throw new ConnectionError('CHANNEL_ERROR', 'unexpected method in connection state opening');
    this.open(m.virtualHost);
  }

  /** A method other than the one the handshake waits for (before tune-ok). */
  unexpected(m: Method, state: string): void {
    this.#log.warn({ method: methodName(m.id) }, `unexpected method in connection state ${state}`);
    this.#host.refuse();
  }

  startOk(mechanism: string, response: Buffer, clientProperties: FieldTable): void {
    const caps = clientCapabilities(clientProperties);
    this.#authenticationFailureClose = caps.authenticationFailureClose;
    this.#clientProduct = fieldString(clientProperties.get('product'));
    this.#host.greeted(clientProperties, caps);
    const login = logIn(this.#ctx, mechanism, response, this.#remoteAddress, this.#log, this.#tls);
    if (login.kind === 'refused' && this.#authenticationFailureClose) {
      this.#host.closeWith(loginRefused(mechanism));
      return;
    }
    if (login.kind !== 'ok') {
      this.#host.refuse();
      return;
    }
    this.#user = login.user;
    this.#host.loggedIn(login.user);
    const cfg = this.#ctx.config;
    this.#host.send({ id: CONNECTION_TUNE, channelMax: cfg.channelMax, frameMax: cfg.frameMax, heartbeat: cfg.heartbeat });
  }

  tuneOk(channelMax: number, frameMax: number, heartbeat: number): void {
    const tuned = negotiateTune(this.#ctx.config, channelMax, frameMax, heartbeat);
    if (typeof tuned === 'string') {
      this.#log.warn(`failed to negotiate connection parameters: ${tuned}`);
      this.#host.refuse();
      return;
    }
    this.#host.tuned(tuned);
  }

  /** connection.open; throws NOT_ALLOWED for an unknown or forbidden vhost. */
  open(vhostName: string): void {
    this.#host.opened(openVhost(this.#ctx, this.#user, vhostName), vhostName);
    this.#host.send({ id: CONNECTION_OPEN_OK, knownHosts: '' });
    this.#log.info({ user: this.#user, vhost: vhostName, client: this.#clientProduct, remote: `${this.#remoteAddress}:${this.#remotePort}` }, 'connection opened');
  }
}
