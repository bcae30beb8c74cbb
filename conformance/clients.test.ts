// More client libraries from Debian, each a small script in conformance/clients/ driven from here:
// py-amqp (python3-amqp: 'L'-typed 64-bit integers in headers, the issue-10 failure), kombu and a
// Celery worker on top of it, aio-pika, Bunny (ruby-bunny) and php-amqplib. Every script publishes
// a header table (integers beyond 32 bits, nested table, array) with publisher confirms and reads
// it back; a test is skipped only when its package is not installed.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_DIR, PYTHON, runProcess, uid, waitFor } from './harness.js';
import { useBroker } from './shared-broker.js';

const DIR = path.join(CONFORMANCE_DIR, 'clients');

/** What conformance/clients/common.py (and the Ruby and PHP scripts) publish, as JSON reads it back. */
const HEADERS = { big: 2 ** 40, neg: -(2 ** 40), small: 7, s: 'text', nested: { n: 2 ** 33, t: 'x' }, arr: [1, 2 ** 35, 'x'] };

async function works(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await runProcess(cmd, args, { timeoutMs: 20_000 })).code === 0;
  } catch {
    return false; // interpreter missing
  }
}

const have = {
  pyamqp: await works(PYTHON, ['-c', 'import amqp']),
  kombu: await works(PYTHON, ['-c', 'import kombu']),
  celery: await works(PYTHON, ['-c', 'import celery, amqp']),
  aiopika: await works(PYTHON, ['-c', 'import aio_pika']),
  bunny: await works('ruby', ['-e', "require 'bunny'"]),
  phpamqplib: await works('php', ['-r', "require '/usr/share/php/PhpAmqpLib/autoload.php';"]),
};

const shared = useBroker();

interface ScriptResult {
  code: number | null;
  stderr: string;
  events: Record<string, unknown>[];
}

async function runScript(cmd: string, script: string, args: string[], env: Record<string, string> = {}): Promise<ScriptResult> {
  const res = await runProcess(cmd, [path.join(DIR, script), ...args], { timeoutMs: 60_000, env });
  const events = res.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: res.code, stderr: res.stderr, events };
}

function event(r: ScriptResult, name: string): Record<string, unknown> {
  const e = r.events.find((x) => x['event'] === name);
  if (e === undefined) throw new Error(`no "${name}" event; events ${JSON.stringify(r.events)}; stderr: ${r.stderr}`);
  return e;
}

function expectDone(r: ScriptResult): void {
  event(r, 'done');
  expect(r.code).toBe(0);
}

describe('py-amqp (python3-amqp)', () => {
  it.skipIf(!have.pyamqp)("headers with integers beyond 32 bits ('L') round-trip, confirmed, through get, consume and a headers exchange", async () => {
    const r = await runScript(PYTHON, 'pyamqp_roundtrip.py', [shared.broker.url, uid('pyamqp')]);
    event(r, 'confirmed');
    expect(event(r, 'get')).toEqual({ event: 'get', body: 'hello', headers: HEADERS, content_type: 'text/plain' });
    expect(event(r, 'consumed')).toEqual({ event: 'consumed', body: 'again', headers: HEADERS });
    expect(event(r, 'headers_exchange')).toEqual({ event: 'headers_exchange', first: 'match', second: null });
    expectDone(r);
  });
});

describe('kombu (python3-kombu)', () => {
  it.skipIf(!have.kombu)('produce with confirms and consume: JSON body and headers', async () => {
    const r = await runScript(PYTHON, 'kombu_roundtrip.py', [shared.broker.url, uid('kombu')]);
    event(r, 'published');
    expect(event(r, 'consumed')).toEqual({ event: 'consumed', body: { n: 1, big: 2 ** 40 }, headers: HEADERS });
    expect(event(r, 'simple')).toEqual({ event: 'simple', body: { hello: 'world' }, headers: { big: 2 ** 40 } });
    expectDone(r);
  });
});

describe('Celery (python3-celery)', () => {
  it.skipIf(!have.celery)('a worker runs tasks from warren and returns their results over rpc://', { timeout: 90_000 }, async () => {
    const queue = uid('celery');
    const env = { WARREN_URL: shared.broker.url, WARREN_CELERY_QUEUE: queue, PYTHONPATH: DIR };
    const worker = spawn(
      PYTHON,
      ['-m', 'celery', '-A', 'celery_app', 'worker', '-P', 'solo', '-c', '1', '--without-gossip', '--without-mingle', '--without-heartbeat', '-n', `${queue}@localhost`, '--loglevel=INFO'],
      { cwd: DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    worker.stdout.on('data', (d: Buffer) => (log += d.toString()));
    worker.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<void>((resolve) => worker.once('close', () => resolve()));
    try {
      await waitFor(() => (/ ready\./.test(log) ? true : undefined), `Celery worker ready (log: ${log})`, 45_000);
      const r = await runScript(PYTHON, 'celery_call.py', [], env);
      expect(r.events.filter((e) => e['event'] === 'result')).toEqual([
        { event: 'result', task: 'add', value: 2 ** 40 + 3 },
        { event: 'result', task: 'echo_headers', value: { big: 2 ** 41, type: 'int' } },
      ]);
      expectDone(r);
      expect(log).toMatch(/Task celery_app\.add\[[0-9a-f-]+\] succeeded/);
    } finally {
      worker.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (!stopped) worker.kill('SIGKILL');
      const ch = await shared.clients.channel();
      await ch.deleteQueue(queue);
    }
  });
});

describe('aio-pika (python3-aio-pika)', () => {
  it.skipIf(!have.aiopika)('publish with confirms, get and consume with a header table', async () => {
    const r = await runScript(PYTHON, 'aiopika_roundtrip.py', [shared.broker.url, uid('aiopika')]);
    expect(event(r, 'confirmed')['kind']).toBe('Ack');
    expect(event(r, 'get')).toEqual({ event: 'get', body: 'hello', headers: HEADERS, content_type: 'text/plain' });
    expect(event(r, 'consumed')).toEqual({ event: 'consumed', body: 'again', headers: HEADERS });
    expectDone(r);
  });
});

describe('Bunny (ruby-bunny)', () => {
  it.skipIf(!have.bunny)('publish with confirms, pop and subscribe with a header table', async () => {
    const r = await runScript('ruby', 'bunny_roundtrip.rb', [shared.broker.url, uid('bunny')]);
    expect(event(r, 'confirmed')).toEqual({ event: 'confirmed', ok: true, nacked: [] });
    expect(event(r, 'get')).toEqual({ event: 'get', body: 'hello', headers: HEADERS, content_type: 'text/plain' });
    expect(event(r, 'consumed')).toEqual({ event: 'consumed', body: 'again', headers: HEADERS });
    expectDone(r);
  });
});

describe('php-amqplib (php-amqplib)', () => {
  it.skipIf(!have.phpamqplib)('publish with confirms, basic_get and basic_consume with a header table', async () => {
    const r = await runScript('php', 'phpamqplib_roundtrip.php', [shared.broker.url, uid('php')]);
    expect(event(r, 'confirmed')).toEqual({ event: 'confirmed', acks: 1, nacks: 0 });
    expect(event(r, 'get')).toEqual({ event: 'get', body: 'hello', headers: HEADERS, content_type: 'text/plain' });
    expect(event(r, 'consumed')).toEqual({ event: 'consumed', body: 'again', headers: HEADERS });
    expectDone(r);
  });
});
