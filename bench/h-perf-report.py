#!/usr/bin/env python3
# The main thread's samples in one phase of a bench/h-perf.sh run: the functions with the most
# self and inclusive samples, as shares of the thread's samples in that window; with --callees
# REGEX, what the outermost frame matching REGEX spends its samples in (its direct callees).
#   bench/h-perf-report.py OUT-DIR publish|drain [top] [--callees REGEX]
import collections, json, re, subprocess, sys

args = [a for a in sys.argv[1:]]
callee_pat = None
if '--callees' in args:
    i = args.index('--callees'); callee_pat = re.compile(args[i + 1]); del args[i:i + 2]
out, phase = args[0], args[1]
top = int(args[2]) if len(args) > 2 else 40
t = json.load(open(f'{out}/times.json'))
tid = t['pid']
text = subprocess.run(['perf', 'script', '-i', f'{out}/perf.jit.data', '--time', t[phase], '--tid', tid, '-F', 'comm,pid,tid,ip,sym'],
                      capture_output=True, text=True).stdout

def samples():
    stack = None
    for line in text.splitlines():
        if not line.strip():
            if stack is not None: yield stack
            stack = None
        elif not line.startswith((' ', '\t')):
            stack = []
        elif stack is not None:
            parts = line.strip().split(' ', 1)
            sym = parts[1] if len(parts) > 1 else parts[0]
            sym = re.sub(r'\+0x[0-9a-f]+', '', sym)
            sym = re.sub(r' \(.*\)$', '', sym)
            stack.append(re.sub(r'file:///\S*?/dist/src/', '', sym))
    if stack is not None: yield stack

n = 0; selfc = collections.Counter(); incl = collections.Counter(); callees = collections.Counter(); hit = 0
for s in samples():
    n += 1
    if s: selfc[s[0]] += 1
    for f in set(s): incl[f] += 1
    if callee_pat is not None:
        idx = [i for i, f in enumerate(s) if callee_pat.search(f)]
        if idx:
            hit += 1; i = idx[-1]; callees[s[i - 1] if i > 0 else '(self)'] += 1
print(f'{phase}: {n} samples of thread {tid} ({t[phase]})')
if callee_pat is not None:
    print(f'frames matching {callee_pat.pattern}: {100 * hit / max(n, 1):.1f}%')
    for f, k in callees.most_common(top): print(f'{100 * k / n:6.2f}% {f[:160]}')
    sys.exit(0)
skip = re.compile(r'^(node::|uv_|uv__|__libc_start|v8::Function::Call|v8::internal::Execution|Builtin:JSEntry)')
print('--- self'); [print(f'{100 * k / n:6.2f}% {f[:160]}') for f, k in selfc.most_common(top)]
print('--- inclusive'); [print(f'{100 * k / n:6.2f}% {f[:160]}') for f, k in incl.most_common(top * 2) if not skip.match(f)]
