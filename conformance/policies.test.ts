// Policies and operator policies, seen through real clients. On warren they are set through the
// management API (curl); with WARREN_CONFORMANCE_URL=amqp://guest:guest@127.0.0.1:<port> the
// same tests run against RabbitMQ 3.10.8, where they are set with `rabbitmqctl set_policy` /
// `set_operator_policy` (conformance/rabbitmq-ref.sh ctl). Everything happens in a vhost of
// its own, deleted at the end. Checked on both: message-ttl with dead-lettering (x-death reason
// expired), max-length with overflow reject-publish (nacks), drop-head on a queue that existed
// before the policy, argument-versus-policy precedence, dead-letter routing key (reason
// rejected), alternate-exchange, expires, operator policies capping policies, priorities, and a
// pika round trip. warren only: rabbitmqadmin declare/list/delete policy (outputs as printed for
// RabbitMQ 3.10.8 with its management plugin), `warren policies` and `warren operator-policies`,
// a RabbitMQ definitions export with policies imported unchanged, and policies after kill -9.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_DIR, PYTHON, REPO_ROOT, runProcess, uid, waitFor, waitForCount } from './harness.js';
import { runWarren, startWarren, type WarrenProcess } from './warren-process.js';

const REFERENCE = process.env['WARREN_CONFORMANCE_URL'];
const RABBITMQ_EXPORT = join(REPO_ROOT, 'test', 'admin', 'fixtures', 'rabbitmq-3.10.8-policies.json');

interface PolicyArgs {
  readonly pattern: string;
  readonly definition: Record<string, unknown>;
  readonly priority?: number;
  readonly applyTo?: 'queues' | 'exchanges' | 'all';
}

/** How the broker under test is administered. */
interface Admin {
  addVhost(v: string): Promise<void>;
  deleteVhost(v: string): Promise<void>;
  setPolicy(kind: 'policy' | 'operator', v: string, name: string, p: PolicyArgs): Promise<void>;
}

async function must(p: Promise<{ code: number | null; stdout: string; stderr: string }>, what: string): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function curlAdmin(httpPort: number): Admin {
  const curl = async (method: string, path: string, body?: unknown): Promise<void> => {
    const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', 'guest:guest', '-X', method, `http://127.0.0.1:${httpPort}/api${path}`];
    if (body !== undefined) args.push('-H', 'content-type: application/json', '-d', JSON.stringify(body));
    const status = await must(runProcess('curl', args), `curl ${method} ${path}`);
    if (!/^2\d\d$/.test(status)) throw new Error(`curl ${method} ${path}: HTTP ${status}`);
  };
  const seg = encodeURIComponent;
  return {
    async addVhost(v) {
      await curl('PUT', `/vhosts/${seg(v)}`, {});
      await curl('PUT', `/permissions/${seg(v)}/guest`, { configure: '.*', write: '.*', read: '.*' });
    },
    deleteVhost: (v) => curl('DELETE', `/vhosts/${seg(v)}`),
    setPolicy: (kind, v, name, p) =>
      curl('PUT', `/${kind === 'policy' ? 'policies' : 'operator-policies'}/${seg(v)}/${seg(name)}`, {
        pattern: p.pattern,
        definition: p.definition,
        priority: p.priority ?? 0,
        'apply-to': p.applyTo ?? 'all',
      }),
  };
}

function ctlAdmin(port: number): Admin {
  const ctl = (...args: string[]) => must(runProcess(join(CONFORMANCE_DIR, 'rabbitmq-ref.sh'), ['ctl', ...args], { env: { RABBITMQ_REF_PORT: String(port) } }), `rabbitmqctl ${args[0]}`);
  return {
    async addVhost(v) {
      await ctl('add_vhost', v);
      await ctl('set_permissions', '-p', v, 'guest', '.*', '.*', '.*');
    },
    deleteVhost: async (v) => void (await ctl('delete_vhost', v)),
    setPolicy: async (kind, v, name, p) =>
      void (await ctl(
        kind === 'policy' ? 'set_policy' : 'set_operator_policy',
        '-p',
        v,
        '--priority',
        String(p.priority ?? 0),
        '--apply-to',
        p.applyTo ?? 'all',
        name,
        p.pattern,
        JSON.stringify(p.definition),
      )),
  };
}

let w: WarrenProcess | null = null;
let dir: string | null = null;
let port: number;
let admin: Admin;
let vhost: string;
const conns: ChannelModel[] = [];

beforeAll(async () => {
  if (REFERENCE) {
    port = Number(new URL(REFERENCE).port || 5672);
    admin = ctlAdmin(port);
  } else {
    dir = mkdtempSync(join(tmpdir(), 'warren-policies-'));
    w = await startWarren(dir);
    port = w.port;
    admin = curlAdmin(w.httpPort!);
  }
  vhost = uid('policies');
  await admin.addVhost(vhost);
}, 60_000);

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => undefined);
  await admin.deleteVhost(vhost).catch(() => undefined);
  await w?.kill('SIGTERM');
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
});

function url(v = vhost): string {
  return `amqp://guest:guest@127.0.0.1:${port}/${encodeURIComponent(v)}`;
}

async function connect(): Promise<ChannelModel> {
  const c = await amqp.connect(url());
  c.on('error', () => undefined);
  conns.push(c);
  return c;
}

async function confirmChannel(): Promise<ConfirmChannel> {
  const ch = await (await connect()).createConfirmChannel();
  ch.on('error', () => undefined);
  return ch;
}

/** Publishes with confirms; resolves 'ack' or 'nack'. */
function publishConfirmed(ch: ConfirmChannel, exchange: string, key: string, body: string): Promise<'ack' | 'nack'> {
  return new Promise((resolve) => ch.publish(exchange, key, Buffer.from(body), {}, (err) => resolve(err ? 'nack' : 'ack')));
}

type Headers = Record<string, unknown>;
const deaths = (m: { properties: { headers?: Headers } }): Headers[] => (m.properties.headers?.['x-death'] as Headers[] | undefined) ?? [];

describe('policies through real clients (same results on RabbitMQ 3.10.8)', () => {
  it('message-ttl and dead-letter-exchange from a policy: the message expires into the DLX with reason expired', async () => {
    await admin.setPolicy('policy', vhost, 'ttl', { pattern: '^ttl\\.work$', definition: { 'message-ttl': 100, 'dead-letter-exchange': 'ttl.dlx' }, applyTo: 'queues' });
    const ch = await confirmChannel();
    await ch.assertExchange('ttl.dlx', 'fanout', { durable: false });
    await ch.assertQueue('ttl.dead', { durable: false });
    await ch.bindQueue('ttl.dead', 'ttl.dlx', '');
    await ch.assertQueue('ttl.work', { durable: false });
    expect(await publishConfirmed(ch, '', 'ttl.work', 'soon gone')).toBe('ack');
    await waitForCount(ch, 'ttl.dead', 1);
    const m = await ch.get('ttl.dead', { noAck: true });
    expect(m && m.content.toString()).toBe('soon gone');
    const d = deaths(m as never)[0]!;
    expect([d['reason'], d['queue'], d['exchange'], d['count']]).toEqual(['expired', 'ttl.work', '', 1]);
    expect((m as never as { properties: { headers: Headers } }).properties.headers['x-first-death-reason']).toBe('expired');
    expect((await ch.checkQueue('ttl.work')).messageCount).toBe(0);
  });

  it('a message-ttl policy applies to messages enqueued after it is set; those already queued keep no expiry', async () => {
    const ch = await confirmChannel();
    await ch.assertExchange('late.dlx', 'fanout', { durable: false });
    await ch.assertQueue('late-dead', { durable: false });
    await ch.bindQueue('late-dead', 'late.dlx', '');
    await ch.assertQueue('late.old', { durable: false });
    expect(await publishConfirmed(ch, '', 'late.old', 'queued before')).toBe('ack');
    await admin.setPolicy('policy', vhost, 'late', { pattern: '^late\\.', definition: { 'message-ttl': 50, 'dead-letter-exchange': 'late.dlx' }, applyTo: 'queues' });
    await ch.assertQueue('late.new', { durable: false });
    expect(await publishConfirmed(ch, '', 'late.new', 'published after')).toBe('ack');
    // Once the later message has expired, the earlier one would have too, had the TTL reached it.
    await waitForCount(ch, 'late-dead', 1);
    const m = await ch.get('late.old', { noAck: true });
    expect(m && m.content.toString()).toBe('queued before');
    const dead = await ch.get('late-dead', { noAck: true });
    expect(dead && dead.content.toString()).toBe('published after');
  });

  it('max-length with overflow reject-publish from a policy: the publish past the limit is nacked', async () => {
    await admin.setPolicy('policy', vhost, 'rej', { pattern: '^rej\\.', definition: { 'max-length': 2, overflow: 'reject-publish' }, applyTo: 'queues' });
    const ch = await confirmChannel();
    await ch.assertQueue('rej.q', { durable: false });
    const answers = [];
    for (const b of ['a', 'b', 'c']) answers.push(await publishConfirmed(ch, '', 'rej.q', b));
    expect(answers).toEqual(['ack', 'ack', 'nack']);
    expect((await ch.checkQueue('rej.q')).messageCount).toBe(2);
  });

  it('a policy set on a queue that already holds messages drops the oldest past max-length (drop-head)', async () => {
    const ch = await confirmChannel();
    await ch.assertQueue('old.q', { durable: false });
    for (const b of ['1', '2', '3', '4', '5']) expect(await publishConfirmed(ch, '', 'old.q', b)).toBe('ack');
    await admin.setPolicy('policy', vhost, 'old', { pattern: '^old\\.q$', definition: { 'max-length': 2 } });
    await waitForCount(ch, 'old.q', 2);
    const got = [];
    for (let m = await ch.get('old.q', { noAck: true }); m; m = await ch.get('old.q', { noAck: true })) got.push(m.content.toString());
    expect(got).toEqual(['4', '5']);
  });

  it('arguments and policies combine: the lower max-length wins, the argument\'s dead-letter exchange wins', async () => {
    await admin.setPolicy('policy', vhost, 'mix', { pattern: '^mix\\.', definition: { 'max-length': 3, 'dead-letter-exchange': 'mix.policy-dlx' }, applyTo: 'queues' });
    const ch = await confirmChannel();
    // The dead-letter queues' names do not match the policy.
    for (const x of ['mix.policy-dlx', 'mix.arg-dlx']) {
      await ch.assertExchange(x, 'fanout', { durable: false });
      await ch.assertQueue(`dead.${x}`, { durable: false });
      await ch.bindQueue(`dead.${x}`, x, '');
    }
    await ch.assertQueue('mix.low-arg', { durable: false, arguments: { 'x-max-length': 1, 'x-dead-letter-exchange': 'mix.arg-dlx' } });
    await ch.assertQueue('mix.high-arg', { durable: false, arguments: { 'x-max-length': 10 } });
    for (const b of ['1', '2', '3', '4', '5']) {
      await publishConfirmed(ch, '', 'mix.low-arg', b);
      await publishConfirmed(ch, '', 'mix.high-arg', b);
    }
    expect((await ch.checkQueue('mix.low-arg')).messageCount).toBe(1);
    expect((await ch.checkQueue('mix.high-arg')).messageCount).toBe(3);
    // Dropped from the head and dead-lettered: four from low-arg to the argument's DLX, two from high-arg to the policy's.
    await waitForCount(ch, 'dead.mix.arg-dlx', 4);
    await waitForCount(ch, 'dead.mix.policy-dlx', 2);
    const m = await ch.get('dead.mix.arg-dlx', { noAck: true });
    expect(deaths(m as never)[0]!['reason']).toBe('maxlen');
  });

  it('dead-letter-routing-key from a policy: a rejected message goes with that key, reason rejected', async () => {
    await admin.setPolicy('policy', vhost, 'rk', { pattern: '^rk\\.work$', definition: { 'dead-letter-exchange': 'rk.dlx', 'dead-letter-routing-key': 'parked' } });
    const ch = await confirmChannel();
    await ch.assertExchange('rk.dlx', 'direct', { durable: false });
    await ch.assertQueue('rk.parked', { durable: false });
    await ch.bindQueue('rk.parked', 'rk.dlx', 'parked');
    await ch.assertQueue('rk.work', { durable: false });
    await publishConfirmed(ch, '', 'rk.work', 'bad');
    const m = await ch.get('rk.work', { noAck: false });
    expect(m).toBeTruthy();
    ch.reject(m as never, false);
    await waitForCount(ch, 'rk.parked', 1);
    const dead = await ch.get('rk.parked', { noAck: true });
    expect(dead && dead.fields.routingKey).toBe('parked');
    const d = deaths(dead as never)[0]!;
    expect([d['reason'], d['queue'], d['routing-keys']]).toEqual(['rejected', 'rk.work', ['rk.work']]);
  });

  it('alternate-exchange from a policy takes what the exchange cannot route', async () => {
    const ch = await confirmChannel();
    await ch.assertExchange('ae.unrouted', 'fanout', { durable: false });
    await ch.assertQueue('ae.lost', { durable: false });
    await ch.bindQueue('ae.lost', 'ae.unrouted', '');
    await ch.assertExchange('ae.in', 'direct', { durable: false });
    await admin.setPolicy('policy', vhost, 'ae', { pattern: '^ae\\.in$', definition: { 'alternate-exchange': 'ae.unrouted' }, applyTo: 'exchanges' });
    await waitFor(async () => {
      await publishConfirmed(ch, 'ae.in', 'nobody', 'x');
      return (await ch.checkQueue('ae.lost')).messageCount > 0;
    }, 'a message in the alternate exchange\'s queue');
  });

  it('expires from a policy deletes a queue nobody uses', async () => {
    const c = await connect();
    const ch = await c.createChannel();
    await ch.assertQueue('exp.q', { durable: false });
    await ch.close();
    await admin.setPolicy('policy', vhost, 'exp', { pattern: '^exp\\.', definition: { expires: 200 }, applyTo: 'queues' });
    // Polled once a second: a passive declare is a use, which restarts the 200 ms expiry.
    await waitFor(async () => {
      const probe = await c.createChannel();
      probe.on('error', () => undefined);
      try {
        await probe.checkQueue('exp.q');
        await probe.close();
        return false;
      } catch (e) {
        return /NOT_FOUND - no queue 'exp.q'/.test(String((e as Error).message));
      }
    }, 'exp.q to expire', 20_000, 1000);
  });

  it('an operator policy caps a policy: the lower max-length applies', async () => {
    await admin.setPolicy('policy', vhost, 'cap-me', { pattern: '^cap\\.', definition: { 'max-length': 5 }, applyTo: 'queues' });
    await admin.setPolicy('operator', vhost, 'cap', { pattern: '^cap\\.', definition: { 'max-length': 2 }, applyTo: 'queues' });
    const ch = await confirmChannel();
    await ch.assertQueue('cap.q', { durable: false });
    for (const b of ['1', '2', '3', '4']) await publishConfirmed(ch, '', 'cap.q', b);
    expect((await ch.checkQueue('cap.q')).messageCount).toBe(2);
  });

  it('of two matching policies only the higher priority one applies', async () => {
    await admin.setPolicy('policy', vhost, 'prio-low', { pattern: '^prio\\.', definition: { 'max-length': 1 }, priority: 1 });
    await admin.setPolicy('policy', vhost, 'prio-high', { pattern: '^prio\\.', definition: { 'message-ttl': 600000 }, priority: 5 });
    const ch = await confirmChannel();
    await ch.assertQueue('prio.q', { durable: false });
    for (const b of ['1', '2', '3']) await publishConfirmed(ch, '', 'prio.q', b);
    expect((await ch.checkQueue('prio.q')).messageCount).toBe(3);
  });

  it('pika: a message past a policy\'s max-length is dead-lettered and pika reads its x-death', async () => {
    await admin.setPolicy('policy', vhost, 'pk', { pattern: '^pk\\.work$', definition: { 'max-length': 1, 'dead-letter-exchange': 'pk.dlx' } });
    const script = `
import json, sys, time, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.exchange_declare('pk.dlx', 'fanout', durable=False)
ch.queue_declare('pk.dead', durable=False)
ch.queue_bind('pk.dead', 'pk.dlx')
ch.queue_declare('pk.work', durable=False)
ch.confirm_delivery()
for b in (b'first', b'second'):
    ch.basic_publish('', 'pk.work', b)
for _ in range(400):
    m, props, body = ch.basic_get('pk.dead', auto_ack=True)
    if m is not None:
        break
    time.sleep(0.025)
death = props.headers['x-death'][0]
print(json.dumps({'body': body.decode(), 'reason': death['reason'], 'queue': death['queue']}))
m, props, body = ch.basic_get('pk.work', auto_ack=True)
print(json.dumps({'left': body.decode()}))
conn.close()
`;
    const r = await runProcess(PYTHON, ['-c', script, url()]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ body: 'first', reason: 'maxlen', queue: 'pk.work' }, { left: 'second' }]);
  });
});

describe.skipIf(REFERENCE !== undefined)('warren only: tools and durability', () => {
  const rabbitmqadmin = async (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    runProcess('/usr/bin/rabbitmqadmin', ['-H', '127.0.0.1', '-P', String(w!.httpPort), '-u', 'guest', '-p', 'guest', ...args]);

  it('rabbitmqadmin declares, lists and deletes policies and operator policies, printing what it prints for RabbitMQ', async () => {
    expect((await rabbitmqadmin('-V', vhost, 'declare', 'policy', 'name=ra', 'pattern=^ra\\.', 'definition={"max-length":3}', 'apply-to=queues', 'priority=4')).stdout).toBe('policy declared\n');
    expect((await rabbitmqadmin('-V', vhost, 'list', 'policies', 'name', 'pattern', 'definition', 'priority')).stdout).toMatch(/\n\| ra +\| \^ra\\\. +\| \{"max-length": 3\} +\| 4 +\|\n/);
    const json = JSON.parse((await rabbitmqadmin('-f', 'raw_json', 'list', 'policies')).stdout) as Record<string, unknown>[];
    expect(json.find((p) => p['name'] === 'ra')).toEqual({ vhost, name: 'ra', pattern: '^ra\\.', 'apply-to': 'queues', definition: { 'max-length': 3 }, priority: 4 });
    const bad = await rabbitmqadmin('-V', vhost, 'declare', 'policy', 'name=bad', 'pattern=^ra', 'definition={"max-length":-1}');
    expect([bad.code, bad.stderr]).toEqual([1, '*** Validation failed\n\n-1 is not a valid maximum length\n\n\n']);
    // The policy works: a queue declared over AMQP gets it.
    const ch = await confirmChannel();
    await ch.assertQueue('ra.q', { durable: false });
    for (const b of ['1', '2', '3', '4', '5']) await publishConfirmed(ch, '', 'ra.q', b);
    expect((await ch.checkQueue('ra.q')).messageCount).toBe(3);
    expect((await rabbitmqadmin('-V', vhost, 'delete', 'policy', 'name=ra')).stdout).toBe('policy deleted\n');
    expect((await rabbitmqadmin('-V', vhost, 'declare', 'operator_policy', 'name=op9', 'pattern=^ra', 'definition={"max-length":3}')).stdout).toBe('operator_policy declared\n');
    expect((await rabbitmqadmin('-V', vhost, 'delete', 'operator_policy', 'name=op9')).stdout).toBe('operator_policy deleted\n');
    const missing = await rabbitmqadmin('-V', vhost, 'delete', 'policy', 'name=nope');
    expect([missing.code, missing.stderr]).toEqual([1, `*** Not found: /api/policies/${encodeURIComponent(vhost)}/nope\n\n`]);
  });

  it('warren policies set|list|clear and operator-policies, with RabbitMQ\'s refusal texts', async () => {
    const api = ['--url', `http://127.0.0.1:${w!.httpPort}`];
    const ok = async (...args: string[]): Promise<string> => {
      const r = await runWarren([...args, ...api]);
      if (r.code !== 0) throw new Error(`warren ${args.join(' ')}: ${r.code}\n${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    expect(await ok('policies', 'set', 'cli', '^cli\\.', '{"max-length": 2}', '--vhost', vhost, '--apply-to', 'queues', '--priority', '3')).toBe(`set policy 'cli' in vhost '${vhost}'\n`);
    const listed = await ok('policies', 'list', '--vhost', vhost);
    expect(listed).toMatch(/^vhost +name +pattern +apply-to +definition +priority\n/);
    expect(listed).toMatch(new RegExp(`${vhost} +cli +\\^cli\\\\. +queues +\\{"max-length":2\\} +3\\n`));
    const json = JSON.parse(await ok('policies', 'list', '--vhost', vhost, '--json')) as Record<string, unknown>[];
    expect(json.find((p) => p['name'] === 'cli')).toEqual({ vhost, name: 'cli', pattern: '^cli\\.', 'apply-to': 'queues', definition: { 'max-length': 2 }, priority: 3 });
    const bad = await runWarren(['policies', 'set', 'bad', '^x', '{"message-ttl": "soon"}', '--vhost', vhost, ...api]);
    expect([bad.code, bad.stderr]).toEqual([1, `warren: policy 'bad' refused: <<"soon">> is not a valid message TTL\n`]);
    const op = await runWarren(['operator-policies', 'set', 'op', '.*', '{"overflow": "drop-head"}', '--vhost', vhost, ...api]);
    expect([op.code, op.stderr]).toEqual([1, `warren: operator policy 'op' refused: [{<<"overflow">>,<<"drop-head">>}] are not recognised policy settings\n`]);
    expect(await ok('operator-policies', 'set', 'op', '^cli\\.', '{"max-length": 1}', '--vhost', vhost)).toBe(`set operator policy 'op' in vhost '${vhost}'\n`);
    const ch = await confirmChannel();
    await ch.assertQueue('cli.q', { durable: false });
    for (const b of ['1', '2', '3']) await publishConfirmed(ch, '', 'cli.q', b);
    expect((await ch.checkQueue('cli.q')).messageCount).toBe(1);
    expect(await ok('operator-policies', 'clear', 'op', '--vhost', vhost)).toBe(`cleared operator policy 'op' in vhost '${vhost}'\n`);
    expect(await ok('policies', 'clear', 'cli', '--vhost', vhost)).toBe(`cleared policy 'cli' in vhost '${vhost}'\n`);
    const gone = await runWarren(['policies', 'clear', 'cli', '--vhost', vhost, ...api]);
    expect([gone.code, gone.stderr]).toEqual([1, `warren: no policy 'cli' in vhost '${vhost}'\n`]);
  });

  it('a RabbitMQ 3.10.8 export with policies imports unchanged (rabbitmqadmin import) and its policies take effect, also after kill -9', async () => {
    const r = await runProcess('/usr/bin/rabbitmqadmin', ['-H', '127.0.0.1', '-P', String(w!.httpPort), '-u', 'guest', '-p', 'guest', 'import', RABBITMQ_EXPORT]);
    expect(r.stdout).toMatch(/^Uploaded definitions from "127\.0\.0\.1" to /);
    const doc = JSON.parse(readFileSync(RABBITMQ_EXPORT, 'utf8')) as { policies: unknown[] };
    const check = async (wp: WarrenProcess): Promise<void> => {
      const get = async (path: string): Promise<unknown> => JSON.parse((await runProcess('curl', ['-s', '-u', 'guest:guest', `http://127.0.0.1:${wp.httpPort}/api${path}`])).stdout);
      expect(await get('/policies/shop')).toEqual(expect.arrayContaining(doc.policies));
      const q = (await get('/queues/shop/orders.eu')) as Record<string, unknown>;
      expect([q['policy'], q['operator_policy'], q['effective_policy_definition']]).toEqual([
        'orders-ttl',
        'cap',
        { 'dead-letter-exchange': 'shop.dlx', expires: 3600000, 'max-length': 500, 'message-ttl': 30000, overflow: 'reject-publish' },
      ]);
      const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${wp.port}/shop`);
      try {
        const ch = await c.createConfirmChannel();
        await new Promise<void>((resolve, reject) => ch.publish('shop.in', 'nowhere', Buffer.from('lost?'), {}, (err) => (err ? reject(err) : resolve())));
        const m = await waitFor(async () => (await ch.get('unrouted', { noAck: true })) || null, 'the unroutable message in the alternate exchange\'s queue');
        expect(m.content.toString()).toBe('lost?');
      } finally {
        await c.close();
      }
    };
    await check(w!);
    await w!.kill('SIGKILL');
    w = await startWarren(dir!);
    port = w.port;
    admin = curlAdmin(w.httpPort!);
    await check(w);
  });
});
