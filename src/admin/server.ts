// The management HTTP API (RabbitMQ's /api, for rabbitmqadmin, the warren CLI and scripts) and
// the Prometheus endpoint (/metrics), served by fastify. Here: the server's setup — JSON body
// parsing, access control on every route (route-access.ts), RabbitMQ-shaped error bodies (a
// malformed or invalid body is a 400 with a reason, never a crash), the bounds on every input
// (httpLimits, from the configuration), request logging at debug level — and its lifecycle. Routes live in routes/*.ts.
// The same app can also be served over HTTPS (`listenHttps`), on its own port, with
// credentials that a SIGHUP can replace.

import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import type { BrokerConfig } from '../config.js';
import { AmqpError } from '../errors.js';
import { CodecError } from '../codec/codec-error.js';
import { peerCertificate } from '../tls/credentials.js';
import { ALL_INTERFACES, listenHost } from '../util/address.js';
import { WWW_AUTHENTICATE } from './auth.js';
import { findConsoleDir, loadConsole, registerConsoleRoutes } from './console.js';
import type { AdminContext, Listener } from './context.js';
import { badRequest, fromAmqpError, HttpError, notFound } from './http-error.js';
import { durableWaiter } from './durable.js';
import { startEventLoopMonitor } from './event-loop.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { registerAccessRoutes } from './routes/access.js';
import { registerConnectionRoutes } from './routes/connections.js';
import { registerLimitRoutes } from './routes/limits.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerOverviewRoutes } from './routes/overview.js';
import { registerPeekRoutes } from './routes/peek.js';
import { registerPolicyRoutes } from './routes/policies.js';
import { installRouteAccess, normalisePath } from './route-access.js';
import { registerResourceRoutes } from './routes/resources.js';
import { registerStreamReaderRoutes } from './routes/stream-readers.js';
import { StatsSampler, type HttpCounters } from './stats.js';

/** The bounds on HTTP input, from the configuration (documented in the README's Security section). */
export interface HttpLimits {
  readonly bodyBytes: number;
  /** Request line's URL: longer is 414. */
  readonly urlBytes: number;
  /** Request line plus headers: longer is 431. */
  readonly headerBytes: number;
  /** One URL parameter, still percent-encoded: longer is 414. */
  readonly paramBytes: number;
  /** Whole request received within this, else 408 (slow-loris bodies). */
  readonly requestTimeoutMs: number;
  /** Headers received within this. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive socket is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Any socket without activity for this long is closed. */
  readonly socketIdleMs: number;
  /** Open HTTP sockets at once (per listener); more are closed as they arrive. */
  readonly maxSockets: number;
}

export function httpLimits(c: BrokerConfig): HttpLimits {
  return {
    bodyBytes: c.httpMaxBodySize,
    urlBytes: c.httpMaxUrlLength,
    headerBytes: c.httpMaxHeaderSize,
    paramBytes: c.httpMaxParamLength,
    requestTimeoutMs: c.httpRequestTimeout,
    headersTimeoutMs: c.httpHeadersTimeout,
    keepAliveTimeoutMs: c.httpKeepAliveTimeout,
    socketIdleMs: c.httpIdleTimeout,
    maxSockets: c.httpMaxConnections,
  };
}

/** Applies the socket bounds to a Node HTTP(S) server. */
function boundServer(server: { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; maxConnections: number; setTimeout(ms: number): unknown }, limits: HttpLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxSockets;
  server.setTimeout(limits.socketIdleMs);
}

export interface AdminOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly log: Logger;
  /** Seconds between rate samples. */
  readonly statsInterval: number;
  /** Where AMQP listens, for /api/overview's listeners. */
  readonly amqp?: AddressInfo | null;
  /** Where AMQPS listens, if it does. */
  readonly amqps?: AddressInfo | null;
}

export class AdminServer {
  readonly app: FastifyInstance;
  readonly stats: StatsSampler;
  readonly http: HttpCounters = { published: 0, delivered: 0, acked: 0 };
  readonly #options: AdminOptions;
  readonly #limits: HttpLimits;
  #address: AddressInfo | null = null;
  #https: HttpsServer | null = null;
  #httpsAddress: AddressInfo | null = null;
  #sampling = false;

  constructor(broker: Broker, options: AdminOptions) {
    this.#options = options;
    this.#limits = httpLimits(broker.config);
    this.stats = new StatsSampler(broker, this.http);
    const ctx: AdminContext = {
      broker,
      stats: this.stats,
      http: this.http,
      log: options.log,
      listeners: () => this.#listeners(),
    };
    this.app = buildApp(ctx, this.#limits);
  }

  /** Starts sampling rates and listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    try {
      await this.app.listen({ host: this.#options.host, port: this.#options.port });
    } catch (e) {
      // "::" (every interface) on a machine without IPv6: every IPv4 interface, as net would.
      const code = (e as NodeJS.ErrnoException).code;
      if (this.#options.host !== ALL_INTERFACES || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw e;
      await this.app.listen({ host: '0.0.0.0', port: this.#options.port });
    }
    const address = this.app.server.address() as AddressInfo;
    this.#address = address;
    this.#startSampling();
    return address;
  }

  /**
   * Serves the same routes over HTTPS on `host:port` (0 picks a free port). Fastify's own server
   * stays plain HTTP (or unused); this one hands each request to fastify's router.
   */
  async listenHttps(host: string, port: number, tls: TlsOptions): Promise<AddressInfo> {
    await this.app.ready();
    const server = createHttpsServer({ ...tls, maxHeaderSize: this.#limits.headerBytes }, (req, res) => this.app.routing(req, res));
    boundServer(server, this.#limits);
    this.#https = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, listenHost(host), () => {
        server.off('error', reject);
        server.on('error', (err) => this.#options.log.error({ err }, 'HTTPS listener error'));
        resolve();
      });
    });
    server.on('tlsClientError', (err) => this.#options.log.debug({ err: err.message }, 'HTTPS handshake failed'));
    // As on the AMQPS port: with peer verification, a client certificate that does not verify is refused.
    server.on('secureConnection', (socket) => {
      const peer = peerCertificate(socket);
      if (peer !== null && !peer.authorized) {
        this.#options.log.warn({ remote: socket.remoteAddress, reason: peer.authorizationError, cn: peer.commonName }, 'HTTPS client certificate refused: it does not verify against --tls-ca; closing');
        socket.destroy();
      }
    });
    this.#httpsAddress = server.address() as AddressInfo;
    this.#startSampling();
    return this.#httpsAddress;
  }

  /** New HTTPS connections use these credentials. */
  reloadTls(options: SecureContextOptions): void {
    this.#https?.setSecureContext(options);
  }

  #startSampling(): void {
    if (this.#sampling) return;
    this.#sampling = true;
    this.stats.start(this.#options.statsInterval);
    startEventLoopMonitor();
  }

  get address(): AddressInfo | null {
    return this.#address;
  }

  get httpsAddress(): AddressInfo | null {
    return this.#httpsAddress;
  }

  async close(): Promise<void> {
    this.stats.stop();
    const https = this.#https;
    if (https !== null) {
      await new Promise<void>((r) => {
        https.close(() => r());
        https.closeAllConnections();
      });
    }
    await this.app.close();
  }

  #listeners(): Listener[] {
    const out: Listener[] = [];
    const amqp = this.#options.amqp;
    const amqps = this.#options.amqps;
    if (amqp) out.push({ protocol: 'amqp', ip_address: amqp.address, port: amqp.port });
    if (amqps) out.push({ protocol: 'amqp/ssl', ip_address: amqps.address, port: amqps.port });
    if (this.#address) out.push({ protocol: 'http', ip_address: this.#address.address, port: this.#address.port });
    if (this.#httpsAddress) out.push({ protocol: 'https', ip_address: this.#httpsAddress.address, port: this.#httpsAddress.port });
    return out;
  }
}

/**
 * rabbitmqadmin sends every value as text ("durable": "true", "count": "1"), and query strings
 * are text: where the schema wants a boolean or an integer, such text becomes one.
 */
export function normalizeScalars(schema: unknown, value: unknown): void {
  if (typeof schema !== 'object' || schema === null || typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const props = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (props === undefined) return;
  const obj = value as Record<string, unknown>;
  for (const [key, prop] of Object.entries(props)) {
    const v = obj[key];
    if (typeof v !== 'string') continue;
    if (prop.type === 'boolean' && (v === 'true' || v === 'false')) obj[key] = v === 'true';
    else if (prop.type === 'integer' && /^-?\d+$/.test(v)) obj[key] = Number(v);
  }
}

function buildApp(ctx: AdminContext, limits: HttpLimits): FastifyInstance {
  // No type coercion by the validator (it would take 5 for a name); normalizeScalars() below
  // accepts just what RabbitMQ's clients send as text: "true"/"false" and whole numbers.
  const app = fastify({
    logger: false,
    bodyLimit: limits.bodyBytes,
    http: { maxHeaderSize: limits.headerBytes },
    // Routing (and so access control) sees the path as RabbitMQ's router would.
    rewriteUrl: (req) => normalisePath(req.url ?? '/'),
    routerOptions: { maxParamLength: limits.paramBytes },
    ajv: { customOptions: { coerceTypes: false } },
    // A URL the router cannot decode (`%ZZ`) is a 400 in RabbitMQ's shape.
    frameworkErrors: (err, _req, reply) => {
      void (reply as FastifyReply).code(err.statusCode ?? 400).send({ error: 'bad_request', reason: err.message });
    },
  });
  boundServer(app.server, limits);
  const log = ctx.log;

  // Every body is JSON, whatever content type the client names (RabbitMQ's tools are not all careful).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    // JSON.parse does not recurse; what walks the result (field tables) bounds its own depth.
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(badRequest(`body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });

  app.decorateRequest('apiUser', null as unknown as never);
  app.addHook('onRequest', async (req, reply) => {
    if ((req.originalUrl ?? req.url).length > limits.urlBytes) return reply.code(414).send({ error: 'uri_too_long', reason: `URL longer than ${limits.urlBytes} bytes` });
    return undefined;
  });
  // Must come before any route: it refuses routes without an access class.
  installRouteAccess(app, ctx.broker);
  // Where a route validates its body, a missing one counts as an empty object (so bodies with
  // only optional fields may be left out); routes without a body schema see undefined.
  app.addHook('preValidation', async (req) => {
    const schema = req.routeOptions.schema;
    if ((req.body === undefined || req.body === null) && schema?.body !== undefined) req.body = {};
    normalizeScalars(schema?.body, req.body);
    normalizeScalars(schema?.querystring, req.query);
  });
  // A change answered is a change stored, as with RabbitMQ: requests that may write (users,
  // vhosts, limits, declarations...) are answered once what the store was given is durable.
  const durable = durableWaiter(ctx.broker.store);
  app.addHook('onSend', async (req, _reply, payload) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') await durable();
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    log.debug({ method: req.method, url: req.url, status: reply.statusCode, user: req.apiUser?.name, ms: Math.round(reply.elapsedTime) }, 'http request');
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err instanceof AmqpError) e = fromAmqpError(err);
    else if (err instanceof CodecError) e = badRequest(err.message); // e.g. arguments nested too deep
    else if ('validation' in err && err.validation) e = badRequest(err.message);
    else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) e = new HttpError(err.statusCode, 'bad_request', err.message);
    else {
      log.error({ err, method: req.method, url: req.url }, 'internal error in the HTTP API');
      e = new HttpError(500, 'internal_error', 'internal error in warren; see the broker log for details');
    }
    // The console's requests (X-Requested-With) get no challenge: a browser would answer it with its own login dialog.
    if (e.status === 401 && req.headers['x-requested-with'] === undefined) void reply.header('www-authenticate', WWW_AUTHENTICATE);
    if (e.status >= 400 && e.status < 500) log.debug({ method: req.method, url: req.url, status: e.status, reason: e.reason }, 'http request refused');
    return reply.code(e.status).send(e.body);
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send(notFound().body));

  // Prometheus scrapes without credentials, as from RabbitMQ's rabbitmq_prometheus.
  const pub = { config: { access: 'public' } } as const;
  app.get('/metrics', pub, (_req, reply) => reply.type(METRICS_CONTENT_TYPE).send(renderMetrics(ctx.broker, ctx.http, false)));
  app.get('/metrics/per-object', pub, (_req, reply) => reply.type(METRICS_CONTENT_TYPE).send(renderMetrics(ctx.broker, ctx.http, true)));

  const consoleDir = findConsoleDir();
  registerConsoleRoutes(app, consoleDir === null ? new Map() : loadConsole(consoleDir));
  registerOverviewRoutes(app, ctx);
  registerAccessRoutes(app, ctx);
  registerResourceRoutes(app, ctx);
  registerMessageRoutes(app, ctx);
  registerPolicyRoutes(app, ctx);
  registerConnectionRoutes(app, ctx);
  registerLimitRoutes(app, ctx);
  registerPeekRoutes(app, ctx);
  registerStreamReaderRoutes(app, ctx);
  return app;
}
