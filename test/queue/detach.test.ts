// A queued message must not keep the socket read chunk it arrived in alive: Message.detach
// copies header and body out when their buffers are much larger than they are, and queues call
// it when they keep a message (not when they hand it straight to a consumer).

import { describe, expect, it } from 'vitest';
import { Message } from '../../src/message.js';
import { headerPayload } from '../helpers/frames.js';
import { FakeConsumer, queue } from '../helpers/model.js';

/** A message whose header and body are small views of one 64 KiB "socket chunk". */
function fromChunk(): { msg: Message; chunk: Buffer } {
  const chunk = Buffer.alloc(65536, 0x7a);
  const h = headerPayload(16);
  h.copy(chunk, 100);
  const header = chunk.subarray(100, 100 + h.length);
  const body = chunk.subarray(1000, 1016);
  return { msg: new Message('', 'q', header, body), chunk };
}

describe('Message.detach', () => {
  it('copies a small header and body out of a large chunk, into one exactly sized buffer', () => {
    const { msg, chunk } = fromChunk();
    const header = Buffer.from(msg.header);
    msg.detach();
    expect(msg.header.buffer).not.toBe(chunk.buffer);
    expect(msg.body.buffer).not.toBe(chunk.buffer);
    expect(msg.header.equals(header)).toBe(true);
    expect(msg.body.equals(Buffer.alloc(16, 0x7a))).toBe(true);
    expect(msg.body.buffer.byteLength).toBe(header.length + 16);
    // Idempotent: a detached message stays as it is.
    const body = msg.body;
    msg.detach();
    expect(msg.body).toBe(body);
  });

  it('leaves a message alone that fills most of its buffer (a large body, a slow publisher)', () => {
    const header = headerPayload(3000);
    const body = Buffer.alloc(3000, 1);
    const msg = new Message('', 'q', header, body);
    msg.detach();
    expect(msg.body).toBe(body);
  });
});

describe('Queue.enqueue', () => {
  it('detaches a message it keeps', () => {
    const q = queue('q');
    const { msg, chunk } = fromChunk();
    expect(q.enqueue(msg)).toBe(true);
    expect(msg.body.buffer).not.toBe(chunk.buffer);
  });

  it('detaches a message handed straight to a consumer when it comes back (requeue)', () => {
    const q = queue('q2');
    const c = new FakeConsumer('c', { credit: 1 });
    const { msg, chunk } = fromChunk();
    q.addConsumer(c);
    expect(q.enqueue(msg)).toBe(true);
    expect(c.delivered.length).toBe(1);
    expect(msg.body.buffer).toBe(chunk.buffer); // delivered at once: no copy
    q.requeue(c.delivered.splice(0));
    expect(msg.body.buffer).not.toBe(chunk.buffer);
  });
});
