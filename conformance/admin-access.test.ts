// Who gets into the management API, through curl (a real HTTP client, with --path-as-is so
// dot segments and double slashes reach the server as typed): per route class and per user
// tag, and through the spellings that once bypassed auth (/%61pi/overview). The expected
// statuses are what RabbitMQ 3.10.8's management plugin answered to the same requests. Set
// WARREN_CONFORMANCE_HTTP_URL=http://guest:guest@127.0.0.1:15677 (a RabbitMQ with
// rabbitmq_management) to run the same table against RabbitMQ instead of the built warren.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarren, type WarrenProcess } from './warren-process.js';

const external = process.env['WARREN_CONFORMANCE_HTTP_URL'];
let base: string;
let w: WarrenProcess | null = null;
let dir: string | null = null;

/** The callers, in the order of each row's statuses. Users are made (and removed) by the test. */
const CALLERS = [
  { label: 'no credentials', auth: null },
  { label: 'wrong password', auth: 'ca-adm:wrong' },
  { label: 'no tags', auth: 'ca-none:p' },
  { label: 'management', auth: 'ca-mgmt:p' },
  { label: 'policymaker', auth: 'ca-pol:p' },
  { label: 'monitoring (no permissions)', auth: 'ca-mon:p' },
  { label: 'administrator', auth: 'ca-adm:p' },
] as const;

/** method path -> status per caller, as RabbitMQ 3.10.8 answered. */
const ROWS: readonly [string, readonly number[]][] = [
  ['GET /api/overview', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /%61pi/overview', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /%61%70%69/%6fverview', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/overview/', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/./overview', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/x/../overview', [401, 401, 401, 200, 200, 200, 200]],
  ['GET //api/overview', [404, 404, 404, 404, 404, 404, 404]],
  ['GET /api//overview', [404, 404, 404, 404, 404, 404, 404]],
  ['GET /api/nodes', [401, 401, 401, 401, 401, 200, 200]],
  ['GET /%61pi/nodes', [401, 401, 401, 401, 401, 200, 200]],
  ['GET /api/whoami', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/vhosts', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/vhosts/%2F', [401, 401, 401, 401, 401, 401, 200]],
  ['GET /api/vhosts/ca-nosuch', [401, 401, 401, 401, 401, 401, 404]],
  ['GET /api/queues/%2F', [401, 401, 401, 200, 200, 401, 200]],
  ['GET /api/queues/%2f', [401, 401, 401, 200, 200, 401, 200]],
  ['GET /%61pi/queues/%2F/', [401, 401, 401, 200, 200, 401, 200]],
  ['GET /api/queues/ca-other', [401, 401, 401, 401, 401, 401, 200]],
  ['GET /api/queues/ca-nosuch', [401, 401, 401, 404, 404, 404, 404]],
  ['GET /api/queues/%2F/ca-nosuch', [401, 401, 401, 404, 404, 401, 404]],
  ['GET /api/queues/ca-other/ca-nosuch', [401, 401, 401, 401, 401, 401, 404]],
  ['GET /api/exchanges/%2F/amq.direct', [401, 401, 401, 200, 200, 401, 200]],
  ['GET /api/exchanges/%2F/amq.direct/bindings/source', [401, 401, 401, 200, 200, 401, 200]],
  ['GET /api/aliveness-test/%2F', [401, 401, 401, 200, 200, 401, 200]],
  ['GET /api/vhosts/ca-other/connections', [401, 401, 401, 401, 401, 401, 200]],
  ['GET /api/consumers/ca-other', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/definitions', [401, 401, 401, 401, 401, 401, 200]],
  ['GET /%64efinitions', [404, 404, 404, 404, 404, 404, 404]],
  ['GET /%61pi/definitions', [401, 401, 401, 401, 401, 401, 200]],
  ['GET /api/users', [401, 401, 401, 401, 401, 401, 200]],
  ['GET /api/permissions', [401, 401, 401, 401, 401, 401, 200]],
  ['GET /api/health/checks/alarms', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/vhost-limits', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/vhost-limits/%2F', [401, 401, 401, 200, 200, 200, 200]],
  ['GET /api/vhost-limits/ca-other', [401, 401, 401, 401, 401, 200, 200]],
  ['GET /%61pi/vhost-limits/ca-other', [401, 401, 401, 401, 401, 200, 200]],
  ['GET /api/vhost-limits/ca-nosuch', [401, 401, 401, 404, 404, 404, 404]],
  ['GET /api/nosuch', [404, 404, 404, 404, 404, 404, 404]],
];

interface Curl {
  readonly status: number;
  readonly body: string;
}

function curl(method: string, path: string, auth: string | null, body?: unknown): Promise<Curl> {
  const args = ['-s', '--path-as-is', '-X', method, '-w', '\n%{http_code}'];
  if (auth !== null) args.push('-u', auth);
  if (body !== undefined) args.push('-H', 'content-type: application/json', '-d', JSON.stringify(body));
  args.push(`${base}${path}`);
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 20_000 }, (err, stdout) => {
      if (err) {
        reject(err);
        return;
      }
      const nl = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) });
    });
  });
}

const ADMIN = 'guest:guest';

async function setUp(): Promise<void> {
  const users: [string, string][] = [['ca-none', ''], ['ca-mgmt', 'management'], ['ca-pol', 'policymaker'], ['ca-mon', 'monitoring'], ['ca-adm', 'administrator']];
  for (const [name, tags] of users) expect((await curl('PUT', `/api/users/${name}`, ADMIN, { password: 'p', tags })).status).toBeLessThan(300);
  for (const name of ['ca-none', 'ca-mgmt', 'ca-pol', 'ca-adm']) {
    expect((await curl('PUT', `/api/permissions/%2F/${name}`, ADMIN, { configure: '.*', write: '.*', read: '.*' })).status).toBeLessThan(300);
  }
  expect((await curl('PUT', '/api/vhosts/ca-other', ADMIN, {})).status).toBeLessThan(300);
}

beforeAll(async () => {
  if (external !== undefined) {
    const u = new URL(external);
    base = `${u.protocol}//${u.host}`;
  } else {
    dir = mkdtempSync(join(tmpdir(), 'warren-admin-access-'));
    w = await startWarren(dir);
    base = `http://127.0.0.1:${w.httpPort}`;
  }
  await setUp();
});

afterAll(async () => {
  if (base !== undefined) {
    for (const name of ['ca-none', 'ca-mgmt', 'ca-pol', 'ca-mon', 'ca-adm']) await curl('DELETE', `/api/users/${name}`, ADMIN).catch(() => undefined);
    await curl('DELETE', '/api/vhosts/ca-other', ADMIN).catch(() => undefined);
    await curl('DELETE', '/api/queues/%2F/aliveness-test', ADMIN).catch(() => undefined);
  }
  await w?.kill('SIGTERM');
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
});

describe('management API access, as RabbitMQ 3.10.8 decides it (curl)', () => {
  for (const [request, statuses] of ROWS) {
    it(request, async () => {
      const [method, path] = request.split(' ') as [string, string];
      const got: string[] = [];
      const want: string[] = [];
      for (const [i, c] of CALLERS.entries()) {
        const r = await curl(method, path, c.auth);
        got.push(`${c.label}: ${r.status}`);
        want.push(`${c.label}: ${statuses[i]}`);
      }
      expect(got).toEqual(want);
    });
  }

  it('a user without management tags is refused with "Not management user"; no credentials get the Basic challenge', async () => {
    const r = await curl('GET', '/%61pi/overview', 'ca-none:p');
    expect(JSON.parse(r.body)).toEqual({ error: 'not_authorised', reason: 'Not management user' });
    const challenge = await new Promise<string>((resolve, reject) =>
      execFile('curl', ['-s', '-o', '/dev/null', '-D', '-', '--path-as-is', `${base}/%61pi/overview`], (err, out) => (err ? reject(err) : resolve(out))),
    );
    expect(challenge).toMatch(/^www-authenticate: Basic realm="RabbitMQ Management"\r?$/im);
  });
});
