// Broker configuration: one typed object built at the edge (CLI flags, embedding options) and
// passed down. Defaults follow RabbitMQ's where it has one.

import type { LevelWithSilent } from 'pino';

export interface UserConfig {
  readonly name: string;
  readonly password: string;
  readonly tags: readonly string[];
}

export interface BrokerConfig {
  readonly host: string;
  readonly port: number;
  /** Directory for the database; null keeps everything in memory. */
  readonly dataDir: string | null;
  readonly logLevel: LevelWithSilent;
  /** Largest frame we accept and propose in connection.tune (RabbitMQ: 131072). */
  readonly frameMax: number;
  /** Channels per connection we propose (RabbitMQ: 2047). */
  readonly channelMax: number;
  /** Heartbeat interval we propose, seconds (RabbitMQ: 60). */
  readonly heartbeat: number;
  /** Largest message body accepted (RabbitMQ: 128 MiB). */
  readonly maxMessageSize: number;
  /** Cap on the database size in bytes (0: none). Past it, persistent publishes are nacked. */
  readonly maxStoreBytes: number;
  /** Users created on first start (an empty data directory), with full permissions on every vhost below. */
  readonly users: readonly UserConfig[];
  /** Virtual hosts created on first start. */
  readonly vhosts: readonly string[];
  /** Users that may log in only from loopback addresses (RabbitMQ's loopback_users). */
  readonly loopbackUsers: readonly string[];
}

export const DEFAULT_CONFIG: BrokerConfig = {
  host: '0.0.0.0',
  port: 5672,
  dataDir: './data',
  logLevel: 'info',
  frameMax: 131072,
  channelMax: 2047,
  heartbeat: 60,
  maxMessageSize: 128 * 1024 * 1024,
  maxStoreBytes: 0,
  users: [{ name: 'guest', password: 'guest', tags: ['administrator'] }],
  vhosts: ['/'],
  loopbackUsers: ['guest'],
};

export function makeConfig(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_CONFIG, ...defined };
}
