// A segment's summary in a small file beside it (`<first offset>.idx`): first offset, record
// count, bytes, first and last timestamp, and the sparse index. A restart loads it instead of
// reading the segment through. It is trusted only when its CRC holds and the segment file has
// exactly the bytes it names; else the segment is read (a torn tail cut off) and the summary
// written again. Written when a segment is sealed (rolled) and when the log closes, through a
// temporary file and a rename, without fsync: a summary lost to a crash only costs one scan.

import { crc32 } from 'node:zlib';
import { closeSync, fstatSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';

const MAGIC = 0x57494458; // 'WIDX'
const VERSION = 1;
/** magic u32, version u32, first, count, size, firstTs, lastTs (f64 each), entries u32. */
const HEAD = 4 + 4 + 5 * 8 + 4;
const ENTRY = 3 * 8;
/** A sparse entry per 64 KiB: this bounds a summary of a segment of up to 64 GiB. */
const MAX_ENTRIES = 1 << 20;

export interface SegmentSummary {
  readonly first: number;
  readonly count: number;
  readonly size: number;
  readonly firstTs: number;
  readonly lastTs: number;
  readonly idxOffset: readonly number[];
  readonly idxPos: readonly number[];
  readonly idxTs: readonly number[];
}

export const SEGMENT_FILE = /^\d{20}\.seg$/;
export const SUMMARY_FILE = /^\d{20}\.idx$/;

/** The summary file of the segment at `segPath` (`….seg` -> `….idx`). */
export function summaryPath(segPath: string): string {
  return segPath.slice(0, -4) + '.idx';
}

export function encodeSummary(s: SegmentSummary): Buffer {
  const n = s.idxOffset.length;
  const buf = Buffer.allocUnsafe(HEAD + n * ENTRY + 4);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(VERSION, 4);
  buf.writeDoubleBE(s.first, 8);
  buf.writeDoubleBE(s.count, 16);
  buf.writeDoubleBE(s.size, 24);
  buf.writeDoubleBE(s.firstTs, 32);
  buf.writeDoubleBE(s.lastTs, 40);
  buf.writeUInt32BE(n, 48);
  let p = HEAD;
  for (let i = 0; i < n; i++) {
    buf.writeDoubleBE(s.idxOffset[i]!, p);
    buf.writeDoubleBE(s.idxPos[i]!, p + 8);
    buf.writeDoubleBE(s.idxTs[i]!, p + 16);
    p += ENTRY;
  }
  buf.writeUInt32BE(crc32(buf.subarray(0, p)), p);
  return buf;
}

/** The summary in `buf`, or null when it is not a whole, intact one. */
export function decodeSummary(buf: Buffer): SegmentSummary | null {
  if (buf.length < HEAD + 4 || buf.readUInt32BE(0) !== MAGIC || buf.readUInt32BE(4) !== VERSION) return null;
  const n = buf.readUInt32BE(48);
  if (n > MAX_ENTRIES || buf.length !== HEAD + n * ENTRY + 4) return null;
  const end = HEAD + n * ENTRY;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32BE(end)) return null;
  const idxOffset: number[] = [];
  const idxPos: number[] = [];
  const idxTs: number[] = [];
  for (let p = HEAD; p < end; p += ENTRY) {
    idxOffset.push(buf.readDoubleBE(p));
    idxPos.push(buf.readDoubleBE(p + 8));
    idxTs.push(buf.readDoubleBE(p + 16));
  }
  const count = buf.readDoubleBE(16);
  const size = buf.readDoubleBE(24);
  // Entries must describe records inside the segment, in order: a bad one would misplace reads.
  for (let i = 0; i < n; i++) {
    if (idxPos[i]! >= size || (i > 0 && (idxPos[i]! <= idxPos[i - 1]! || idxOffset[i]! <= idxOffset[i - 1]!))) return null;
  }
  return { first: buf.readDoubleBE(8), count, size, firstTs: buf.readDoubleBE(32), lastTs: buf.readDoubleBE(40), idxOffset, idxPos, idxTs };
}

/** Reads the summary at `path`, or null (missing, torn, or not ours). */
export function readSummary(path: string): SegmentSummary | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    if (size > HEAD + MAX_ENTRIES * ENTRY + 4) return null;
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) return null;
      got += n;
    }
    return decodeSummary(buf);
  } finally {
    closeSync(fd);
  }
}

/** Writes a summary (a temporary file renamed over the old one: never half written under its name). */
export function writeSummary(path: string, s: SegmentSummary): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, encodeSummary(s));
  renameSync(tmp, path);
}
