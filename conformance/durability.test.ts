// Durability end to end, with amqplib against the built broker: what survives a restart and a
// kill -9, what does not, and how warren refuses a data directory it must not use. These tests
// start and kill warren themselves, so they always run against warren.

import { readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import amqp, { type ConsumeMessage } from 'amqplib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runWarren } from './warren-process.js';
import { warrenFixture } from './warren-fixture.js';
import { connect, drain } from './drain.js';
import { bodyFor, killWhilePublishing } from './kill9-publishing.js';

const { tempDir, start } = warrenFixture('durable');

describe('kill -9 while publishing persistent messages with confirms', () => {
  it('keeps every confirmed message and invents none, over several kills in a row', async () => {
    const dir = tempDir();
    await killWhilePublishing({ start: () => start(dir), rounds: 4, prefix: 'dur', minRunMs: 300 });
  }, 120_000);
});

describe('restart', () => {
  it('keeps durable exchanges, queues and bindings with their arguments, and drops transient ones', async () => {
    const dir = tempDir();
    let broker = await start(dir);
    let c = await connect(broker.url);
    let ch = await c.createChannel();
    await ch.assertExchange('rs-topic', 'topic', { durable: true, arguments: { 'alternate-exchange': 'rs-ae' } });
    await ch.assertExchange('rs-ae', 'fanout', { durable: true });
    await ch.assertExchange('rs-internal', 'direct', { durable: true, internal: true });
    await ch.assertExchange('rs-e2e', 'fanout', { durable: true });
    await ch.assertExchange('rs-transient-x', 'direct', { durable: false });
    await ch.assertQueue('rs-q', { durable: true, arguments: { 'x-max-length': 10 } });
    await ch.assertQueue('rs-transient-q', { durable: false });
    await ch.bindQueue('rs-q', 'rs-topic', 'a.#');
    await ch.bindExchange('rs-e2e', 'rs-topic', 'e.*');
    await ch.bindQueue('rs-q', 'rs-e2e', '');
    await ch.bindQueue('rs-transient-q', 'rs-topic', 'a.#');
    await c.close();
    await broker.kill('SIGTERM');

    broker = await start(dir);
    c = await connect(broker.url);
    ch = await c.createChannel();
    const errors: string[] = [];
    ch.on('error', (e: Error) => errors.push(e.message));
    // Re-declaring with the same properties succeeds (equivalent), with others fails: they were kept as declared.
    await ch.assertExchange('rs-topic', 'topic', { durable: true, arguments: { 'alternate-exchange': 'rs-ae' } });
    await ch.assertExchange('rs-internal', 'direct', { durable: true, internal: true });
    const q = await ch.assertQueue('rs-q', { durable: true, arguments: { 'x-max-length': 10 } });
    expect(q.messageCount).toBe(0);
    // Routing through the restored bindings, including the exchange-to-exchange one.
    ch.publish('rs-topic', 'a.b.c', Buffer.from('via queue binding'));
    ch.publish('rs-topic', 'e.x', Buffer.from('via exchange binding'));
    await ch.checkQueue('rs-q');
    const got = await drain(c, 'rs-q');
    expect(got.map((m) => m.body).sort()).toEqual(['via exchange binding', 'via queue binding']);
    // Transient ones are gone.
    const ch2 = await c.createChannel();
    ch2.on('error', () => {});
    await expect(ch2.checkQueue('rs-transient-q')).rejects.toThrow(/NOT_FOUND - no queue 'rs-transient-q' in vhost '\/'/);
    const ch3 = await c.createChannel();
    ch3.on('error', () => {});
    await expect(ch3.checkExchange('rs-transient-x')).rejects.toThrow(/NOT_FOUND - no exchange 'rs-transient-x' in vhost '\/'/);
    const ch4 = await c.createChannel();
    ch4.on('error', () => {});
    await expect(ch4.assertQueue('rs-q', { durable: true })).rejects.toThrow(
      /inequivalent arg 'x-max-length' for queue 'rs-q' in vhost '\/': received none but current is the value '10'/,
    );
    expect(errors).toEqual([]);
    await c.close();
  });

  it('keeps persistent messages in durable queues in order; drops transient messages and transient queues', async () => {
    const dir = tempDir();
    let broker = await start(dir);
    let c = await connect(broker.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('rm-dur', { durable: true });
    await ch.assertQueue('rm-trans', { durable: false });
    for (let i = 0; i < 50; i++) {
      ch.sendToQueue('rm-dur', Buffer.from(`p${i}`), { persistent: true, messageId: `id${i}`, headers: { i } });
      ch.sendToQueue('rm-dur', Buffer.from(`t${i}`), { persistent: false });
      ch.sendToQueue('rm-trans', Buffer.from(`x${i}`), { persistent: true });
    }
    await ch.waitForConfirms();
    await c.close();
    await broker.kill('SIGKILL');

    broker = await start(dir);
    c = await connect(broker.url);
    const ch2 = await c.createChannel();
    const got: string[] = [];
    for (;;) {
      const m = await ch2.get('rm-dur', { noAck: true });
      if (m === false) break;
      got.push(m.content.toString());
      expect(m.properties.messageId).toBe(`id${got.length - 1}`);
      expect(m.properties.headers?.['i']).toBe(got.length - 1);
      expect(m.properties.deliveryMode).toBe(2);
      expect(m.fields.redelivered).toBe(false);
    }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`));
    ch2.on('error', () => {});
    await expect(ch2.checkQueue('rm-trans')).rejects.toThrow(/NOT_FOUND/);
    await c.close();
  });

  it('a backlog longer than the in-memory window (4096) comes back whole and in order, live and after kill -9', async () => {
    const n = 12_000;
    const dir = tempDir();
    let broker = await start(dir);
    let c = await connect(broker.url);
    const pub = await c.createConfirmChannel();
    await pub.assertQueue('long', { durable: true });
    const publish = async (from: number): Promise<void> => {
      for (let i = from; i < from + n; i++) pub.sendToQueue('long', Buffer.from(bodyFor(`L${i}`)), { persistent: true });
      await pub.waitForConfirms();
    };
    // Live: most of the backlog is kept as numbers once written; a consumer gets it all, in order.
    await publish(0);
    const sub = await c.createChannel();
    await sub.prefetch(500);
    const live: string[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    await sub.consume('long', (m) => {
      if (m === null) return;
      live.push(m.content.toString());
      sub.ack(m);
      if (live.length === n) done();
    });
    await all;
    expect(live).toEqual(Array.from({ length: n }, (_, i) => bodyFor(`L${i}`)));
    await sub.close();
    // After kill -9: a second backlog, its first 10 delivered and left unacknowledged.
    await publish(n);
    const hold = await c.createChannel();
    await hold.prefetch(10);
    const held: ConsumeMessage[] = [];
    await hold.consume('long', (m) => {
      if (m !== null) held.push(m);
    });
    while (held.length < 10) await new Promise((r) => setTimeout(r, 10));
    await hold.checkQueue('long');
    await new Promise((r) => setTimeout(r, 300));
    await broker.kill('SIGKILL');

    broker = await start(dir);
    c = await connect(broker.url);
    const got = await drain(c, 'long');
    expect(got.length).toBe(n);
    expect(got.map((m) => m.body)).toEqual(Array.from({ length: n }, (_, i) => bodyFor(`L${n + i}`)));
    expect(got.map((m) => m.redelivered)).toEqual(Array.from({ length: n }, (_, i) => i < 10));
    await c.close();
    // A hang guard: 24k persistent messages, a kill and a restart took 47 s on a loaded machine.
  }, 180_000);

  it('brings back delivered-but-unacked messages redelivered; never acked, rejected or purged ones', async () => {
    const dir = tempDir();
    let broker = await start(dir);
    let c = await connect(broker.url);
    const pub = await c.createConfirmChannel();
    for (const q of ['rd-main', 'rd-purged']) await pub.assertQueue(q, { durable: true });
    for (let i = 0; i < 10; i++) pub.sendToQueue('rd-main', Buffer.from(`m${i}`), { persistent: true });
    for (let i = 0; i < 5; i++) pub.sendToQueue('rd-purged', Buffer.from(`p${i}`), { persistent: true });
    await pub.waitForConfirms();
    await pub.purgeQueue('rd-purged');
    const sub = await c.createChannel();
    const seen: ConsumeMessage[] = [];
    await sub.prefetch(6);
    const { consumerTag } = await sub.consume('rd-main', (m) => {
      if (m !== null) seen.push(m);
    });
    while (seen.length < 6) await new Promise((r) => setTimeout(r, 10));
    await sub.cancel(consumerTag);
    expect(seen.map((m) => m.content.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    sub.ack(seen[0]!);
    sub.ack(seen[1]!);
    sub.reject(seen[2]!, false);
    // m3..m5: delivered, left unacknowledged.
    // Let the acks and marks reach the disk before the kill.
    await sub.checkQueue('rd-main');
    await new Promise((r) => setTimeout(r, 300));
    await broker.kill('SIGKILL');

    broker = await start(dir);
    c = await connect(broker.url);
    const got = await drain(c, 'rd-main');
    expect(got).toEqual([
      { body: 'm3', redelivered: true },
      { body: 'm4', redelivered: true },
      { body: 'm5', redelivered: true },
      { body: 'm6', redelivered: false },
      { body: 'm7', redelivered: false },
      { body: 'm8', redelivered: false },
      { body: 'm9', redelivered: false },
    ]);
    expect(await drain(c, 'rd-purged')).toEqual([]);
    await c.close();
  });
});

describe('restart: users, vhosts and permissions', () => {
  it('keeps users (with their passwords), vhosts, permissions and the objects in a new vhost across kill -9', async () => {
    const dir = tempDir();
    let broker = await start(dir);
    const api = async (method: string, path: string, body?: unknown): Promise<number> => {
      const res = await fetch(`http://127.0.0.1:${broker.httpPort}/api${path}`, {
        method,
        headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return res.status;
    };
    expect(await api('PUT', '/vhosts/orders')).toBe(201);
    expect(await api('PUT', '/users/alice', { password: 's3cret', tags: '' })).toBe(201);
    expect(await api('PUT', '/permissions/orders/alice', { configure: '^alice-.*', write: '.*', read: '.*' })).toBe(201);
    let c = await connect(`amqp://alice:s3cret@127.0.0.1:${broker.port}/orders`);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('alice-q', { durable: true });
    ch.sendToQueue('alice-q', Buffer.from('kept'), { persistent: true });
    await ch.waitForConfirms();
    await c.close();
    await broker.kill('SIGKILL');

    broker = await start(dir);
    c = await connect(`amqp://alice:s3cret@127.0.0.1:${broker.port}/orders`);
    const chan = await c.createChannel();
    const m = await chan.get('alice-q', { noAck: true });
    expect(m && m.content.toString()).toBe('kept');
    // The permissions came back as they were: configure is limited to alice-*.
    chan.on('error', () => {});
    await expect(chan.assertQueue('other-q')).rejects.toThrow(/ACCESS_REFUSED - access to queue 'other-q' in vhost 'orders' refused for user 'alice'/);
    await c.close();
    // A wrong password is still wrong.
    await expect(amqp.connect(`amqp://alice:wrong@127.0.0.1:${broker.port}/orders`)).rejects.toThrow(/ACCESS_REFUSED/);
  });
});

describe('refusing a data directory', () => {
  it('a missing data directory: one line naming it, non-zero exit', async () => {
    const missing = join(tempDir(), 'nope');
    const r = await runWarren(['start', '--port', '0', '--data-dir', missing]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toMatch(/does not exist/);
  });

  it('a data directory the user cannot write: one line naming it, non-zero exit', async () => {
    const dir = tempDir();
    const locked = join(dir, 'ro');
    mkdirSync(locked);
    chmodSync(dir, 0o755);
    chmodSync(locked, 0o555);
    // root may write anywhere: run as nobody then.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = await runWarren(['start', '--port', '0', '--data-dir', locked], asNobody);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(locked);
    expect(r.stderr).toMatch(/not writable/);
  });

  it('a second warren on the same directory is refused; the first keeps serving', async () => {
    const dir = tempDir();
    const first = await start(dir);
    const r = await runWarren(['start', '--port', '0', '--data-dir', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`data directory ${dir} is in use by another warren \\(pid ${first.pid}\\)`));
    const c = await connect(first.url);
    const ch = await c.createChannel();
    await ch.assertQueue('still-alive', { durable: true });
    await c.close();
    await first.kill('SIGTERM');
  });

  it('a database from a newer warren is refused and left as it was', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await first.kill('SIGTERM');
    const dbPath = join(dir, 'warren.db');
    const db = new Database(dbPath);
    db.pragma('user_version = 99');
    db.close();
    const before = readFileSync(dbPath);
    const r = await runWarren(['start', '--port', '0', '--data-dir', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/written by a newer warren \(schema 99/);
    expect(readFileSync(dbPath).equals(before)).toBe(true);
  });

  it('a corrupt database file is refused and left as it was', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'warren.db');
    writeFileSync(dbPath, Buffer.from('this is not a database at all, just some bytes'.repeat(100)));
    const before = readFileSync(dbPath);
    const r = await runWarren(['start', '--port', '0', '--data-dir', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(dbPath);
    expect(r.stderr).toMatch(/not a warren database/);
    expect(readFileSync(dbPath).equals(before)).toBe(true);
  });
});

describe('a full disk', () => {
  it('nacks the publishes it cannot store, keeps serving consumers, and recovers when space returns', async () => {
    const dir = tempDir();
    // A 2 MiB cap stands in for a full disk: SQLite reports the same error either way.
    const broker = await start(dir, ['--max-db-size', '2MiB']);
    const c = await connect(broker.url);
    const ch = await c.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertQueue('full-q', { durable: true });
    const body = Buffer.alloc(64 * 1024, 1);
    const outcome = async (): Promise<'ack' | 'nack'> =>
      new Promise((resolve) => ch.sendToQueue('full-q', body, { persistent: true }, (err) => resolve(err ? 'nack' : 'ack')));
    const results: ('ack' | 'nack')[] = [];
    for (let i = 0; i < 400 && !results.includes('nack'); i++) results.push(await outcome());
    expect(results).toContain('ack');
    expect(results[results.length - 1]).toBe('nack');
    const stored = results.filter((r) => r === 'ack').length;
    // Consumers are still served: the stored messages can be taken.
    const consumer = await c.createChannel();
    let taken = 0;
    for (;;) {
      const m = await consumer.get('full-q');
      if (m === false) break;
      consumer.ack(m);
      taken++;
    }
    expect(taken).toBeGreaterThanOrEqual(stored);
    await consumer.checkQueue('full-q');
    // Space is back: publishing is confirmed again (the freed pages take a commit to reuse).
    let recovered = false;
    for (let i = 0; i < 50 && !recovered; i++) {
      recovered = (await outcome()) === 'ack';
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered).toBe(true);
    expect(broker.output()).toMatch(/store write failed/);
    await c.close();
  });
});
