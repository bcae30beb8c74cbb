// Short strings that are not UTF-8 (found by the fuzzers, fuzz/): method arguments are checked
// as RabbitMQ checks them (basic.publish excepted); elsewhere only those that would no longer
// fit in 255 bytes once decoded (each bad byte becomes U+FFFD, 3 bytes) are refused.
import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { CodecError } from '../../src/codec/codec-error.js';
import { decodeMethodFrame } from '../../src/codec/method-frame.js';
import { BASIC_PUBLISH, QUEUE_DECLARE, skipBasicProperties } from '../../src/codec/methods.generated.js';

const ss = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length]), b]);
const ids = (id: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(id);
  return b;
};
const declare = (name: Buffer): Buffer => Buffer.concat([ids(QUEUE_DECLARE), Buffer.alloc(2), ss(name), Buffer.from([0]), Buffer.alloc(4)]);
const publish = (key: Buffer): Buffer => Buffer.concat([ids(BASIC_PUBLISH), Buffer.alloc(2), ss(Buffer.from('amq.fanout')), ss(key), Buffer.from([0])]);

function codecError(f: () => unknown): CodecError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return e as CodecError;
  }
  throw new Error('no error');
}

describe('short strings that are not UTF-8', () => {
  const reader = new BufferReader(Buffer.alloc(0));

  it('in a method argument: FRAME_ERROR "Malformed UTF-8 in shortstr", naming no method', () => {
    const e = codecError(() => decodeMethodFrame(reader, declare(Buffer.from([0x71, 0x80]))));
    expect(e.code).toBe('FRAME_ERROR');
    expect(e.message).toBe('Malformed UTF-8 in shortstr');
    expect(e.methodId).toBe(0);
  });

  it('a real U+FFFD is valid UTF-8', () => {
    const m = decodeMethodFrame(reader, declare(Buffer.from('q\uFFFD')));
    expect(m).toMatchObject({ id: QUEUE_DECLARE, queue: 'q\uFFFD' });
  });

  it("basic.publish's routing key is not checked (as in RabbitMQ), unless it would not fit once decoded", () => {
    expect(decodeMethodFrame(reader, publish(Buffer.from([0x71, 0xff])))).toMatchObject({ routingKey: 'q\uFFFD' });
    expect(decodeMethodFrame(reader, publish(Buffer.alloc(85, 0xff)))).toMatchObject({ routingKey: '\uFFFD'.repeat(85) });
    const e = codecError(() => decodeMethodFrame(reader, publish(Buffer.alloc(86, 0xff))));
    expect(e.message).toMatch(/^cannot decode/);
  });

  it('the strict check ends with the method: a later table key is read leniently', () => {
    decodeMethodFrame(reader, declare(Buffer.from('ok')));
    const key = Buffer.from([0x71, 0xff]);
    const table = Buffer.concat([Buffer.from([0, 0, 0, key.length + 2]), ss(key), Buffer.from('V')]);
    expect([...new BufferReader(table).table().keys()]).toEqual(['q\uFFFD']);
  });

  it('a property or header key of 86+ bad bytes is refused by the publish-time check and by the decoder alike', () => {
    // content header from the property flags on: headers only, one key of 100 x 0xff.
    const key = Buffer.alloc(100, 0xff);
    const entries = Buffer.concat([ss(key), Buffer.from('V')]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(entries.length);
    const props = Buffer.concat([Buffer.from([0x20, 0x00]), len, entries]);
    const skip = codecError(() => skipBasicProperties(new BufferReader(props)));
    expect(skip.code).toBe('SYNTAX_ERROR');
    const decode = codecError(() => new BufferReader(Buffer.concat([len, entries])).table());
    expect(decode.code).toBe('SYNTAX_ERROR');
  });
});
