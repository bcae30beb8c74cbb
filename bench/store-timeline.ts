// Where a confirm's round trip goes, batch by batch: reads a trace written by a broker started
// with WARREN_STORE_TRACE=<file> (src/store/batch-trace.ts; bench/store-timeline.sh runs one
// with scenario h) and prints, over the batches that inserted messages, the median / p90 of each
// step of a batch's life, how many messages a batch carried, and whether the next batch was
// already forming while one committed.
//
//   node dist/bench/store-timeline.js <trace file> [--skip 200] [--json]

import { readFileSync } from 'node:fs';
import { TRACE_FIELDS } from '../src/store/batch-trace.js';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (file === undefined) {
  console.error('usage: store-timeline <trace file> [--skip N] [--json]');
  process.exit(2);
}
const skipAt = args.indexOf('--skip');
const skip = skipAt >= 0 ? Number(args[skipAt + 1]) : 200;
const json = args.includes('--json');

const raw = readFileSync(file);
const all = new Float64Array(raw.buffer, raw.byteOffset, Math.floor(raw.length / 8));
const F = TRACE_FIELDS.length;
const field = (name: (typeof TRACE_FIELDS)[number]): number => TRACE_FIELDS.indexOf(name);
type Rec = Record<(typeof TRACE_FIELDS)[number], number>;
const recs: Rec[] = [];
for (let i = 0; i + F <= all.length; i += F) {
  const r = {} as Rec;
  for (const name of TRACE_FIELDS) r[name] = all[i + field(name)]!;
  recs.push(r);
}
// Batches that inserted messages (publishing), after a warm-up.
const pub = recs.filter((r) => r.messages > 0).slice(skip);
if (pub.length < 2) {
  console.error(`only ${pub.length} publishing batches in ${file} after skipping ${skip}`);
  process.exit(1);
}

function quantiles(xs: number[]): { p10: number; p50: number; p90: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p10: q(0.1), p50: q(0.5), p90: q(0.9), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
}

const us = (a: number, b: number): number => (b - a) * 1000;
/** When the batch was durable: its COMMIT returned, or (a writer that syncs after COMMIT) its sync. */
const durable = (r: Rec): number => (r.synced === 0 ? r.committed : r.synced);
const steps: [string, (r: Rec, prev: Rec | undefined) => number][] = [
  ['first write queued -> last write queued', (r) => us(r.firstPush, r.lastPush)],
  ['last write queued -> sent to the writer', (r) => us(r.lastPush, r.sent)],
  ['sent -> writer took it up (hand-off)', (r) => us(r.sent, r.writerGot)],
  ['writer: statements (apply)', (r) => us(r.writerGot, r.applied)],
  ['writer: COMMIT (with its sync, if it syncs)', (r) => us(r.applied, r.committed)],
  ['writer: sync after COMMIT, if any', (r) => (r.synced === 0 ? 0 : us(r.committed, r.synced))],
  ['writer: on a CPU, took up -> durable', (r) => r.writerOnCpu * 1000],
  ['writer: runnable, waiting for the CPU, same span', (r) => r.writerWaitCpu * 1000],
  ['reply posted -> on the event loop', (r) => us(durable(r), r.replyGot)],
  ['durable listeners (confirms queued)', (r) => us(r.replyGot, r.listenersDone)],
  ['sent -> reply on the event loop (round trip)', (r) => us(r.sent, r.replyGot)],
  ['first write queued -> confirms queued', (r) => us(r.firstPush, r.listenersDone)],
  ['previous reply -> this batch sent', (r, p) => (p === undefined ? NaN : us(p.replyGot, r.sent))],
  ['batch to batch (sent -> next sent)', (r, p) => (p === undefined ? NaN : us(p.sent, r.sent))],
];

const rows = steps.map(([name, f]) => {
  const xs: number[] = [];
  for (let i = 0; i < pub.length; i++) {
    const v = f(pub[i]!, i > 0 ? pub[i - 1] : undefined);
    if (Number.isFinite(v)) xs.push(v);
  }
  return { step: name, ...quantiles(xs) };
});

const sizes = quantiles(pub.map((r) => r.messages));
const hist = new Map<number, number>();
for (const r of pub) {
  const b = Math.min(100, Math.ceil(r.messages / 10) * 10);
  hist.set(b, (hist.get(b) ?? 0) + 1);
}
// A batch whose first write was queued before the previous batch's reply formed while that one
// was committing (the window split in two); otherwise it started after the confirms went out.
let overlapped = 0;
for (let i = 1; i < pub.length; i++) if (pub[i]!.firstPush < pub[i - 1]!.replyGot) overlapped++;
const span = pub[pub.length - 1]!.replyGot - pub[0]!.sent;
let writerBusy = 0;
for (const r of pub) if (r.writerGot > 0) writerBusy += durable(r) - r.writerGot;
const messages = pub.reduce((a, r) => a + r.messages, 0);
const summary = {
  file,
  batches: pub.length,
  messages,
  rate: Math.round(messages / (span / 1000)),
  messagesPerBatch: sizes,
  batchesFormedDuringPreviousCommit: overlapped / (pub.length - 1),
  writerBusyShare: writerBusy / span,
};

if (json) {
  console.log(JSON.stringify({ ...summary, steps: rows, sizeHistogram: Object.fromEntries([...hist].sort((a, b) => a[0] - b[0])) }));
} else {
  console.log(`${file}: ${pub.length} publishing batches (first ${skip} skipped), ${messages} messages, ${summary.rate} msg/s over them`);
  console.log(`messages a batch: p10 ${sizes.p10} p50 ${sizes.p50} p90 ${sizes.p90} mean ${sizes.mean.toFixed(1)}`);
  console.log(`batches whose first write came while the previous one committed: ${(100 * summary.batchesFormedDuringPreviousCommit).toFixed(1)} %`);
  console.log(`writer busy (took up -> durable) over the span: ${(100 * summary.writerBusyShare).toFixed(1)} %`);
  console.log('size histogram (up to N messages):', [...hist].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(' '));
  console.log('step (us)'.padEnd(48) + 'p10'.padStart(9) + 'p50'.padStart(9) + 'p90'.padStart(9) + 'mean'.padStart(9));
  for (const r of rows) {
    console.log(r.step.padEnd(48) + [r.p10, r.p50, r.p90, r.mean].map((v) => v.toFixed(0).padStart(9)).join(''));
  }
}
