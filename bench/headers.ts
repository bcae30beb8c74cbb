// Publish-time cost of the property check for messages with headers, in process (no sockets):
// the check warren makes now (Message.checkProperties: walk the headers table without building
// it, look for top-level CC/BCC; expiration read where it sits) against what it did before (skip
// the table as one string, then decode every property, headers included, for any message with
// headers, to look for CC/BCC, and read expiration from them).
// Usage: npm run build && node dist/bench/headers.js [--seconds 2]. Numbers from a shared
// machine are noisy; compare the two paths within one run.

import { BufferReader } from '../src/codec/buffer-reader.js';
import { BufferWriter } from '../src/codec/buffer-writer.js';
import { F, table, type FieldTable } from '../src/codec/field-table.js';
import { CLASS_IDS, decodeBasicProperties, encodeBasicProperties, type BasicProperties } from '../src/codec/methods.generated.js';
import { Message } from '../src/message.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 2);

function header(props: BasicProperties): Buffer {
  const w = new BufferWriter(256);
  w.u16(CLASS_IDS.basic);
  w.u16(0);
  w.u64(1024);
  encodeBasicProperties(w, props);
  return w.toBuffer();
}

// What Celery's protocol 2 sends (kombu/py-amqp), roughly: 14 headers, nested arrays.
const celery: FieldTable = table({
  lang: F.str('py'),
  task: F.str('proj.tasks.add'),
  id: F.str('6d1f7f6e-2a8b-4f0e-9a57-3c1d2b0e4f11'),
  shadow: F.void(),
  eta: F.void(),
  expires: F.void(),
  group: F.void(),
  group_index: F.void(),
  retries: F.int(0),
  timelimit: F.array([F.void(), F.void()]),
  root_id: F.str('6d1f7f6e-2a8b-4f0e-9a57-3c1d2b0e4f11'),
  parent_id: F.void(),
  argsrepr: F.str('(2, 3)'),
  kwargsrepr: F.str('{}'),
  origin: F.str('gen1234@host'),
  ignore_result: F.bool(false),
});
const cases: [string, BasicProperties][] = [
  ['no headers (content-type, delivery-mode)', { contentType: 'application/json', deliveryMode: 2 }],
  ['1 header', { contentType: 'application/json', deliveryMode: 2, headers: table({ 'x-retry': F.int(1) }) }],
  ['16 headers (Celery-like)', { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, headers: celery, correlationId: 'abc', replyTo: 'q' }],
  ['16 headers (Celery-like) and expiration', { contentType: 'application/json', deliveryMode: 2, headers: celery, expiration: '60000' }],
];

const reader = new BufferReader(Buffer.alloc(0));

/** skipBasicProperties as generated before: the headers table skipped as one long string. */
function oldSkipBasicProperties(r: BufferReader): void {
  let flags = r.u16();
  const all = flags;
  while ((flags & 1) !== 0) flags = r.u16();
  if ((all & 32768) !== 0) r.skipShortstr();
  if ((all & 16384) !== 0) r.skipShortstr();
  if ((all & 8192) !== 0) r.skipLongstr();
  if ((all & 4096) !== 0) r.skip(1);
  if ((all & 2048) !== 0) r.skip(1);
  if ((all & 1024) !== 0) r.skipShortstr();
  if ((all & 512) !== 0) r.skipShortstr();
  if ((all & 256) !== 0) r.skipShortstr();
  if ((all & 128) !== 0) r.skipShortstr();
  if ((all & 64) !== 0) r.skip(8);
  if ((all & 32) !== 0) r.skipShortstr();
  if ((all & 16) !== 0) r.skipShortstr();
  if ((all & 8) !== 0) r.skipShortstr();
  if ((all & 4) !== 0) r.skipShortstr();
}

/** The check before: the old skip, then (publish's CC/BCC rewrite) every property decoded when there are headers. */
function before(m: Message): boolean {
  const h = m.header;
  reader.reset(h, 12, h.length);
  oldSkipBasicProperties(reader);
  if ((m.propertyFlags & 0x2000) === 0) return false;
  // expiration was read from the decoded properties (all of them decoded once).
  const p = decodeBasicProperties(new BufferReader(h, 12));
  if (p.expiration === 'x') return true;
  return p.headers !== undefined && (p.headers.has('CC') || p.headers.has('BCC'));
}

function after(m: Message): boolean {
  const cc = m.checkProperties();
  // expiration read where it sits, as publish does now.
  if ((m.propertyFlags & 0x100) !== 0 && m.expiration === 'x') return true;
  return cc;
}

// The Message is built once: publish builds one either way.
function rate(fn: (m: Message) => boolean, h: Buffer): number {
  const m = new Message('', 'q', h, h);
  let n = 0;
  let sink = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) if (fn(m)) sink++;
    n += 1000;
  }
  if (sink < 0) console.log(sink);
  return (seconds * 1e9) / n; // ns per message
}

console.log(`| properties | before: ns/msg | now: ns/msg | now / before |`);
console.log(`| --- | ---: | ---: | ---: |`);
for (const [name, props] of cases) {
  const h = header(props);
  rate(before, h);
  rate(after, h); // warm-up
  const b = rate(before, h);
  const a = rate(after, h);
  console.log(`| ${name} (${h.length} B header) | ${b.toFixed(0)} | ${a.toFixed(0)} | ${(a / b).toFixed(2)} |`);
}
