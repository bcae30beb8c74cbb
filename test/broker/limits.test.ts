// Limits on the wire, in process: vhost max-connections and max-queues, user max-connections and
// max-channels, the broker-wide connectionMax and consumerMaxPerChannel, each refused with
// RabbitMQ's code and text (the texts were read off RabbitMQ 3.10.8 with rabbitmqctl
// set_vhost_limits / set_user_limits; see conformance/limits.test.ts), and what stays allowed
// at a limit. Also: an error outside any connection reaches the broker's fatal hook.

import { afterEach, describe, expect, it } from 'vitest';
import { Clients, testBroker, uid, waitFor, within, type ServerError } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONNECTION_CLOSE,
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_START_OK,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  type Method,
} from '../../src/codec/methods.generated.js';
import type { RunningBroker, StartOptions } from '../../src/index.js';

const running: RunningBroker[] = [];
const clients: Clients[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  for (const c of clients.splice(0)) await c.closeAll();
  for (const b of running.splice(0)) await b.close();
});

async function broker(options: StartOptions = {}): Promise<{ b: RunningBroker; as: (user: string, pw: string, vhost?: string) => Clients }> {
  const b = await testBroker(options);
  running.push(b);
  const as = (user: string, pw: string, vhost = '/'): Clients => {
    const c = new Clients(`amqp://${user}:${pw}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`);
    clients.push(c);
    return c;
  };
  return { b, as };
}

/** A user with full permissions on the given vhosts (created if missing). */
function addUser(b: RunningBroker, name: string, vhosts: string[]): void {
  b.broker.access.putUser(name, { password: 'pw' }, []);
  for (const v of vhosts) {
    b.broker.addVhost(v);
    b.broker.access.setPermissions({ user: name, vhost: v, configure: '.*', write: '.*', read: '.*' });
  }
}

/** Runs the handshake by hand and returns the server's answer to connection.open. */
async function rawOpen(port: number, user: string, password: string, vhost: string): Promise<{ client: RawClient; answer: Method }> {
  const c = await RawClient.connect(port);
  raws.push(c);
  c.socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
  await c.waitForMethod(CONNECTION_START);
  c.sendMethod(0, { id: CONNECTION_START_OK, clientProperties: new Map(), mechanism: 'PLAIN', response: Buffer.from(`\u0000${user}\u0000${password}`), locale: 'en_US' });
  await c.waitForMethod(CONNECTION_TUNE);
  c.sendMethod(0, { id: CONNECTION_TUNE_OK, channelMax: 2047, frameMax: 131072, heartbeat: 0 });
  c.sendMethod(0, { id: CONNECTION_OPEN, virtualHost: vhost, capabilities: '', insist: false });
  await waitFor(() => c.frames.some((f) => f.method?.id === CONNECTION_OPEN_OK || f.method?.id === CONNECTION_CLOSE) || c.isClosed, 'the answer to connection.open');
  const f = c.frames.find((x) => x.method?.id === CONNECTION_OPEN_OK || x.method?.id === CONNECTION_CLOSE);
  if (f === undefined) throw new Error('socket closed without an answer to connection.open');
  return { client: c, answer: f.method! };
}

function close530(text: string): Record<string, unknown> {
  return { id: CONNECTION_CLOSE, replyCode: 530, replyText: `NOT_ALLOWED - ${text}`, classId: 10, methodId: 40 };
}

describe('vhost max-connections', () => {
  it('refuses connection.open past the limit with 530, before the access check; a freed slot admits again', async () => {
    const { b, as } = await broker();
    addUser(b, 'u', ['v1', '/']);
    b.broker.limits.set('vhost', 'v1', 'max-connections', 1);
    const first = await as('u', 'pw', 'v1').connect();
    expect((await rawOpen(b.port, 'u', 'pw', 'v1')).answer).toMatchObject(close530("access to vhost 'v1' refused for user 'u': connection limit (1) is reached"));
    // guest has no permissions on v1: the limit is still what it hears first (as from RabbitMQ).
    expect((await rawOpen(b.port, 'guest', 'guest', 'v1')).answer).toMatchObject(close530("access to vhost 'v1' refused for user 'guest': connection limit (1) is reached"));
    // Other vhosts are not affected.
    await as('u', 'pw', '/').connect();
    await first.conn.close();
    await waitFor(() => [...b.broker.connections].filter((c) => c.vhostName === 'v1').length === 0, 'the first connection to go');
    expect((await rawOpen(b.port, 'u', 'pw', 'v1')).answer.id).toBe(CONNECTION_OPEN_OK);
  });

  it('0 refuses every connection; a negative value means no limit', async () => {
    const { b } = await broker();
    b.broker.limits.set('vhost', '/', 'max-connections', 0);
    expect((await rawOpen(b.port, 'guest', 'guest', '/')).answer).toMatchObject(close530("access to vhost '/' refused for user 'guest': connection limit (0) is reached"));
    b.broker.limits.set('vhost', '/', 'max-connections', -1);
    expect((await rawOpen(b.port, 'guest', 'guest', '/')).answer.id).toBe(CONNECTION_OPEN_OK);
  });
});

describe('vhost max-queues', () => {
  it('refuses a new queue past the limit with 406 on queue.declare; existing ones may be re-declared and used', async () => {
    const { b, as } = await broker();
    b.broker.limits.set('vhost', '/', 'max-queues', 2);
    const client = await as('guest', 'guest').connect();
    const ch = await client.channel();
    await ch.assertQueue('q1');
    await ch.assertQueue('', { exclusive: true }); // server-named queues count too
    await ch.assertQueue('q1');
    await ch.checkQueue('q1');
    const err = (await ch.assertQueue('q3').catch((e: unknown) => e)) as ServerError;
    expect(err.code).toBe(406);
    expect(err.message).toContain("PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in vhost '/' (2) is reached");
    expect(err).toMatchObject({ classId: 50, methodId: 10 });
    const ch2 = await client.channel();
    await ch2.deleteQueue('q1');
    await ch2.assertQueue('q3');
  });

  it('is checked before the queue arguments, as RabbitMQ does', async () => {
    const { b, as } = await broker();
    b.broker.limits.set('vhost', '/', 'max-queues', 0);
    const ch = await (await as('guest', 'guest').connect()).channel();
    const err = (await ch.assertQueue('bad', { arguments: { 'x-max-priority': 'high' } }).catch((e: unknown) => e)) as ServerError;
    expect(err.message).toContain("cannot declare queue 'bad': queue limit in vhost '/' (0) is reached");
  });
});

describe('user limits', () => {
  it('max-connections counts the user\'s connections in every vhost', async () => {
    const { b, as } = await broker();
    addUser(b, 'u', ['/', 'v2']);
    b.broker.limits.set('user', 'u', 'max-connections', 2);
    await as('u', 'pw', '/').connect();
    await as('u', 'pw', 'v2').connect();
    expect((await rawOpen(b.port, 'u', 'pw', '/')).answer).toMatchObject(close530("connection refused for user 'u': user connection limit (2) is reached"));
    // Others are not counted against u.
    expect((await rawOpen(b.port, 'guest', 'guest', '/')).answer.id).toBe(CONNECTION_OPEN_OK);
  });

  it('the vhost limit is checked before the user limit; a missing vhost before both', async () => {
    const { b } = await broker();
    addUser(b, 'u', ['v1']);
    b.broker.limits.set('vhost', 'v1', 'max-connections', 0);
    b.broker.limits.set('user', 'u', 'max-connections', 0);
    expect((await rawOpen(b.port, 'u', 'pw', 'v1')).answer).toMatchObject(close530("access to vhost 'v1' refused for user 'u': connection limit (0) is reached"));
    expect((await rawOpen(b.port, 'u', 'pw', '/')).answer).toMatchObject(close530("connection refused for user 'u': user connection limit (0) is reached"));
    expect((await rawOpen(b.port, 'u', 'pw', 'nowhere')).answer).toMatchObject(close530('vhost nowhere not found'));
  });

  it('max-channels counts channels over all of the user\'s connections and closes the connection asking for one more', async () => {
    const { b, as } = await broker();
    addUser(b, 'u', ['/']);
    b.broker.limits.set('user', 'u', 'max-channels', 2);
    const c1 = await as('u', 'pw').connect();
    const c2 = await as('u', 'pw').connect();
    await c1.channel();
    await c2.channel();
    await expect(c2.channel()).rejects.toThrow();
    const closed = await within(c2.closed, 'the connection to close');
    expect(closed?.code).toBe(530);
    expect(closed?.message).toContain("NOT_ALLOWED - number of channels opened for user 'u' has reached the maximum allowed user limit of (2)");
    // c2's channel went with it: c1 may open one more.
    await c1.channel();
  });

  it('the raw channel.open is refused with a connection.close', async () => {
    const { b } = await broker();
    b.broker.limits.set('user', 'guest', 'max-channels', 0);
    const { client } = await rawOpen(b.port, 'guest', 'guest', '/');
    client.sendMethod(1, { id: CHANNEL_OPEN, outOfBand: '' });
    const m = await client.waitForMethod(CONNECTION_CLOSE);
    expect(m).toMatchObject({ replyCode: 530, replyText: "NOT_ALLOWED - number of channels opened for user 'guest' has reached the maximum allowed user limit of (0)" });
    expect(client.frames.some((f) => f.method?.id === CHANNEL_OPEN_OK)).toBe(false);
  });
});

describe('broker-wide limits from the configuration', () => {
  it('connectionMax refuses connection.open past the cap with 530 and RabbitMQ\'s node-limit text', async () => {
    const { b, as } = await broker({ connectionMax: 1 });
    await as('guest', 'guest').connect();
    expect((await rawOpen(b.port, 'guest', 'guest', '/')).answer).toMatchObject(close530('connection refused: node connection limit (1) is reached'));
  });

  it('consumerMaxPerChannel refuses one consumer more on a channel with 530; other channels have their own count', async () => {
    const { as } = await broker({ consumerMaxPerChannel: 2 });
    const client = await as('guest', 'guest').connect();
    const ch = await client.channel();
    const q = uid('cmax');
    await ch.assertQueue(q);
    await ch.consume(q, () => undefined);
    const second = await ch.consume(q, () => undefined);
    const other = await client.channel();
    await other.consume(q, () => undefined);
    // Cancelling frees a slot.
    await ch.cancel(second.consumerTag);
    await ch.consume(q, () => undefined);
    await expect(ch.consume(q, () => undefined)).rejects.toThrow();
    const closed = await within(client.closed, 'the connection to close');
    expect(closed?.code).toBe(530);
    expect(closed?.message).toContain('NOT_ALLOWED - reached maximum (2) of consumers per channel');
  });
});

describe('errors outside any connection', () => {
  it('a failing queue timer goes to the fatal hook when there is one (warren start exits on it)', async () => {
    const fatal: { err: unknown; context: Record<string, string> }[] = [];
    const { b, as } = await broker({ hooks: { fatal: (err, context) => fatal.push({ err, context }) } });
    const ch = await (await as('guest', 'guest').connect()).channel();
    const q = uid('ttl-bug');
    await ch.assertQueue(q, { arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': 'amq.fanout' } });
    const queue = b.broker.vhost('/')!.getQueue(q)!;
    const hooks = queue.hooks!;
    queue.hooks = {
      ...hooks,
      deadLetter: () => {
        throw new Error('injected');
      },
    };
    ch.sendToQueue(q, Buffer.from('x'));
    await waitFor(() => fatal.length === 1, 'the fatal hook');
    expect((fatal[0]!.err as Error).message).toBe('injected');
    expect(fatal[0]!.context).toEqual({ vhost: '/', queue: q });
  });
});
