// Broker configuration: one typed object built at the edge and passed down. Every option is
// declared once below (CONFIG_OPTIONS) with its config-file key, flag, environment variable,
// default and parser; `resolveConfig` layers them: flags > environment > config file > defaults.
// A bad value or an unknown key is a ConfigError naming the key and where it came from.
// Defaults follow RabbitMQ's where it has one.

import type { LevelWithSilent } from 'pino';
import { LOG_FORMATS, type LogFormatChoice } from './log-pretty.js';
import { parsePgUrl, redactPgUrl } from './store/postgres/hosts.js';

export interface UserConfig {
  readonly name: string;
  readonly password: string;
  readonly tags: readonly string[];
}

export interface BrokerConfig {
  readonly host: string;
  readonly port: number;
  /** Interface for the management HTTP API and /metrics. */
  readonly httpHost: string;
  /** Port for the management HTTP API (0 picks a free one); null: no HTTP listener. */
  readonly httpPort: number | null;
  /** Directory for the database; null keeps everything in memory. */
  readonly dataDir: string | null;
  /** A PostgreSQL URL for the store (postgres://...); null: SQLite in dataDir. */
  readonly storeUrl: string | null;
  /** This node's name among several on one PostgreSQL store (nodes); null: a single node. */
  readonly nodeName: string | null;
  /** Host other nodes forward clients to for this node's AMQP and HTTP ports (nodes). */
  readonly advertiseHost: string;
  /** How long the active node's lease lasts without renewal, ms (renewed every second). */
  readonly leaseMs: number;
  readonly logLevel: LevelWithSilent;
  /** 'auto': readable lines when stdout is a terminal, JSON lines otherwise. */
  readonly logFormat: LogFormatChoice;
  /** Largest frame we accept and propose in connection.tune (RabbitMQ: 131072). */
  readonly frameMax: number;
  /** Channels per connection we propose (RabbitMQ: 2047). */
  readonly channelMax: number;
  /** Heartbeat interval we propose, seconds (RabbitMQ: 60). */
  readonly heartbeat: number;
  /** Largest message body accepted (RabbitMQ: 128 MiB). */
  readonly maxMessageSize: number;
  /**
   * Per connection: output waiting for a slow client, and bodies of messages still being
   * received on several channels at once, may each reach this many bytes (RabbitMQ has no
   * such limit). Past it warren stops reading the socket until its output drains, or refuses
   * the extra message (406); one message alone is bounded by maxMessageSize only.
   */
  readonly maxConnectionBuffer: number;
  /**
   * Seconds a connection may stay unread because it does not take its output (over
   * maxConnectionBuffer) before it is dropped; 0: no limit (RabbitMQ has none). Heartbeats,
   * where negotiated, drop such a client that also sends nothing after two intervals anyway.
   */
  readonly pausedOutputTimeout: number;
  /**
   * How far V8's old generation may grow past what the last full collection kept, in percent,
   * before the next one (`warren start` only; an embedding process keeps its own GC tuning).
   * Lower holds less garbage, higher collects less often; see README "Under abuse".
   */
  readonly heapGrowth: number;
  /** Cap on the database size in bytes (0: none). Past it, persistent publishes are nacked. */
  readonly maxStoreBytes: number;
  /**
   * Bytes of persistent messages the store may hold in memory before they are committed; past
   * it connections publishing persistent messages are not read until it is under a quarter of
   * this (connection/store-flow.ts), so a publisher faster than the disk cannot grow memory.
   */
  readonly storeWriteBuffer: number;
  /**
   * How long (ms) a store batch whose inserts were already delivered may wait for their acks, so
   * that acked messages are never written (store/write-hold.ts); 0: write at once.
   */
  readonly storeAckWait: number;
  /** Seconds between samples for the message rates of the HTTP API (RabbitMQ: collect_statistics_interval 5 s). */
  readonly statsInterval: number;
  /** How long a delivery may stay unacknowledged, ms (RabbitMQ: consumer_timeout 30 min); 0: forever. */
  readonly consumerTimeout: number;
  /** Memory alarm threshold: a fraction of the machine's RAM (<= 1) or bytes (> 1). RabbitMQ: 0.4. */
  readonly memoryHighWatermark: number;
  /** Disk alarm: free space in the data directory below this many bytes (RabbitMQ: 50 MB). */
  readonly diskFreeLimit: number;
  /** Users created on first start (an empty data directory), with full permissions on every vhost below. */
  readonly users: readonly UserConfig[];
  /** Virtual hosts created on first start. */
  readonly vhosts: readonly string[];
  /** Users that may log in only from loopback addresses (RabbitMQ's loopback_users). */
  readonly loopbackUsers: readonly string[];
  /** AMQPS port (RabbitMQ: 5671) on `host`; null: no TLS listener. */
  readonly tlsPort: number | null;
  /** HTTPS port for the management API and /metrics on `httpHost`; null: none. */
  readonly httpsPort: number | null;
  /** PEM files of the server certificate (chain), its private key and the CAs trusted for client certificates. */
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly tlsCa: string | null;
  /** 'peer' asks clients for a certificate and refuses one the CA did not sign (RabbitMQ's verify_peer). */
  readonly tlsVerify: TlsVerify;
  /** With verify 'peer': also refuse clients that present no certificate. */
  readonly tlsFailIfNoPeerCert: boolean;
  /** Open connections the broker admits in all (RabbitMQ's connection_max); null: no cap. */
  readonly connectionMax: number | null;
  /** Consumers one channel may have (RabbitMQ's consumer_max_per_channel); null: no cap. */
  readonly consumerMaxPerChannel: number | null;
  /** Largest HTTP request body, bytes (RabbitMQ's management.http.max_body_size: 20 MB); larger is 413. */
  readonly httpMaxBodySize: number;
  /** Longest URL in an HTTP request line (cowboy's max_request_line_length: 8000); longer is 414. */
  readonly httpMaxUrlLength: number;
  /** Request line plus headers, bytes (Node's default 16 KiB); larger is 431. */
  readonly httpMaxHeaderSize: number;
  /** One URL path parameter, still percent-encoded, bytes; longer is 414 (a 255-character name needs up to 765). */
  readonly httpMaxParamLength: number;
  /** ms to receive a whole HTTP request (slow bodies), else 408. */
  readonly httpRequestTimeout: number;
  /** ms to receive an HTTP request's headers, else 408; at most httpRequestTimeout. */
  readonly httpHeadersTimeout: number;
  /** ms an idle keep-alive HTTP socket is kept. */
  readonly httpKeepAliveTimeout: number;
  /** ms any HTTP socket may stay without activity. */
  readonly httpIdleTimeout: number;
  /** Open HTTP sockets per listener; more are closed as they arrive. */
  readonly httpMaxConnections: number;
}

export const TLS_VERIFY = ['none', 'peer'] as const;
export type TlsVerify = (typeof TLS_VERIFY)[number];

/** The AMQPS port a bare `--tls-port` (no value) enables: IANA's amqps, RabbitMQ's default. */
export const DEFAULT_TLS_PORT = 5671;
/** The HTTPS port a bare `--https-port` enables (RabbitMQ's management.ssl.port is 15671). */
export const DEFAULT_HTTPS_PORT = 15671;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const DEFAULT_CONFIG: BrokerConfig = {
  // Every interface, IPv6 and IPv4, as RabbitMQ listens by default.
  host: '::',
  port: 5672,
  httpHost: '::',
  httpPort: 15672,
  dataDir: './data',
  storeUrl: null,
  nodeName: null,
  advertiseHost: '127.0.0.1',
  leaseMs: 2000,
  logLevel: 'info',
  logFormat: 'auto',
  frameMax: 131072,
  channelMax: 2047,
  heartbeat: 60,
  maxMessageSize: 128 * 1024 * 1024,
  maxConnectionBuffer: 4 * 1024 * 1024,
  pausedOutputTimeout: 120,
  heapGrowth: 100,
  maxStoreBytes: 0,
  // 4 MiB, not 16: a flat-out publisher's 1M backlog peaked 37 MiB lower, for a flat-out publish
  // rate 10 % lower in the medians, spreads overlapping (README, Memory of a 1M backlog).
  storeWriteBuffer: 4 * 1024 * 1024,
  storeAckWait: 2,
  statsInterval: 5,
  consumerTimeout: 1_800_000,
  memoryHighWatermark: 0.4,
  diskFreeLimit: 50_000_000,
  users: [{ name: 'guest', password: 'guest', tags: ['administrator'] }],
  vhosts: ['/'],
  loopbackUsers: ['guest'],
  tlsPort: null,
  httpsPort: null,
  tlsCert: null,
  tlsKey: null,
  tlsCa: null,
  tlsVerify: 'none',
  tlsFailIfNoPeerCert: false,
  connectionMax: null,
  consumerMaxPerChannel: null,
  httpMaxBodySize: 20_000_000,
  httpMaxUrlLength: 8000,
  httpMaxHeaderSize: 16_384,
  httpMaxParamLength: 1024,
  httpRequestTimeout: 30_000,
  httpHeadersTimeout: 10_000,
  httpKeepAliveTimeout: 5_000,
  httpIdleTimeout: 60_000,
  httpMaxConnections: 1024,
};

/** Fills in defaults (embedding, tests); undefined values count as not given. */
export function makeConfig(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_CONFIG, ...defined };
}

// ---- the option table --------------------------------------------------------------------

/** A value that cannot be used; `resolveConfig` prefixes where it came from. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Parser<T> = (value: unknown) => T;

export interface ConfigOption<K extends keyof BrokerConfig = keyof BrokerConfig> {
  readonly key: K;
  /** Command-line flag of `warren start` (null: config file only). */
  readonly flag: string | null;
  /** Environment variable (null: config file only). */
  readonly env: string | null;
  readonly help: string;
  /** Parses a config-file value (any JSON) or a flag/environment string; throws ConfigError. */
  readonly parse: Parser<BrokerConfig[K]>;
  /** For a flag with an optional value (`--tls-port [port]`): what the bare flag means. */
  readonly bare?: string;
}

function option<K extends keyof BrokerConfig>(key: K, flag: string | null, env: string | null, help: string, parse: Parser<BrokerConfig[K]>, bare?: string): ConfigOption<K> {
  return bare === undefined ? { key, flag, env, help, parse } : { key, flag, env, help, parse, bare };
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
}

function integer(min: number, max: number, what: string): Parser<number> {
  return (v) => {
    const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new ConfigError(`must be ${what}, got ${show(v)}`);
    return n;
  };
}

const portNumber = integer(0, 65535, 'a port number (0-65535)');

/** A count, or null (JSON null, or "infinity" as RabbitMQ spells it) for no cap. */
const optionalCap: Parser<number | null> = (v) => {
  if (v === null || v === 'infinity') return null;
  try {
    return integer(0, 2 ** 31 - 1, '')(v);
  } catch {
    throw new ConfigError(`must be a whole number (0-2147483647) or "infinity", got ${show(v)}`);
  }
};

/** A port, or null (JSON null, or "off" as a flag/variable) for no listener. */
const optionalPort: Parser<number | null> = (v) => {
  if (v === null || v === 'off') return null;
  try {
    return portNumber(v);
  } catch {
    throw new ConfigError(`must be a port number (0-65535) or "off", got ${show(v)}`);
  }
};

const tlsVerify: Parser<TlsVerify> = (v) => {
  const s = v === 'verify_peer' ? 'peer' : v === 'verify_none' ? 'none' : v;
  if (typeof s !== 'string' || !(TLS_VERIFY as readonly string[]).includes(s)) throw new ConfigError(`must be "none" or "peer", got ${show(v)}`);
  return s as TlsVerify;
};

const boolean: Parser<boolean> = (v) => {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new ConfigError(`must be true or false, got ${show(v)}`);
};

/** Bytes: a number, or a string like 1073741824, 512MiB, 1GB (units are powers of 1024). */
export const byteSize: Parser<number> = (v) => {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^\s*(\d+)\s*([kmgt]i?b?)?\s*$/i.exec(v) : null;
  if (!m) throw new ConfigError(`must be a size in bytes, e.g. 1073741824 or 1GiB, got ${show(v)}`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : unit === 't' ? 1024 ** 4 : 1;
  return Number(m[1]) * scale;
};

function byteSizeBetween(min: number, max: number): Parser<number> {
  return (v) => {
    const n = byteSize(v);
    if (n < min || n > max) throw new ConfigError(`must be a size from ${min} to ${max} bytes, got ${show(v)}`);
    return n;
  };
}

function byteSizeAtLeast(min: number): Parser<number> {
  return (v) => {
    const n = byteSize(v);
    if (n < min) throw new ConfigError(`must be at least ${min} bytes, got ${show(v)}`);
    return n;
  };
}

/** A fraction of RAM (0 < x <= 1) or a number of bytes (a plain integer or a size like 2GiB). */
const watermark: Parser<number> = (v) => {
  const n = typeof v === 'string' && /^\s*\d*\.\d+\s*$|^\s*[01]\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && n > 0 && n <= 1) return n;
  try {
    return byteSize(v);
  } catch {
    throw new ConfigError(`must be a fraction of RAM (0-1] or a size in bytes, got ${show(v)}`);
  }
};

const nonEmptyString: Parser<string> = (v) => {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`must be a non-empty string, got ${show(v)}`);
  return v;
};

/** A file path, or null (JSON null, or "none") for none. */
const optionalFile: Parser<string | null> = (v) => (v === null || v === 'none' ? null : nonEmptyString(v));

/** A directory, or null (JSON null, or "none") to keep everything in memory. */
const dataDirectory: Parser<string | null> = (v) => (v === null || v === 'none' ? null : nonEmptyString(v));

/** A name, or null (JSON null, or "none") for none. */
const optionalName: Parser<string | null> = (v) => (v === null || v === 'none' ? null : nonEmptyString(v));

/** "sqlite" (the default: SQLite in the data directory) or a postgres:// URL. */
const storeLocation: Parser<string | null> = (v) => {
  if (v === null || v === 'sqlite') return null;
  if (typeof v === 'string' && /^postgres(ql)?:\/\//.test(v)) {
    try {
      parsePgUrl(v);
    } catch (e) {
      throw new ConfigError(`${(e as Error).message} in ${JSON.stringify(redactPgUrl(v))}`);
    }
    return v;
  }
  throw new ConfigError(`must be "sqlite" or a postgres://user:password@host:port/database URL, got ${typeof v === 'string' ? JSON.stringify(v.replace(/:[^:@/]*@/, ':***@')) : show(v)}`);
};

const logLevel: Parser<LevelWithSilent> = (v) => {
  if (typeof v !== 'string' || !(LOG_LEVELS as readonly string[]).includes(v)) throw new ConfigError(`must be one of ${LOG_LEVELS.join(', ')}, got ${show(v)}`);
  return v as LevelWithSilent;
};

const logFormat: Parser<LogFormatChoice> = (v) => {
  if (typeof v !== 'string' || !(LOG_FORMATS as readonly string[]).includes(v)) throw new ConfigError(`must be one of ${LOG_FORMATS.join(', ')}, got ${show(v)}`);
  return v as LogFormatChoice;
};

/** A list of names: a JSON array of strings, or a comma-separated string ("none" or "" for an empty list). */
const nameList: Parser<readonly string[]> = (v) => {
  if (typeof v === 'string') return v === '' || v === 'none' ? [] : v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '')) return v as string[];
  throw new ConfigError(`must be a list of names, got ${show(v)}`);
};

const userList: Parser<readonly UserConfig[]> = (v) => {
  if (!Array.isArray(v)) throw new ConfigError(`must be a list of {"name", "password", "tags"} objects, got ${show(v)}`);
  return v.map((u: unknown, i) => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) throw new ConfigError(`[${i}] must be an object with "name", "password" and "tags", got ${show(u)}`);
    const r = u as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!['name', 'password', 'tags'].includes(k)) throw new ConfigError(`[${i}]: unknown key "${k}" (known: name, password, tags)`);
    if (typeof r['name'] !== 'string' || r['name'] === '') throw new ConfigError(`[${i}].name must be a non-empty string`);
    if (typeof r['password'] !== 'string') throw new ConfigError(`[${i}].password must be a string`);
    const tags = r['tags'] === undefined ? [] : r['tags'];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw new ConfigError(`[${i}].tags must be a list of strings`);
    return { name: r['name'], password: r['password'], tags };
  });
};

export const CONFIG_OPTIONS: readonly ConfigOption[] = [
  option('host', '--host <address>', 'WARREN_HOST', 'interface for AMQP ("::", the default: every interface, IPv6 and IPv4)', nonEmptyString),
  option('port', '--port <port>', 'WARREN_PORT', 'AMQP port (0 picks a free one; the "listening" log line says which)', portNumber),
  option('httpHost', '--http-host <address>', 'WARREN_HTTP_HOST', 'interface for the management HTTP API and /metrics ("::", the default: every interface)', nonEmptyString),
  option('httpPort', '--http-port <port>', 'WARREN_HTTP_PORT', 'management HTTP API port (0 picks a free one, "off" disables it)', optionalPort),
  option('dataDir', '--data-dir <dir>', 'WARREN_DATA_DIR', 'directory for the database ("none": keep everything in memory)', dataDirectory),
  option('storeUrl', '--store <url>', 'WARREN_STORE', 'where durable state lives: "sqlite" (the default, in --data-dir) or postgres://user:password@host:port/db (several hosts: host1:port1,host2:port2; the primary is used)', storeLocation),
  option('nodeName', '--node-name <name>', 'WARREN_NODE_NAME', 'run as one of several nodes on the --store PostgreSQL: one is active, the others forward clients to it (needs --store; "none": a single node)', optionalName),
  option('advertiseHost', '--advertise-host <host>', 'WARREN_ADVERTISE_HOST', 'host the other nodes forward clients to for this node (its --port and --http-port)', nonEmptyString),
  option('leaseMs', '--lease <ms>', 'WARREN_LEASE_MS', 'how long the active node keeps its lease without renewing it (renewed every second)', integer(1500, 600_000, 'a number of milliseconds (1500-600000)')),
  option('logLevel', '--log-level <level>', 'WARREN_LOG_LEVEL', `log level: ${LOG_LEVELS.join(', ')}`, logLevel),
  option('logFormat', '--log-format <format>', 'WARREN_LOG_FORMAT', 'log lines: "json", "pretty" (readable, coloured on a terminal) or "auto" (pretty when stdout is a terminal)', logFormat),
  option('frameMax', '--frame-max <bytes>', 'WARREN_FRAME_MAX', 'largest frame accepted and proposed to clients', integer(4096, 2 ** 31 - 1, 'an integer from 4096 to 2147483647')),
  option('channelMax', '--channel-max <n>', 'WARREN_CHANNEL_MAX', 'channels per connection proposed to clients', integer(1, 65535, 'an integer from 1 to 65535')),
  option('heartbeat', '--heartbeat <seconds>', 'WARREN_HEARTBEAT', 'heartbeat interval proposed to clients (0: none)', integer(0, 65535, 'a number of seconds (0-65535)')),
  option('maxMessageSize', '--max-message-size <bytes>', 'WARREN_MAX_MESSAGE_SIZE', 'largest message body accepted', byteSize),
  option('storeWriteBuffer', '--store-write-buffer <bytes>', 'WARREN_STORE_WRITE_BUFFER', 'persistent message bytes waiting for their store commit; past it publishers of persistent messages are paused until a quarter of it is left', byteSizeAtLeast(64 * 1024)),
  option('storeAckWait', '--store-ack-wait <ms>', 'WARREN_STORE_ACK_WAIT', 'how long persistent messages already delivered to a consumer may wait for their acks before they are written (acked ones are never written; the rest are written and confirmed as usual; 0: write at once)', integer(0, 50, 'a number of milliseconds (0-50)')),
  option('maxConnectionBuffer', '--max-connection-buffer <bytes>', 'WARREN_MAX_CONNECTION_BUFFER', 'per connection: output waiting for a slow client (past it warren stops reading that client), and bodies being received on several channels at once', byteSizeAtLeast(64 * 1024)),
  option('heapGrowth', '--heap-growth <percent>', 'WARREN_HEAP_GROWTH', "how far the JS heap may grow past the last full collection's survivors before the next one (lower: less memory, higher: more throughput)", integer(10, 400, 'a percentage (10-400)')),
  option('pausedOutputTimeout', '--paused-output-timeout <seconds>', 'WARREN_PAUSED_OUTPUT_TIMEOUT', 'seconds a client that does not take its output (past --max-connection-buffer) may stay connected unread (0: no limit)', integer(0, 86400, 'a number of seconds (0-86400)')),
  option('maxStoreBytes', '--max-db-size <bytes>', 'WARREN_MAX_DB_SIZE', 'cap on the database size; past it persistent publishes are nacked (0: no cap)', byteSize),
  option('statsInterval', '--stats-interval <seconds>', 'WARREN_STATS_INTERVAL', 'seconds between samples for the message rates of the HTTP API', integer(1, 3600, 'a number of seconds (1-3600)')),
  option('consumerTimeout', '--consumer-timeout <ms>', 'WARREN_CONSUMER_TIMEOUT', 'how long a delivery may stay unacknowledged before the consumer is cancelled or its channel closed (0: forever)', integer(0, 2 ** 31 - 1, 'a number of milliseconds')),
  option('memoryHighWatermark', '--memory-high-watermark <limit>', 'WARREN_MEMORY_HIGH_WATERMARK', 'memory alarm: publishers are blocked above this fraction of RAM (e.g. 0.4) or this many bytes', watermark),
  option('diskFreeLimit', '--disk-free-limit <bytes>', 'WARREN_DISK_FREE_LIMIT', 'disk alarm: publishers are blocked while free space in the data directory is below this', byteSize),
  option('users', null, null, 'users created on first start: [{"name", "password", "tags"}]', userList),
  option('vhosts', '--vhosts <names>', 'WARREN_VHOSTS', 'virtual hosts created on first start (comma-separated)', nameList),
  option('loopbackUsers', '--loopback-users <names>', 'WARREN_LOOPBACK_USERS', 'users that may log in only from localhost (comma-separated, "none" for nobody)', nameList),
  option('tlsPort', '--tls-port [port]', 'WARREN_TLS_PORT', `AMQPS (TLS) port on --host; the bare flag means ${DEFAULT_TLS_PORT} ("off": none; needs --tls-cert and --tls-key)`, optionalPort, String(DEFAULT_TLS_PORT)),
  option('httpsPort', '--https-port [port]', 'WARREN_HTTPS_PORT', `HTTPS port for the management API and /metrics on --http-host; the bare flag means ${DEFAULT_HTTPS_PORT} ("off": none)`, optionalPort, String(DEFAULT_HTTPS_PORT)),
  option('tlsCert', '--tls-cert <file>', 'WARREN_TLS_CERT', 'PEM file of the server certificate (and its chain); re-read on SIGHUP', optionalFile),
  option('tlsKey', '--tls-key <file>', 'WARREN_TLS_KEY', 'PEM file of the private key of --tls-cert; re-read on SIGHUP', optionalFile),
  option('tlsCa', '--tls-ca <file>', 'WARREN_TLS_CA', 'PEM file of the CA certificates trusted for client certificates; re-read on SIGHUP', optionalFile),
  option('tlsVerify', '--tls-verify <mode>', 'WARREN_TLS_VERIFY', '"peer": ask TLS clients for a certificate signed by --tls-ca and refuse a bad one; "none": do not ask', tlsVerify),
  option('tlsFailIfNoPeerCert', '--tls-fail-if-no-peer-cert [bool]', 'WARREN_TLS_FAIL_IF_NO_PEER_CERT', 'with --tls-verify peer: also refuse TLS clients without a certificate', boolean, 'true'),
  option('connectionMax', '--connection-max <n>', 'WARREN_CONNECTION_MAX', 'open client connections admitted in all; more are refused at connection.open with 530 ("infinity": no cap)', optionalCap),
  option('consumerMaxPerChannel', '--consumer-max-per-channel <n>', 'WARREN_CONSUMER_MAX_PER_CHANNEL', 'consumers one channel may have; basic.consume past it is refused with 530 ("infinity": no cap)', optionalCap),
  option('httpMaxBodySize', '--http-max-body-size <bytes>', 'WARREN_HTTP_MAX_BODY_SIZE', 'largest HTTP API request body (larger: 413)', byteSizeBetween(1024, 2 ** 31 - 1)),
  option('httpMaxUrlLength', '--http-max-url-length <bytes>', 'WARREN_HTTP_MAX_URL_LENGTH', 'longest URL of an HTTP API request (longer: 414)', integer(256, 1_048_576, 'a number of bytes (256-1048576)')),
  option('httpMaxHeaderSize', '--http-max-header-size <bytes>', 'WARREN_HTTP_MAX_HEADER_SIZE', 'request line and headers of an HTTP API request (larger: 431)', byteSizeBetween(1024, 1_048_576)),
  option('httpMaxParamLength', '--http-max-param-length <bytes>', 'WARREN_HTTP_MAX_PARAM_LENGTH', 'one percent-encoded path parameter of an HTTP API request (longer: 414; at least 765, what a 255-character name may need)', integer(765, 1_048_576, 'a number of bytes (765-1048576)')),
  option('httpRequestTimeout', '--http-request-timeout <ms>', 'WARREN_HTTP_REQUEST_TIMEOUT', 'ms to receive a whole HTTP API request (else 408)', integer(1000, 3_600_000, 'a number of milliseconds (1000-3600000)')),
  option('httpHeadersTimeout', '--http-headers-timeout <ms>', 'WARREN_HTTP_HEADERS_TIMEOUT', 'ms to receive an HTTP API request\'s headers (else 408); at most --http-request-timeout', integer(1000, 3_600_000, 'a number of milliseconds (1000-3600000)')),
  option('httpKeepAliveTimeout', '--http-keep-alive-timeout <ms>', 'WARREN_HTTP_KEEP_ALIVE_TIMEOUT', 'ms an idle keep-alive HTTP socket is kept open', integer(1, 3_600_000, 'a number of milliseconds (1-3600000)')),
  option('httpIdleTimeout', '--http-idle-timeout <ms>', 'WARREN_HTTP_IDLE_TIMEOUT', 'ms any HTTP socket may stay without activity before it is closed', integer(1000, 86_400_000, 'a number of milliseconds (1000-86400000)')),
  option('httpMaxConnections', '--http-max-connections <n>', 'WARREN_HTTP_MAX_CONNECTIONS', 'open HTTP sockets per listener (HTTP and HTTPS each); more are closed as they arrive', integer(1, 1_000_000, 'a whole number (1-1000000)')),
];

/** Where an option's effective value came from. */
export type ConfigOrigin = 'default' | 'file' | 'env' | 'flag';

export interface ConfigSources {
  /** The config file's path (for messages) and its text, if one was given. */
  readonly file?: { readonly path: string; readonly text: string } | null;
  /** The process environment; only WARREN_* variables of the table are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Flag values by option key, as strings (undefined: not given). */
  readonly flags?: Readonly<Partial<Record<keyof BrokerConfig, string | undefined>>>;
}

export interface ResolvedConfig {
  readonly config: BrokerConfig;
  readonly origin: Readonly<Record<keyof BrokerConfig, ConfigOrigin>>;
}

/** Layers defaults < config file < environment < flags; throws ConfigError naming the culprit. */
export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const values: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const origin = Object.fromEntries(CONFIG_OPTIONS.map((o) => [o.key, 'default'])) as Record<keyof BrokerConfig, ConfigOrigin>;
  const set = (o: ConfigOption, raw: unknown, from: ConfigOrigin, where: string): void => {
    try {
      values[o.key] = o.parse(raw);
      origin[o.key] = from;
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`${where}: ${e.message}`);
      throw e;
    }
  };
  if (sources.file) {
    const { path, text } = sources.file;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold one JSON object`);
    for (const [key, raw] of Object.entries(parsed)) {
      const o = CONFIG_OPTIONS.find((x) => x.key === key);
      if (o === undefined) throw new ConfigError(`config file ${path}: unknown key "${key}" (known keys: ${CONFIG_OPTIONS.map((x) => x.key).join(', ')})`);
      set(o, raw, 'file', `config file ${path}: "${key}"`);
    }
  }
  for (const o of CONFIG_OPTIONS) {
    const raw = o.env === null ? undefined : sources.env?.[o.env];
    if (raw !== undefined) set(o, raw, 'env', o.env!);
  }
  for (const o of CONFIG_OPTIONS) {
    const raw = sources.flags?.[o.key];
    if (raw !== undefined) set(o, raw, 'flag', flagName(o));
  }
  const config = values as unknown as BrokerConfig;
  checkTlsOptions(config);
  checkHttpOptions(config);
  return { config, origin };
}

/** Options that only make sense together; an error names the flags to add or drop. */
export function checkTlsOptions(c: BrokerConfig): void {
  const listener = c.tlsPort !== null ? '--tls-port' : c.httpsPort !== null ? '--https-port' : null;
  if (listener !== null && (c.tlsCert === null || c.tlsKey === null)) throw new ConfigError(`${listener} needs --tls-cert and --tls-key (PEM files)`);
  if (c.tlsVerify === 'peer' && c.tlsCa === null) throw new ConfigError('--tls-verify peer needs --tls-ca (the CA certificates that sign client certificates)');
  if (c.tlsFailIfNoPeerCert && c.tlsVerify !== 'peer') throw new ConfigError('--tls-fail-if-no-peer-cert needs --tls-verify peer');
}

/** HTTP bounds that depend on each other (Node refuses a headers timeout above the request timeout). */
export function checkHttpOptions(c: BrokerConfig): void {
  if (c.httpHeadersTimeout > c.httpRequestTimeout) {
    throw new ConfigError(`--http-headers-timeout (${c.httpHeadersTimeout} ms) must not exceed --http-request-timeout (${c.httpRequestTimeout} ms)`);
  }
}

/** "--port" for "--port <port>". */
export function flagName(o: ConfigOption): string {
  return (o.flag ?? '').split(' ')[0]!;
}

/** The configuration as --print-config shows it: JSON, passwords masked. */
export function printableConfig(config: BrokerConfig): string {
  const masked = {
    ...config,
    users: config.users.map((u) => ({ ...u, password: '********' })),
    storeUrl: config.storeUrl === null ? null : config.storeUrl.replace(/^(postgres(?:ql)?:\/\/[^:@/]*:)[^@/]*@/, '$1********@'),
  };
  return JSON.stringify(masked, null, 2);
}
