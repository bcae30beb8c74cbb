// The connection handshake, apart from the socket: the protocol header, connection.start, the
// client's capabilities, the login (SASL credentials checked against the users), tune negotiation
// and the vhost check of connection.open. Connection keeps the state and routes each handshake
// method here; Handshake answers through HandshakeHost (send, close, drop the socket, advance).

import type { Logger } from 'pino';
import type { FieldTable } from '../codec/field-table.js';
import { fieldString } from '../codec/field-table.js';
import { CONNECTION_OPEN_OK, CONNECTION_START, CONNECTION_TUNE, FRAME_MIN_SIZE, methodName, type Method } from '../codec/methods.generated.js';
import type { BrokerConfig } from '../config.js';
import { ConnectionError } from '../errors.js';
import type { VirtualHost } from '../routing/vhost.js';
import { externalUser, parseCredentials, SASL_MECHANISMS, SASL_MECHANISMS_TLS, type TlsClient } from './sasl.js';

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export type HeaderResult =
  /** Not all 8 bytes yet, and those so far match. */
  | { readonly kind: 'incomplete' }
  /** Not a header we speak; `got` holds what arrived. */
  | { readonly kind: 'refused'; readonly got: Buffer }
  /** A good header; `rest` is what followed it in the same read. */
  | { readonly kind: 'accepted'; readonly rest: Buffer };

const INCOMPLETE: HeaderResult = { kind: 'incomplete' };

/** Collects the 8-byte protocol header, which may arrive split across reads. */
export class ProtocolHeaderReader {
  #partial: Buffer | null = null;

  read(chunk: Buffer): HeaderResult {
    const have = this.#partial === null ? chunk : Buffer.concat([this.#partial, chunk]);
    if (have.length < 8) {
      // A mismatch can be told before all 8 bytes are in.
      if (!PROTOCOL_HEADER.subarray(0, have.length).equals(have)) return { kind: 'refused', got: have };
      this.#partial = have;
      return INCOMPLETE;
    }
    this.#partial = null;
    if (!have.subarray(0, 8).equals(PROTOCOL_HEADER)) return { kind: 'refused', got: have };
    return { kind: 'accepted', rest: have.subarray(8) };
  }
}

export function connectionStart(serverProperties: FieldTable, overTls = false): Method {
  return {
    id: CONNECTION_START,
    versionMajor: 0,
    versionMinor: 9,
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

export function clientCapabilities(clientProperties: FieldTable): ClientCapabilities {
  const caps = clientProperties.get('capabilities');
  if (caps?.type !== 'F') return { consumerCancelNotify: false, authenticationFailureClose: false, connectionBlocked: false };
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
  /** A mechanism we do not offer, or an AMQPLAIN response that does not decode: RabbitMQ drops the socket. */
  | { readonly kind: 'unknown-mechanism' }
  /** Wrong user, password or place; the reason is logged here. */
  | { readonly kind: 'refused' };

export function logIn(checks: LoginChecks, mechanism: string, response: Buffer, remoteAddress: string, log: Logger, tls: TlsClient | null = null): LoginResult {
  if (mechanism === 'EXTERNAL' && tls !== null) return logInExternal(checks, tls, remoteAddress, log);
  const credentials = parseCredentials(mechanism, response);
  if (credentials === null) {
    log.warn({ mechanism }, `unknown authentication mechanism '${mechanism}'; closing`);
    return { kind: 'unknown-mechanism' };
  }
  if (credentials === 'undecodable') {
    log.warn({ mechanism }, 'AMQPLAIN response is not a table with LOGIN and PASSWORD; closing the socket');
    return { kind: 'unknown-mechanism' };
  }
  const [user, password] = credentials;
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
  /** Drops the socket without a word, as RabbitMQ does for most handshake mistakes. */
  destroy(): void;
  /** Flushes what is pending, then ends the socket. */
  endSocket(): void;
  closeWith(e: ConnectionError): void;
  /** connection.start was sent. */
  started(): void;
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
  readonly #tls: TlsClient | null;
  readonly #header = new ProtocolHeaderReader();
  #authenticationFailureClose = false;
  #user = '';
  #clientProduct: string | undefined;

  constructor(ctx: HandshakeContext, host: HandshakeHost, log: Logger, remoteAddress: string, tls: TlsClient | null = null) {
    this.#ctx = ctx;
    this.#host = host;
    this.#log = log;
    this.#remoteAddress = remoteAddress;
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
    this.#host.started();
    this.#host.send(connectionStart(this.#ctx.serverProperties, this.#tls !== null));
    return r.rest;
  }

  /** A method other than the one the handshake waits for: RabbitMQ drops the socket. */
  unexpected(m: Method): void {
    this.#log.warn({ method: methodName(m.id) }, 'unexpected method during the handshake; closing the socket');
    this.#host.destroy();
  }

  startOk(mechanism: string, response: Buffer, clientProperties: FieldTable): void {
    const caps = clientCapabilities(clientProperties);
    this.#authenticationFailureClose = caps.authenticationFailureClose;
    this.#clientProduct = fieldString(clientProperties.get('product'));
    this.#host.greeted(clientProperties, caps);
    const login = logIn(this.#ctx, mechanism, response, this.#remoteAddress, this.#log, this.#tls);
    if (login.kind === 'unknown-mechanism') {
      this.#host.destroy();
      return;
    }
    if (login.kind === 'refused') {
      if (this.#authenticationFailureClose) this.#host.closeWith(loginRefused(mechanism));
      else this.#host.endSocket();
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
      this.#log.warn(`failed to negotiate connection parameters: ${tuned}; closing`);
      this.#host.destroy();
      return;
    }
    this.#host.tuned(tuned);
  }

  /** connection.open; throws NOT_ALLOWED for an unknown or forbidden vhost. */
  open(vhostName: string, remotePort: number): void {
    this.#host.opened(openVhost(this.#ctx, this.#user, vhostName), vhostName);
    this.#host.send({ id: CONNECTION_OPEN_OK, knownHosts: '' });
    this.#log.info({ user: this.#user, vhost: vhostName, client: this.#clientProduct, remote: `${this.#remoteAddress}:${remotePort}` }, 'connection opened');
  }
}
