// The configuration: one option table, layered flags > environment > config file > defaults;
// unknown keys and bad values are refused naming the key and where it came from; the
// printed configuration masks passwords; the example file in the repo is valid.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_OPTIONS, ConfigError, DEFAULT_CONFIG, byteSize, printableConfig, resolveConfig } from '../../src/config.js';
import { startConfig } from '../../src/cli/start.js';

const file = (text: string) => ({ path: 'warren.json', text });

describe('resolveConfig', () => {
  it('gives the defaults when nothing is set', () => {
    const r = resolveConfig({});
    expect(r.config).toEqual(DEFAULT_CONFIG);
    expect(new Set(Object.values(r.origin))).toEqual(new Set(['default']));
  });

  it('layers flags over environment over file over defaults, and says where each value came from', () => {
    const r = resolveConfig({
      file: file(JSON.stringify({ port: 1111, httpPort: 2222, heartbeat: 10, logLevel: 'warn' })),
      env: { WARREN_PORT: '3333', WARREN_HTTP_PORT: '4444', UNRELATED: 'x' },
      flags: { port: '5555' },
    });
    expect(r.config.port).toBe(5555);
    expect(r.config.httpPort).toBe(4444);
    expect(r.config.heartbeat).toBe(10);
    expect(r.config.logLevel).toBe('warn');
    expect(r.config.frameMax).toBe(DEFAULT_CONFIG.frameMax);
    expect(r.origin).toMatchObject({ port: 'flag', httpPort: 'env', heartbeat: 'file', logLevel: 'file', frameMax: 'default' });
  });

  it('parses sizes, lists, "off" and "none"', () => {
    const r = resolveConfig({
      env: { WARREN_MAX_DB_SIZE: '2GiB', WARREN_LOOPBACK_USERS: 'none', WARREN_VHOSTS: '/, staging' },
      flags: { httpPort: 'off', dataDir: 'none', maxMessageSize: '512k' },
    });
    expect(r.config.maxStoreBytes).toBe(2 * 1024 ** 3);
    expect(r.config.loopbackUsers).toEqual([]);
    expect(r.config.vhosts).toEqual(['/', 'staging']);
    expect(r.config.httpPort).toBeNull();
    expect(r.config.dataDir).toBeNull();
    expect(r.config.maxMessageSize).toBe(512 * 1024);
    expect(byteSize(1024)).toBe(1024);
    expect(() => byteSize('lots')).toThrow(ConfigError);
  });

  it('takes --store as "sqlite" or a postgres:// URL, masks its password when printed, and refuses anything else', () => {
    expect(resolveConfig({}).config.storeUrl).toBeNull();
    const r = resolveConfig({ env: { WARREN_STORE: 'postgres://w:secret@db:5432/warren' }, flags: { nodeName: 'n1', leaseMs: '3000' } });
    expect(r.config).toMatchObject({ storeUrl: 'postgres://w:secret@db:5432/warren', nodeName: 'n1', leaseMs: 3000 });
    expect(printableConfig(r.config)).toContain('postgres://w:********@db:5432/warren');
    expect(printableConfig(r.config)).not.toContain('secret');
    expect(resolveConfig({ flags: { storeUrl: 'sqlite' } }).config.storeUrl).toBeNull();
    expect(() => resolveConfig({ flags: { storeUrl: 'mysql://x:pw@h/db' } })).toThrow(/must be "sqlite" or a postgres:\/\/.*mysql:\/\/x:\*\*\*@h/);
    expect(() => resolveConfig({ flags: { leaseMs: '100' } })).toThrow(ConfigError);
    // A host list, as libpq takes it (a Patroni cluster): the password is masked there too.
    const list = resolveConfig({ flags: { storeUrl: 'postgres://w:secret@h1:5432,h2:5433/warren?target_session_attrs=read-write' } }).config;
    expect(list.storeUrl).toBe('postgres://w:secret@h1:5432,h2:5433/warren?target_session_attrs=read-write');
    expect(printableConfig(list)).toContain('postgres://w:********@h1:5432,h2:5433/warren');
    expect(() => resolveConfig({ flags: { storeUrl: 'postgres://w:secret@h1,,h2/warren' } })).toThrow(/bad host "" in the host list in "postgres:\/\/w@h1,,h2\/warren"/);
  });

  it('takes the connection and consumer caps as counts, or "infinity" (the default) for none', () => {
    expect(resolveConfig({}).config).toMatchObject({ connectionMax: null, consumerMaxPerChannel: null });
    const r = resolveConfig({ file: file('{"connectionMax": 500, "consumerMaxPerChannel": null}'), env: { WARREN_CONSUMER_MAX_PER_CHANNEL: '64' } });
    expect(r.config).toMatchObject({ connectionMax: 500, consumerMaxPerChannel: 64 });
    expect(resolveConfig({ flags: { connectionMax: 'infinity', consumerMaxPerChannel: '0' } }).config).toMatchObject({ connectionMax: null, consumerMaxPerChannel: 0 });
    expect(() => resolveConfig({ flags: { connectionMax: '-1' } })).toThrow('--connection-max: must be a whole number (0-2147483647) or "infinity", got "-1"');
    expect(() => resolveConfig({ env: { WARREN_CONSUMER_MAX_PER_CHANNEL: 'lots' } })).toThrow('WARREN_CONSUMER_MAX_PER_CHANNEL: must be a whole number (0-2147483647) or "infinity", got "lots"');
  });

  it('takes the paused output timeout in seconds (0: no limit)', () => {
    // The default keeps a flat-out publisher's 1M x 1 KiB backlog under the 200 MiB goal (README, Memory of a 1M backlog).
    expect(resolveConfig({ flags: {} }).config.storeWriteBuffer).toBe(4 * 1024 * 1024);
    expect(resolveConfig({ flags: { storeWriteBuffer: '32MiB' } }).config.storeWriteBuffer).toBe(32 * 1024 * 1024);
    expect(() => resolveConfig({ flags: { storeWriteBuffer: '1KiB' } })).toThrow(/at least 65536 bytes/);
    expect(resolveConfig({}).config.storeAckWait).toBe(2);
    expect(resolveConfig({ env: { WARREN_STORE_ACK_WAIT: '0' } }).config.storeAckWait).toBe(0);
    expect(() => resolveConfig({ flags: { storeAckWait: '51' } })).toThrow(/0-50/);
    expect(resolveConfig({}).config.heapGrowth).toBe(100);
    expect(resolveConfig({ env: { WARREN_HEAP_GROWTH: '50' } }).config.heapGrowth).toBe(50);
    expect(() => resolveConfig({ flags: { heapGrowth: '5' } })).toThrow(/10-400/);
    expect(resolveConfig({}).config.pausedOutputTimeout).toBe(120);
    expect(resolveConfig({ env: { WARREN_PAUSED_OUTPUT_TIMEOUT: '0' } }).config.pausedOutputTimeout).toBe(0);
    expect(resolveConfig({ file: file('{"pausedOutputTimeout": 30}'), flags: { pausedOutputTimeout: '45' } }).config.pausedOutputTimeout).toBe(45);
    expect(() => resolveConfig({ flags: { pausedOutputTimeout: '-5' } })).toThrow('--paused-output-timeout: must be a number of seconds (0-86400), got "-5"');
  });

  it('takes the HTTP input limits from flags, variables and the file, and checks them', () => {
    const d = resolveConfig({}).config;
    expect([d.httpMaxBodySize, d.httpMaxUrlLength, d.httpMaxHeaderSize, d.httpMaxParamLength]).toEqual([20_000_000, 8000, 16_384, 1024]);
    expect([d.httpRequestTimeout, d.httpHeadersTimeout, d.httpKeepAliveTimeout, d.httpIdleTimeout, d.httpMaxConnections]).toEqual([30_000, 10_000, 5_000, 60_000, 1024]);
    const r = resolveConfig({
      file: file('{"httpMaxBodySize": "1MiB", "httpMaxConnections": 64}'),
      env: { WARREN_HTTP_MAX_URL_LENGTH: '4000', WARREN_HTTP_REQUEST_TIMEOUT: '20000' },
      flags: { httpMaxHeaderSize: '32KiB', httpHeadersTimeout: '5000', httpMaxConnections: '128' },
    }).config;
    expect(r).toMatchObject({ httpMaxBodySize: 1024 * 1024, httpMaxUrlLength: 4000, httpRequestTimeout: 20_000, httpMaxHeaderSize: 32 * 1024, httpHeadersTimeout: 5000, httpMaxConnections: 128 });
    expect(() => resolveConfig({ flags: { httpMaxParamLength: '100' } })).toThrow('--http-max-param-length: must be a number of bytes (765-1048576), got "100"');
    expect(() => resolveConfig({ env: { WARREN_HTTP_MAX_BODY_SIZE: 'huge' } })).toThrow('WARREN_HTTP_MAX_BODY_SIZE: must be a size in bytes');
    expect(() => resolveConfig({ file: file('{"httpMaxHeaderSize": "2MiB"}') })).toThrow('"httpMaxHeaderSize": must be a size from 1024 to 1048576 bytes, got "2MiB"');
    expect(() => resolveConfig({ flags: { httpMaxConnections: '0' } })).toThrow('--http-max-connections: must be a whole number (1-1000000), got "0"');
    expect(() => resolveConfig({ flags: { httpRequestTimeout: '5000', httpHeadersTimeout: '6000' } })).toThrow('--http-headers-timeout (6000 ms) must not exceed --http-request-timeout (5000 ms)');
  });

  it('takes users from the file', () => {
    const r = resolveConfig({ file: file(JSON.stringify({ users: [{ name: 'admin', password: 's3cret', tags: ['administrator'] }, { name: 'app', password: 'p' }] })) });
    expect(r.config.users).toEqual([
      { name: 'admin', password: 's3cret', tags: ['administrator'] },
      { name: 'app', password: 'p', tags: [] },
    ]);
  });

  const refusals: readonly [string, Parameters<typeof resolveConfig>[0], string][] = [
    ['an unknown key', { file: file('{"prot": 5672}') }, 'config file warren.json: unknown key "prot" (known keys: '],
    ['a bad value in the file', { file: file('{"port": "high"}') }, 'config file warren.json: "port": must be a port number (0-65535), got "high"'],
    ['a port out of range', { file: file('{"httpPort": 70000}') }, 'config file warren.json: "httpPort": must be a port number (0-65535) or "off", got 70000'],
    ['a bad environment variable', { env: { WARREN_HEARTBEAT: '-1' } }, 'WARREN_HEARTBEAT: must be a number of seconds (0-65535), got "-1"'],
    ['a bad flag', { flags: { logLevel: 'loud' } }, '--log-level: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    ['a frame_max below the minimum', { flags: { frameMax: '100' } }, '--frame-max: must be an integer from 4096 to 2147483647, got "100"'],
    ['a user without a password', { file: file('{"users": [{"name": "x"}]}') }, 'config file warren.json: "users": [0].password must be a string'],
    ['an unknown key in a user', { file: file('{"users": [{"name": "x", "password": "p", "admin": true}]}') }, 'config file warren.json: "users": [0]: unknown key "admin"'],
    ['a file that is not JSON', { file: file('port = 5672') }, 'config file warren.json is not valid JSON'],
    ['a file that is a list', { file: file('[]') }, 'config file warren.json must hold one JSON object'],
  ];
  for (const [what, sources, message] of refusals) {
    it(`refuses ${what}, naming it`, () => {
      let err: unknown;
      try {
        resolveConfig(sources);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message.startsWith(message)).toBe(true);
      expect((err as Error).message).not.toContain('\n');
    });
  }

  it('declares every option once, with a flag and variable unless it is file-only', () => {
    const keys = CONFIG_OPTIONS.map((o) => o.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys)).toEqual(new Set(Object.keys(DEFAULT_CONFIG)));
    for (const o of CONFIG_OPTIONS) {
      if (o.key === 'users') continue;
      // <value>, or [value] with what the bare flag means.
      expect(o.flag, o.key).toMatch(o.bare === undefined ? /^--[a-z-]+ <[a-z]+>$/ : /^--[a-z-]+ \[[a-z]+\]$/);
      if (o.bare !== undefined) o.parse(o.bare);
      expect(o.env, o.key).toMatch(/^WARREN_[A-Z_]+$/);
      // The default itself passes the option's own parser.
      expect(o.parse(DEFAULT_CONFIG[o.key]), o.key).toEqual(DEFAULT_CONFIG[o.key]);
    }
  });

  it('masks passwords when printing', () => {
    const text = printableConfig({ ...DEFAULT_CONFIG, users: [{ name: 'admin', password: 'hunter2', tags: [] }] });
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text).users).toEqual([{ name: 'admin', password: '********', tags: [] }]);
  });
});

describe('warren start configuration', () => {
  it('reads the file named by --config or WARREN_CONFIG_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-config-'));
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, '{"port": 1001}');
    writeFileSync(b, '{"port": 1002}');
    expect(startConfig({ config: a }, {}).config.port).toBe(1001);
    expect(startConfig({}, { WARREN_CONFIG_FILE: b }).config.port).toBe(1002);
    expect(startConfig({ config: a }, { WARREN_CONFIG_FILE: b }).config.port).toBe(1001);
    expect(startConfig({ config: a, port: '1003' }, {}).config.port).toBe(1003);
    expect(() => startConfig({ config: join(dir, 'missing.json') }, {})).toThrow(`config file ${join(dir, 'missing.json')} does not exist`);
  });

  it('accepts the example config file of the repository', () => {
    const path = join(import.meta.dirname, '..', '..', 'warren.example.json');
    const r = resolveConfig({ file: { path, text: readFileSync(path, 'utf8') } });
    expect(r.config.port).toBe(5672);
    expect(r.config.users.length).toBeGreaterThan(0);
  });
});
