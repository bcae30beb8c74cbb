// The amqp-tools CLI (librabbitmq-c based): amqp-declare-queue, amqp-publish, amqp-consume, amqp-get,
// amqp-delete-queue. A third, C-implemented client that nobody here wrote.
import { describe, expect, it } from 'vitest';
import { amqpTool, body, failure, sleep, uid, waitForCount } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

function urlWith(user: string, password: string, vhost?: string): string {
  const u = new URL(shared.broker.url);
  u.username = user;
  u.password = password;
  if (vhost !== undefined) u.pathname = `/${encodeURIComponent(vhost)}`;
  return u.toString();
}

describe('amqp-tools', () => {
  it('amqp-declare-queue declares (durable with -d) and prints the queue name', async () => {
    const q = uid('tools-decl');
    const r = await amqpTool(shared.broker.url, 'amqp-declare-queue', ['-q', q, '-d']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(q);
    const ch = await shared.clients.channel();
    const ok = await ch.checkQueue(q);
    expect(ok).toMatchObject({ queue: q, messageCount: 0, consumerCount: 0 });
    // It really is durable: a non-durable redeclare is refused.
    const f = await failure(ch.assertQueue(q, { durable: false }));
    expect(f.code).toBe(406);
    expect(f.replyText).toBe(
      `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'false' but current is 'true'`,
    );
    const del = await amqpTool(shared.broker.url, 'amqp-delete-queue', ['-q', q]);
    expect(del.code).toBe(0);
    expect(del.stdout.trim()).toBe('0');
  });

  it('hello world: amqp-publish then amqp-consume -c 1', async () => {
    const q = uid('tools-hello');
    expect((await amqpTool(shared.broker.url, 'amqp-declare-queue', ['-q', q])).code).toBe(0);
    const pub = await amqpTool(shared.broker.url, 'amqp-publish', ['-r', q, '-b', 'Hello World!']);
    expect(pub.code).toBe(0);
    const con = await amqpTool(shared.broker.url, 'amqp-consume', ['-q', q, '-c', '1', 'cat'], { timeoutMs: 15_000 });
    expect(con.code).toBe(0);
    expect(con.stdout).toBe('Hello World!');
    const ch = await shared.clients.channel();
    await waitForCount(ch, q, 0);
    await ch.deleteQueue(q);
  });

  it('work queue: amqp-publish -l (one message per line), amqp-consume -p 1 acks each', async () => {
    const q = uid('tools-work');
    const ch = await shared.clients.channel();
    await ch.assertQueue(q, { durable: true });
    const pub = await amqpTool(shared.broker.url, 'amqp-publish', ['-r', q, '-p', '-l'], { input: 'task1\ntask2\ntask3\n' });
    expect(pub.code).toBe(0);
    await waitForCount(ch, q, 3);
    // Peek at one with amqplib to check persistence, then put it back.
    const peek = await ch.get(q, { noAck: false });
    expect(peek && peek.properties.deliveryMode).toBe(2);
    expect(body(peek)).toBe('task1\n'); // -l keeps each line's newline in the body
    ch.nack(peek as never, false, true);
    // a synchronous round trip on the same channel: the requeue has happened before amqp-consume starts
    expect((await ch.checkQueue(q)).messageCount).toBe(3);
    const con = await amqpTool(
      shared.broker.url,
      'amqp-consume',
      ['-q', q, '-p', '1', '-c', '3', 'cat'],
      { timeoutMs: 15_000 },
    );
    expect(con.code).toBe(0);
    expect(con.stdout).toBe('task1\ntask2\ntask3\n');
    await waitForCount(ch, q, 0);
    await ch.deleteQueue(q);
  });

  it('amqp-get fetches one message per call and exits 2 on an empty queue', async () => {
    const q = uid('tools-get');
    const ch = await shared.clients.channel();
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from('first'));
    ch.sendToQueue(q, Buffer.from('second'));
    await ch.checkQueue(q);
    const a = await amqpTool(shared.broker.url, 'amqp-get', ['-q', q]);
    expect(a).toMatchObject({ code: 0, stdout: 'first' });
    const b = await amqpTool(shared.broker.url, 'amqp-get', ['-q', q]);
    expect(b).toMatchObject({ code: 0, stdout: 'second' });
    const c = await amqpTool(shared.broker.url, 'amqp-get', ['-q', q]);
    expect(c.code).toBe(2);
    expect(c.stdout).toBe('');
    await ch.deleteQueue(q);
  });

  it('amqplib publishes with properties, amqp-consume receives; amqp-publish properties reach amqplib', async () => {
    const q = uid('tools-props');
    const ch = await shared.clients.channel();
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from('from amqplib'));
    const con = await amqpTool(shared.broker.url, 'amqp-consume', ['-q', q, '-c', '1', '-A', 'cat'], { timeoutMs: 15_000 });
    expect(con).toMatchObject({ code: 0, stdout: 'from amqplib' });

    const pub = await amqpTool(shared.broker.url, 'amqp-publish', [
      '-r',
      q,
      '-C',
      'text/plain',
      '-E',
      'utf-8',
      '-t',
      'reply.here',
      '-H',
      'x-trace: abc',
      '-b',
      'with props',
    ]);
    expect(pub.code).toBe(0);
    const m = await ch.get(q, { noAck: true });
    expect(body(m)).toBe('with props');
    expect(m && m.properties).toMatchObject({
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      replyTo: 'reply.here',
      headers: { 'x-trace': 'abc' },
    });
    await ch.deleteQueue(q);
  });

  it('amqp-consume -x -e binds its exclusive queue to an exchange', async () => {
    const q = uid('tools-bound');
    const key = uid('key');
    const consumer = amqpTool(shared.broker.url, 'amqp-consume', ['-q', q, '-x', '-e', 'amq.direct', '-r', key, '-c', '1', 'cat'], {
      timeoutMs: 20_000,
    });
    // Publish (mandatory, confirmed) until the binding exists: exactly one message gets routed.
    const pub = await shared.clients.confirmChannel();
    let returned = 0;
    pub.on('return', () => {
      returned++;
    });
    for (let i = 0; i < 100; i++) {
      const before = returned;
      pub.publish('amq.direct', key, Buffer.from('routed'), { mandatory: true });
      await pub.waitForConfirms();
      if (returned === before) break;
      await sleep(100);
    }
    const res = await consumer;
    expect(res).toMatchObject({ code: 0, stdout: 'routed' });
  });

  it('reports the server errors verbatim: 404, 406, 403 wrong password, 530 unknown vhost', async () => {
    const missing = uid('tools-missing');
    const get = await amqpTool(shared.broker.url, 'amqp-get', ['-q', missing]);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain(`server channel error 404, message: NOT_FOUND - no queue '${missing}' in vhost '/'`);

    const ex = uid('tools-noex');
    const pub = await amqpTool(shared.broker.url, 'amqp-publish', ['-e', ex, '-r', 'k', '-b', 'x']);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toContain(`server channel error 404, message: NOT_FOUND - no exchange '${ex}' in vhost '/'`);

    const q = uid('tools-406');
    expect((await amqpTool(shared.broker.url, 'amqp-declare-queue', ['-q', q])).code).toBe(0);
    const redecl = await amqpTool(shared.broker.url, 'amqp-declare-queue', ['-q', q, '-d']);
    expect(redecl.code).toBe(1);
    expect(redecl.stderr).toContain(
      `server channel error 406, message: PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
    );
    await amqpTool(shared.broker.url, 'amqp-delete-queue', ['-q', q]);

    const bad = await amqpTool(urlWith('guest', 'wrong-password'), 'amqp-publish', ['-r', 'x', '-b', 'y']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'server connection error 403, message: ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
    );

    const vh = await amqpTool(urlWith('guest', 'guest', 'no-such-vhost'), 'amqp-publish', ['-r', 'x', '-b', 'y']);
    expect(vh.code).toBe(1);
    expect(vh.stderr).toContain('server connection error 530, message: NOT_ALLOWED - vhost no-such-vhost not found');
  });
});
