// Shared helpers for the codec unit tests (not a test file itself).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { CodecError, type CodecErrorCode } from '../../src/codec/codec-error.js';
import { FrameReader } from '../../src/codec/frame-reader.js';
import type { FrameSink } from '../../src/codec/frame-writer.js';
import type { Spec } from '../../protocol/generate.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function loadSpec(): Spec {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'protocol', 'amqp-rabbitmq-0.9.1.json'), 'utf8')) as Spec;
}

/** Spec JSON shapes the tests read beyond what generate.ts's Spec type names. */
export interface SpecArg {
  name: string;
  type?: string;
  domain?: string;
  'default-value'?: unknown;
}

export const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Resolves a field's domain chain down to an AMQP primitive type name. */
export function primitiveOf(spec: Spec, f: SpecArg): string {
  const domains = new Map(spec.domains);
  let t = f.type ?? f.domain;
  while (t !== undefined && domains.has(t) && domains.get(t) !== t) t = domains.get(t);
  if (t === undefined) throw new Error(`no type for ${f.name}`);
  return t;
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

/** Feeds chunks to a FrameReader and returns the frames it emits (payloads copied). */
export function readFrames(chunks: readonly Buffer[], frameMax = 131072): Frame[] {
  const reader = new FrameReader(frameMax);
  const frames: Frame[] = [];
  for (const c of chunks) {
    reader.push(c, {
      onFrame(type, channel, payload) {
        frames.push({ type, channel, payload: Buffer.from(payload) });
      },
    });
  }
  expect(reader.idle).toBe(true);
  return frames;
}

/** Raw frame bytes built by hand, independent of FrameWriter. */
export function rawFrame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([end])]);
}

/** A socket stand-in that records what a FrameWriter hands it. */
export class FakeSink implements FrameSink {
  chunks: Buffer[] = [];
  corks = 0;
  uncorks = 0;
  corked = false;
  writesWhileCorked = 0;
  write(chunk: Buffer): boolean {
    if (this.corked) this.writesWhileCorked++;
    this.chunks.push(chunk);
    return true;
  }
  cork(): void {
    this.corks++;
    this.corked = true;
  }
  uncork(): void {
    this.uncorks++;
    this.corked = false;
  }
  /** Copies of everything written so far, concatenated. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Asserts that fn throws a CodecError with the given code (and message, if given). */
export function expectCodecError(fn: () => unknown, code: CodecErrorCode, message?: string | RegExp): CodecError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a CodecError to be thrown').toBeInstanceOf(CodecError);
  const err = caught as CodecError;
  expect(err.code).toBe(code);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else if (message) expect(err.message).toMatch(message);
  return err;
}
