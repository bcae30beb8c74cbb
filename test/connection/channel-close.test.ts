// Channel numbers and frames racing a channel close, in-process over a raw socket: a close
// crossing the server's channel.close gets close-ok and the number stays taken until the
// client's close-ok; meanwhile commands are dropped (channel.open is still a second open) but
// framing is still checked; the client's own close is answered once the frames read with it
// are handled; close-ok on an open channel and content on an unknown number are
// the connection's errors. RabbitMQ's rules (see conformance/channel-close-races.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import {
  BASIC_PUBLISH,
  BASIC_QOS,
  BASIC_QOS_OK,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONNECTION_CLOSE,
  CONNECTION_OPEN_OK,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  type Method,
} from '../../src/codec/methods.generated.js';
import { testBroker, waitFor } from '../helpers/broker.js';
import { frame, headerPayload, methodPayload } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: RunningBroker;

beforeAll(async () => {
  broker = await testBroker();
});
afterAll(async () => broker.close());

const open: Method = { id: CHANNEL_OPEN, outOfBand: '' };
const close: Method = { id: CHANNEL_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 };
const closeOk: Method = { id: CHANNEL_CLOSE_OK };
const qos = (n: number): Method => ({ id: BASIC_QOS, prefetchSize: 0, prefetchCount: n, global: false });

/** A publish to a missing exchange: the server closes the channel with 404. */
function publishToMissing(c: RawClient, ch: number): void {
  c.sendMethod(ch, { id: BASIC_PUBLISH, ticket: 0, exchange: 'no-such-exchange', routingKey: '', mandatory: false, immediate: false });
  c.socket.write(frame(FRAME_HEADER, ch, headerPayload(3)));
  c.socket.write(frame(FRAME_BODY, ch, Buffer.from('abc')));
}

/** The methods received so far, as "channel:name" with close codes. */
function received(c: RawClient): string[] {
  const start = c.frames.findIndex((f) => f.method?.id === CONNECTION_OPEN_OK) + 1;
  return c.frames
    .slice(start)
    .filter((f) => f.type === FRAME_METHOD && f.method !== null)
    .map((f) => {
      const m = f.method!;
      if (m.id === CHANNEL_CLOSE || m.id === CONNECTION_CLOSE) return `${f.channel}:close ${m.replyCode} ${m.replyText} ${m.classId}/${m.methodId}`;
      return `${f.channel}:${m.id === CHANNEL_OPEN_OK ? 'open-ok' : m.id === CHANNEL_CLOSE_OK ? 'close-ok' : m.id === BASIC_QOS_OK ? 'qos-ok' : m.id}`;
    });
}

async function opened(...channels: number[]): Promise<RawClient> {
  const c = await RawClient.open(broker.port, 0);
  for (const ch of channels) c.sendMethod(ch, open);
  await waitFor(() => c.frames.filter((f) => f.method?.id === CHANNEL_OPEN_OK).length === channels.length, 'channels open');
  return c;
}

describe('frames racing a channel close', () => {
  it('a crossing channel.close gets close-ok; the client’s close-ok frees the number at once', async () => {
    const c = await opened(1, 2);
    try {
      publishToMissing(c, 1);
      c.sendMethod(1, close);
      await waitFor(() => received(c).includes('1:close-ok'), 'close-ok');
      c.sendMethod(1, closeOk);
      c.sendMethod(1, open);
      c.sendMethod(1, qos(1));
      c.sendMethod(2, qos(1));
      await waitFor(() => received(c).filter((x) => x.endsWith('qos-ok')).length === 2, 'qos-ok twice');
      expect(received(c)).toEqual([
        '1:open-ok',
        '2:open-ok',
        "1:close 404 NOT_FOUND - no exchange 'no-such-exchange' in vhost '/' 60/40",
        '1:close-ok',
        '1:open-ok',
        '1:qos-ok',
        '2:qos-ok',
      ]);
    } finally {
      c.destroy();
    }
  });

  it('until close-ok, the closing channel drops commands and content without a word', async () => {
    const c = await opened(1, 2);
    try {
      publishToMissing(c, 1);
      publishToMissing(c, 1); // dropped, content and all
      c.sendMethod(1, qos(3));
      c.sendMethod(2, qos(1));
      await waitFor(() => received(c).includes('2:qos-ok'), 'qos-ok');
      c.sendMethod(1, closeOk);
      c.sendMethod(1, open);
      await waitFor(() => received(c).filter((x) => x === '1:open-ok').length === 2, 'reopened');
      expect(received(c).slice(2)).toEqual(["1:close 404 NOT_FOUND - no exchange 'no-such-exchange' in vhost '/' 60/40", '2:qos-ok', '1:open-ok']);
    } finally {
      c.destroy();
    }
  });

  it.each([
    ['channel.open on the closing channel', (c: RawClient) => c.sendMethod(1, open), "0:close 504 CHANNEL_ERROR - second 'channel.open' seen 20/10"],
    ['a stray body frame on the closing channel', (c: RawClient) => c.socket.write(frame(FRAME_BODY, 1, Buffer.from('x'))), '0:close 505 UNEXPECTED_FRAME - expected method frame, got non method frame instead 0/0'],
  ])('%s is still the connection’s error', async (_what, send, expected) => {
    const c = await opened(1);
    try {
      publishToMissing(c, 1);
      await waitFor(() => received(c).length === 2, 'channel.close');
      send(c);
      await waitFor(() => received(c).length === 3, 'connection.close');
      expect(received(c)[2]).toBe(expected);
    } finally {
      c.destroy();
    }
  });

  it('frames read together with the client’s channel.close meet a closing channel: close-ok comes after them', async () => {
    const c = await opened(1, 2);
    try {
      // qos dropped, a second close answered, then the owed close-ok; channel 2 unaffected.
      c.socket.write(Buffer.concat([frame(FRAME_METHOD, 1, methodPayload(close)), frame(FRAME_METHOD, 1, methodPayload(qos(1))), frame(FRAME_METHOD, 1, methodPayload(close))]));
      await waitFor(() => received(c).filter((x) => x === '1:close-ok').length === 2, 'two close-oks');
      c.sendMethod(1, open);
      c.sendMethod(2, qos(1));
      await waitFor(() => received(c).includes('2:qos-ok'), 'qos-ok');
      expect(received(c).slice(2)).toEqual(['1:close-ok', '1:close-ok', '1:open-ok', '2:qos-ok']);
      // close + close-ok together: the number is free and no close-ok is owed any more.
      c.socket.write(Buffer.concat([frame(FRAME_METHOD, 1, methodPayload(close)), frame(FRAME_METHOD, 1, methodPayload(closeOk))]));
      c.sendMethod(1, open);
      await waitFor(() => received(c).filter((x) => x === '1:open-ok').length === 3, 'reopened');
      expect(received(c).slice(6)).toEqual(['1:open-ok']);
    } finally {
      c.destroy();
    }
  });

  it('channel.close-ok on an open channel is 503; content on an unknown number is 505', async () => {
    const c = await opened(1);
    try {
      c.sendMethod(1, closeOk);
      await waitFor(() => received(c).length === 2, 'connection.close');
      expect(received(c)[1]).toBe('0:close 503 COMMAND_INVALID - unimplemented method 20/41');
    } finally {
      c.destroy();
    }
    const d = await RawClient.open(broker.port, 0);
    try {
      d.socket.write(frame(FRAME_HEADER, 9, headerPayload(1)));
      await waitFor(() => received(d).length === 1, 'connection.close');
      expect(received(d)[0]).toBe('0:close 505 UNEXPECTED_FRAME - expected method frame, got non method frame instead 0/0');
    } finally {
      d.destroy();
    }
  });
});
