// diagnostic preload: counts Buffer allocations by kind and size class, from 4.5 s on
import { writeFileSync } from 'node:fs';
const c = {}; let on = false; setTimeout(() => (on = true), 4500).unref();
for (const k of ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'from', 'concat']) {
  const f = Buffer[k];
  Buffer[k] = function (...a) { if (on) { const n = typeof a[0] === 'number' ? a[0] : (a[0]?.length ?? -1); const key = k + ':' + (n < 0 ? '?' : n <= 8192 ? '<=8K' : n <= 65536 ? '<=64K' : '>64K'); c[key] = (c[key] ?? 0) + 1; } return f.apply(this, a); };
}
const AB = globalThis.ArrayBuffer;
process.on('exit', () => writeFileSync('/tmp/idle/bufcount.json', JSON.stringify(c)));
