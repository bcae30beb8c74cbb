# Reads ps7.txt, tasks7.txt, broker.pid (from run7.sh): the publisher's send -> the broker's write of the delivery, per message;
# for the messages that took over 1 ms, what CPU 0 ran meanwhile (overlapping windows merged).
import re, collections, bisect, sys
bp = int(open(sys.argv[3] if len(sys.argv) > 3 else 'broker.pid').read())
ev = []
for line in open(sys.argv[1] if len(sys.argv) > 1 else 'ps7.txt'):
    m = re.match(r'\s*(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+?):?\s+(.*)', line)
    if m: ev.append((float(m[4]), int(m[1]), int(m[2]), int(m[3]), m[5].rstrip(':'), m[6]))
ev.sort()
sends = [t for t, p, tid, c, n, r in ev if n == 'syscalls:sys_enter_sendto' and 'len: 0x00000408' in r]
def big(n, r):
    if n == 'syscalls:sys_enter_writev': return True
    c = re.search(r'count: 0x([0-9a-f]+)', r)
    return n == 'syscalls:sys_enter_write' and c is not None and int(c[1], 16) >= 0x467
writes = [t for t, p, tid, c, n, r in ev if p == bp and big(n, r)]
sw = [(t, r) for t, p, tid, c, n, r in ev if n == 'sched:sched_switch']
iv = []
for (t, r), (t2, _) in zip(sw, sw[1:]):
    m = re.search(r'next_comm=(.*?) next_pid=(\d+)', r); iv.append((t, t2, m[1], int(m[2])))
starts = [s for s, e, c, p in iv]
tasks = {int(l.split()[0]): l.split() for l in open(sys.argv[2] if len(sys.argv) > 2 else 'tasks7.txt')}
writer = max(tasks)
def name(c, p):
    if p == bp: return 'warren: event loop'
    if p == writer: return 'warren: SQLite writer thread'
    if p in tasks: return 'warren: other thread (V8 platform / libuv)'
    if p == 0: return 'idle (CPU 0 halted)'
    return 'other: ' + c
rows = []; j = 0
for s in sends:
    while j < len(writes) and writes[j] < s: j += 1
    if j == len(writes): break
    rows.append((s, writes[j]))
d = sorted((b - a) * 1e3 for a, b in rows)
print('publisher send -> broker write, ms: n %d p50 %.3f p99 %.3f, over 1 ms: %d' % (len(d), d[len(d) // 2], d[int(.99 * len(d))], sum(x > 1 for x in d)))
m = []
for a, b in sorted((a, b) for a, b in rows if b - a > 1e-3):
    if m and a <= m[-1][1]: m[-1] = (m[-1][0], max(m[-1][1], b))
    else: m.append((a, b))
per = collections.Counter(); whole = collections.Counter()
for a, b in m:
    i = max(0, bisect.bisect_right(starts, a) - 1)
    while i < len(iv) and iv[i][0] < b:
        s, e, c, p = iv[i]; o = min(e, b) - max(s, a)
        if o > 0: per[name(c, p)] += o * 1e3
        i += 1
for s, e, c, p in iv: whole[name(c, p)] += (e - s) * 1e3
tot = sum((b - a) * 1e3 for a, b in m)
print('windows of those messages (merged): %d, %.1f ms; what CPU 0 ran in them (ms, share; the whole 8 s in brackets):' % (len(m), tot))
for k, v in per.most_common(8): print('  %7.2f %5.1f %%  (%7.1f)  %s' % (v, 100 * v / tot, whole[k], k))
