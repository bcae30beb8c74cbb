// `warren peek`, `warren redrive` and `warren move` in-process against a broker's HTTP API:
// the tables, --json, the summaries, and usage errors.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { adminBroker, until, type AdminTestBroker } from '../admin/helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

async function warren(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'warren', ...args, '--url', t.running.httpUrl!], { out: (s) => (out += s), err: (s) => (err += s), readStdin: async () => '' });
  return { code, out, err };
}

async function messages(q: string): Promise<number> {
  return ((await t.api.get(`/queues/%2F/${q}`)).json as { messages: number }).messages;
}

describe('warren peek / redrive / move', () => {
  it('peek prints ready messages by position, and unacked ones with their consumer', async () => {
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('orders');
    for (let i = 0; i < 3; i++) ch.sendToQueue('orders', Buffer.from(`order-${i}`));
    await ch.waitForConfirms();
    const r = await warren(['peek', 'orders', '--offset', '1', '--limit', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('order-1');
    expect(r.out).not.toContain('order-0');
    expect(r.out).toContain('positions 1-1 of 3 ready');
    const json = JSON.parse((await warren(['peek', 'orders', '--json'])).out) as { total: number; items: { payload: string }[] };
    expect(json.items.map((i) => i.payload)).toEqual(['order-0', 'order-1', 'order-2']);
    await ch.prefetch(1);
    await ch.consume('orders', () => undefined, { consumerTag: 'billing' });
    await until(async () => JSON.parse((await warren(['peek', 'orders', '--unacked', '--json'])).out).total === 1, 'one unacked');
    const unacked = await warren(['peek', 'orders', '--unacked']);
    expect(unacked.out).toMatch(/^position +consumer_tag +channel/);
    expect(unacked.out).toContain('billing');
    expect(unacked.out).toContain('order-0');
    expect((await warren(['peek', 'orders', '--limit', '0'])).code).toBe(2);
    expect((await warren(['peek', 'missing'])).err).toBe("warren: no queue 'missing' in vhost '/'\n");
  });

  it('redrive and move print what they did (or would do)', async () => {
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('dlq');
    await ch.assertQueue('work', { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' } });
    for (let i = 0; i < 2; i++) ch.sendToQueue('work', Buffer.from(`w${i}`));
    await ch.waitForConfirms();
    for (let i = 0; i < 2; i++) {
      const m = await ch.get('work');
      if (m !== false) ch.nack(m, false, false);
    }
    await until(async () => (await messages('dlq')) === 2, 'two dead letters');
    expect((await warren(['redrive', 'dlq', '--dry-run'])).out).toBe('dry run: would move 2 messages (work: 2)\n');
    expect((await warren(['redrive', 'dlq', '--reason', 'expired'])).out).toBe('moved 0 messages; skipped 2 (reason: 2)\n');
    expect((await warren(['redrive', 'dlq', '--reason', 'sleepy'])).code).toBe(2);
    expect((await warren(['redrive', 'dlq', '--reason', 'rejected', '--limit', '1'])).out).toBe('moved 1 message (work: 1)\n');
    expect(await messages('work')).toBe(1);
    const moved = JSON.parse((await warren(['move', 'dlq', 'work', '--json'])).out) as { moved: number };
    expect(moved.moved).toBe(1);
    expect((await warren(['move', 'work', 'dlq', '--limit', '1'])).out).toBe('moved 1 message\n');
    expect(await messages('dlq')).toBe(1);
    const missing = await warren(['move', 'work', 'nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe("warren: no queue 'work' or 'nowhere' in vhost '/'\n");
  });
});
