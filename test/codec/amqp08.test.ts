// The 0-8 edge: incoming method payloads in their 0-9-1 form (renamed ids, basic.consume's
// missing arguments table, methods 0-8 lacks), and the outgoing frames whose encoding differs.
import { describe, expect, it } from 'vitest';
import { methodFrameTo08, methodPayloadFrom08 } from '../../src/codec/amqp08.js';
import { CodecError } from '../../src/codec/codec-error.js';
import { BASIC_ACK, CHANNEL_OPEN_OK, CONNECTION_CLOSE, CONNECTION_CLOSE_OK, QUEUE_DECLARE_OK } from '../../src/codec/methods.generated.js';

const ids = (c: number, m: number, ...rest: number[]): Buffer => Buffer.from([c >> 8, c & 0xff, m >> 8, m & 0xff, ...rest]);

describe('methodPayloadFrom08', () => {
  it('renames connection.close and close-ok, and leaves shared methods alone', () => {
    expect(methodPayloadFrom08(ids(10, 60, 0, 200))).toEqual(ids(10, 50, 0, 200));
    expect(methodPayloadFrom08(ids(10, 61))).toEqual(ids(10, 51));
    const ack = ids(60, 80, 0, 0, 0, 0, 0, 0, 0, 1, 0);
    expect(methodPayloadFrom08(ack)).toBe(ack);
  });

  it('gives basic.consume an empty arguments table', () => {
    expect(methodPayloadFrom08(ids(60, 20, 0, 0, 0, 0, 0))).toEqual(ids(60, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  });

  it('treats methods 0-8 does not have as unknown', () => {
    for (const [c, m] of [[60, 120], [85, 10], [40, 30], [10, 50], [10, 70]] as const) {
      expect(() => methodPayloadFrom08(ids(c, m))).toThrow(CodecError);
    }
  });
});

describe('methodFrameTo08', () => {
  it('encodes connection.close as 10/60, close-ok as 10/61, channel.open-ok without arguments', () => {
    expect(methodFrameTo08(0, { id: CONNECTION_CLOSE, replyCode: 320, replyText: 'x', classId: 0, methodId: 0 })).toEqual(
      Buffer.from([1, 0, 0, 0, 0, 0, 12, 0, 10, 0, 60, 1, 64, 1, 0x78, 0, 0, 0, 0, 0xce]),
    );
    expect(methodFrameTo08(0, { id: CONNECTION_CLOSE_OK })).toEqual(Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 61, 0xce]));
    expect(methodFrameTo08(3, { id: CHANNEL_OPEN_OK, channelId: Buffer.alloc(0) })).toEqual(Buffer.from([1, 0, 3, 0, 0, 0, 4, 0, 20, 0, 11, 0xce]));
  });

  it('returns null for methods encoded as in 0-9-1', () => {
    expect(methodFrameTo08(1, { id: BASIC_ACK, deliveryTag: 1, multiple: false })).toBeNull();
    expect(methodFrameTo08(1, { id: QUEUE_DECLARE_OK, queue: 'q', messageCount: 0, consumerCount: 0 })).toBeNull();
  });
});
