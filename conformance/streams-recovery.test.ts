// What a stream leaves on disk across crashes, through amqplib against a warren the test kills:
// a stream whose deletion was durable before kill -9 leaves no folder behind (and one whose delete-ok never
// came is either whole or gone, never half), folders of streams that no longer exist are
// removed at start, and a stream of many segments comes back from their summaries (a clean
// restart reads none; after kill -9 every confirmed message is still there). warren only:
// RabbitMQ's reference node is not ours to kill.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inbox, sleep, uid, waitFor } from './harness.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const external = process.env['WARREN_CONFORMANCE_URL'] !== undefined;
let dir: string;
const procs: WarrenProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-streams-recovery-'));
});
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function start(data: string): Promise<WarrenProcess> {
  const w = await startWarren(data, ['--http-port', 'off']);
  procs.push(w);
  return w;
}

async function connect(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url);
  c.on('error', () => {});
  return c;
}

/** The folder warren keeps a stream in (documented in docs/architecture.md). */
const folderOf = (data: string, vhost: string, name: string): string =>
  join(data, 'streams', createHash('sha256').update(vhost).update('\0').update(name).digest('hex').slice(0, 32));

async function publish(c: ChannelModel, q: string, n: number, args: Record<string, unknown> = {}): Promise<void> {
  const ch = await c.createConfirmChannel();
  await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });
  for (let i = 0; i < n; i++) {
    ch.sendToQueue(q, Buffer.from(`${i}:${'p'.repeat(200)}`));
    if (i % 500 === 499) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  await ch.close();
}

async function readAll(c: ChannelModel, q: string, expected: number): Promise<number[]> {
  const ch = await c.createChannel();
  await ch.prefetch(1000);
  const inbox = new Inbox();
  await ch.consume(q, (m) => {
    inbox.push(m);
    if (m !== null) ch.ack(m);
  }, { arguments: { 'x-stream-offset': 'first' } });
  await waitFor(() => (inbox.count >= expected ? true : undefined), `${expected} messages`, 30_000);
  await sleep(200); // nothing more than that comes
  await ch.close();
  return (inbox.items as ConsumeMessage[]).map((m) => Number(m.content.toString().split(':')[0]));
}

const streamFolders = (data: string): string[] => (existsSync(join(data, 'streams')) ? readdirSync(join(data, 'streams')).sort() : []);

describe.skipIf(external)('stream folders across crashes', () => {
  it('a stream deleted (durably) just before kill -9 leaves no folder; the others are untouched', async () => {
    const data = join(dir, 'deleted');
    mkdirSync(data);
    let w = await start(data);
    let c = await connect(w.url);
    const keep = uid('keep');
    const gone = uid('gone');
    await publish(c, keep, 300);
    await publish(c, gone, 300);
    expect(existsSync(folderOf(data, '/', gone))).toBe(true);
    const ch = await c.createConfirmChannel();
    await ch.deleteQueue(gone);
    // delete-ok does not wait for the store; a confirm does, for every write before it.
    ch.sendToQueue(keep, Buffer.from('300:after the delete'));
    await ch.waitForConfirms();
    await w.kill('SIGKILL');
    w = await start(data);
    expect(streamFolders(data)).toEqual([folderOf(data, '/', keep).split('/').at(-1)]);
    c = await connect(w.url);
    const check = await c.createChannel();
    check.on('error', () => {});
    await expect(check.checkQueue(gone)).rejects.toThrow(/404/);
    expect(await readAll(c, keep, 301)).toEqual([...Array(301).keys()]);
    await c.close();
    await w.kill('SIGKILL');
  }, 60_000);

  it('kill -9 while a delete is under way: afterwards the stream is either whole or gone with its folder, five times', async () => {
    const data = join(dir, 'racing');
    mkdirSync(data);
    for (let round = 0; round < 5; round++) {
      let w = await start(data);
      let c = await connect(w.url);
      const q = uid('racing');
      await publish(c, q, 2000);
      const ch = await c.createChannel();
      ch.on('error', () => {});
      // No wait for delete-ok: the kill lands somewhere around the deletion.
      void ch.deleteQueue(q).catch(() => {});
      await sleep(round); // 0..4 ms
      await w.kill('SIGKILL');
      w = await start(data);
      c = await connect(w.url);
      const probe = await c.createChannel();
      probe.on('error', () => {});
      const exists = await probe.checkQueue(q).then(
        () => true,
        () => false,
      );
      if (exists) expect(await readAll(c, q, 2000)).toEqual([...Array(2000).keys()]);
      else expect(existsSync(folderOf(data, '/', q))).toBe(false);
      // Only folders of streams that exist remain.
      for (const f of streamFolders(data)) expect(f).toMatch(/^[0-9a-f]{32}$/);
      await c.close();
      await w.kill('SIGKILL');
    }
  }, 120_000);

  it('removes at start what a crash left: a folder of a stream that no longer exists, a folder set aside by a deletion', async () => {
    const data = join(dir, 'leftovers');
    mkdirSync(data);
    let w = await start(data);
    let c = await connect(w.url);
    const keep = uid('keep');
    await publish(c, keep, 50);
    await c.close();
    await w.kill('SIGTERM');
    const stray = join(data, 'streams', 'ab'.repeat(16));
    mkdirSync(stray);
    writeFileSync(join(stray, 'stream.json'), JSON.stringify({ vhost: '/', name: 'was-deleted' }));
    writeFileSync(join(stray, '00000000000000000000.seg'), Buffer.alloc(100));
    mkdirSync(join(data, 'streams', `${'cd'.repeat(16)}.deleted-1700000000000-000001`));
    w = await start(data);
    expect(streamFolders(data)).toEqual([folderOf(data, '/', keep).split('/').at(-1)]);
    expect(w.output()).toContain('removed stream folders left by a crash');
    c = await connect(w.url);
    expect(await readAll(c, keep, 50)).toEqual([...Array(50).keys()]);
    await c.close();
    await w.kill('SIGTERM');
  }, 60_000);

  it('a stream of many segments: summaries beside each; every confirmed message back after a clean restart and after kill -9', async () => {
    const data = join(dir, 'segments');
    mkdirSync(data);
    let w = await start(data);
    let c = await connect(w.url);
    const q = uid('many');
    await publish(c, q, 6000, { 'x-stream-max-segment-size-bytes': 64 * 1024 });
    await c.close();
    await w.kill('SIGTERM');
    const folder = folderOf(data, '/', q);
    const segs = readdirSync(folder).filter((f) => f.endsWith('.seg'));
    expect(segs.length).toBeGreaterThan(15);
    expect(readdirSync(folder).filter((f) => f.endsWith('.idx')).length).toBe(segs.length);
    w = await start(data);
    c = await connect(w.url);
    expect(await readAll(c, q, 6000)).toEqual([...Array(6000).keys()]);
    await publish(c, q, 1000, { 'x-stream-max-segment-size-bytes': 64 * 1024 });
    await w.kill('SIGKILL');
    w = await start(data);
    c = await connect(w.url);
    const all = await readAll(c, q, 7000);
    expect(all.length).toBe(7000);
    expect(all.slice(0, 6000)).toEqual([...Array(6000).keys()]);
    expect(all.slice(6000)).toEqual([...Array(1000).keys()]);
    await c.close();
    await w.kill('SIGTERM');
  }, 90_000);
});
