import fs from 'node:fs';
const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const self = new Map(); let total = 0;
const stackOf = new Map();
function walk(n, stack) {
  const f = n.callFrame; const name = `${f.functionName || '(anon)'} ${f.url.replace(/.*\/dist\//, '').replace('file://', '')}:${f.lineNumber + 1}`;
  const st = [name, ...stack].slice(0, 4);
  const s = n.selfSize; if (s > 0) { self.set(name, (self.get(name) ?? 0) + s); total += s; const k = st.join(' < '); stackOf.set(k, (stackOf.get(k) ?? 0) + s); }
  for (const c of n.children) walk(c, st);
}
walk(p.head, []);
console.log('total sampled MB', (total / 1048576).toFixed(1));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log((v / total * 100).toFixed(1) + '%', k);
console.log('--- stacks');
for (const [k, v] of [...stackOf].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log((v / total * 100).toFixed(1) + '%', k);
