// The basic.publish fast path: names reused only while their bytes repeat exactly; anything
// else is left to the generic decoder (null), so its results and errors are the reference.

import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { decodeMethodFrame } from '../../src/codec/method-frame.js';
import { BASIC_PUBLISH, type BasicPublish } from '../../src/codec/methods.generated.js';
import { PublishDecoder } from '../../src/codec/publish-decoder.js';
import { methodPayload } from '../helpers/frames.js';

const publish = (exchange: string, routingKey: string, mandatory = false, immediate = false): Buffer =>
  methodPayload({ id: BASIC_PUBLISH, ticket: 0, exchange, routingKey, mandatory, immediate });

const generic = (payload: Buffer): BasicPublish => decodeMethodFrame(new BufferReader(Buffer.alloc(0)), payload) as BasicPublish;

describe('PublishDecoder', () => {
  it('decodes nothing until it has learnt the names, then what the generic decoder decodes', () => {
    const d = new PublishDecoder();
    const p = publish('amq.direct', 'k.é', true);
    expect(d.decode(p)).toBeNull();
    d.learn(p, generic(p));
    for (const [mandatory, immediate] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const q = publish('amq.direct', 'k.é', mandatory, immediate);
      expect({ ...d.decode(q)! }).toEqual(generic(q));
    }
  });

  it('the same strings come back while the bytes repeat', () => {
    const d = new PublishDecoder();
    const p = publish('x', 'rk');
    d.learn(p, generic(p));
    const a = d.decode(Buffer.from(p))!.routingKey;
    const b = d.decode(Buffer.from(p))!.routingKey;
    expect(a).toBe('rk');
    expect(a).toBe(b);
  });

  it('another exchange, routing key, or bytes that do not add up: left to the generic decoder', () => {
    const d = new PublishDecoder();
    const p = publish('x', 'rk');
    d.learn(p, generic(p));
    expect(d.decode(publish('y', 'rk'))).toBeNull();
    expect(d.decode(publish('x', 'rl'))).toBeNull();
    expect(d.decode(publish('x', 'rk2'))).toBeNull();
    expect(d.decode(Buffer.concat([p, Buffer.from([0])]))).toBeNull(); // a byte left over
    expect(d.decode(p.subarray(0, p.length - 1))).toBeNull(); // bits missing
    expect(d.decode(p.subarray(0, 8))).toBeNull();
    const bad = Buffer.from(p);
    bad[6] = 200; // exchange length past the end
    expect(d.decode(bad)).toBeNull();
  });
});
