// The writer thread's reading of a batch's strings: straight from the batch's bytes.
import { describe, expect, it } from 'vitest';
import { BatchReader, BatchWriter } from '../../src/store/batch.js';
import { CodecError } from '../../src/codec/codec-error.js';

function readerOf(w: BatchWriter): BatchReader {
  const { buffer, length } = w.finish();
  return new BatchReader(Buffer.from(buffer, 0, length), 0, length);
}

describe('BatchReader.str', () => {
  it('reads back empty, ASCII and multi-byte strings, and what follows them', () => {
    const w = new BatchWriter();
    w.longstr('');
    w.longstr('amq.topic');
    w.longstr('clé.ünïcode.日本');
    w.u32(42);
    const r = readerOf(w);
    expect(r.str()).toBe('');
    expect(r.str()).toBe('amq.topic');
    expect(r.str()).toBe('clé.ünïcode.日本');
    expect(r.u32()).toBe(42);
    expect(r.remaining).toBe(0);
  });

  it('refuses a string that runs past the end of the batch', () => {
    const w = new BatchWriter();
    w.u32(10);
    w.u8(0x61);
    const r = readerOf(w);
    expect(() => r.str()).toThrow(CodecError);
  });
});
