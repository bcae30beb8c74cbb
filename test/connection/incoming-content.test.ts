// A publish over the max message size, as RabbitMQ handles it: the body is read to its end
// without being kept, and only then is the 406 thrown (naming basic.publish), so the next
// command on the channel starts clean.
import { describe, expect, it } from 'vitest';
import { BASIC_PUBLISH, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, type Method } from '../../src/codec/methods.generated.js';
import { CommandAssembler } from '../../src/connection/command-assembler.js';
import type { ChannelHost } from '../../src/connection/host.js';
import { IncomingContent } from '../../src/connection/incoming-content.js';
import { ChannelError } from '../../src/errors.js';
import { headerPayload, methodPayload } from '../helpers/frames.js';

const publish: Method = { id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'q', mandatory: false, immediate: false };

function setup(max: number): { a: CommandAssembler; inc: IncomingContent } {
  const host = { maxMessageSize: max, maxConnectionBuffer: 1 << 30, contentHeld: 0 } as unknown as ChannelHost;
  return { a: new CommandAssembler(), inc: new IncomingContent(host) };
}

/** Pushes a frame the way Channel.handleFrame does; returns the completed command's body or the error. */
function push(a: CommandAssembler, inc: IncomingContent, type: number, payload: Buffer): Buffer | Error | null {
  if (!a.push(type, payload)) {
    inc.check(a);
    return null;
  }
  try {
    inc.completed();
  } catch (e) {
    return e as Error;
  }
  return a.body;
}

describe('a publish over the max message size', () => {
  it('reads the body to its end without keeping it, then 406 with the declared size', () => {
    const { a, inc } = setup(10);
    expect(push(a, inc, FRAME_METHOD, methodPayload(publish))).toBeNull();
    expect(push(a, inc, FRAME_HEADER, headerPayload(11))).toBeNull();
    expect(a.buffered).toBe(0);
    expect(push(a, inc, FRAME_BODY, Buffer.alloc(6))).toBeNull();
    expect(a.buffered).toBe(0);
    const e = push(a, inc, FRAME_BODY, Buffer.alloc(5));
    expect(e).toBeInstanceOf(ChannelError);
    expect([(e as ChannelError).message, (e as ChannelError).replyCode, (e as ChannelError).classId, (e as ChannelError).methodId]).toEqual([
      'PRECONDITION_FAILED - message size 11 is larger than configured max size 10',
      406,
      60,
      40,
    ]);
  });

  it('the next publish is assembled normally; one at the max is fine', () => {
    const { a, inc } = setup(10);
    push(a, inc, FRAME_METHOD, methodPayload(publish));
    push(a, inc, FRAME_HEADER, headerPayload(11));
    expect(push(a, inc, FRAME_BODY, Buffer.alloc(11))).toBeInstanceOf(ChannelError);
    push(a, inc, FRAME_METHOD, methodPayload(publish));
    push(a, inc, FRAME_HEADER, headerPayload(10));
    expect(push(a, inc, FRAME_BODY, Buffer.from('0123456789'))?.toString()).toBe('0123456789');
  });
});
