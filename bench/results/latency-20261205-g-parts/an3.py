import re, sys
bp = int(open('broker3.pid').read()); cp = int(open('client3.pid').read())
sends, bw, recv, wake = [], [], [], []
for line in open('ps3.txt'):
    m = re.match(r'\s*(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)', line)
    if not m: continue
    pid, tid, t, name, rest = int(m[1]), int(m[2]), float(m[4]), m[5], m[6]
    if name == 'syscalls:sys_enter_sendto' and pid == cp and 'len: 0x00000408' in rest: sends.append(t)
    elif pid == bp and name.startswith('syscalls:sys_enter_') and pid != cp:
        c = re.search(r'(count|len): 0x([0-9a-f]+)', rest)
        if c and int(c[2], 16) >= 0x467: bw.append((t, int(c[2], 16)))
    elif name == 'syscalls:sys_exit_recvfrom' and pid == cp:
        n = int(rest.strip(), 16)
        if 0 < n < 1 << 40: recv.append((t, n))
    elif name == 'sched:sched_wakeup':
        w = re.search(r'pid=(\d+)', rest)
        if w and int(w[1]) == bp: wake.append(t)
print('sends %d broker writes %d recvs %d broker wakeups %d' % (len(sends), len(bw), len(recv), len(wake)))
print('broker writes of more than one delivery:', sum(1 for _, n in bw if n > 0x467), ' recvs of more:', sum(1 for _, n in recv if n > 0x467))
import bisect
wk = sorted(wake); rows = []
j = k = 0
for s in sends:
    while j < len(bw) and bw[j][0] < s: j += 1
    if j == len(bw): break
    b = bw[j][0]
    while k < len(recv) and recv[k][0] < b: k += 1
    if k == len(recv): break
    c = recv[k][0]
    i = bisect.bisect_left(wk, s); w = wk[i] if i < len(wk) and wk[i] < b else None
    rows.append((s, w, b, c))
def q(a, p): a = sorted(a); return a[min(len(a) - 1, int(p * len(a)))]
tot = [(c - s) * 1e3 for s, w, b, c in rows]
sb = [(b - s) * 1e3 for s, w, b, c in rows]; bc = [(c - b) * 1e3 for s, w, b, c in rows]
sw = [(w - s) * 1e3 for s, w, b, c in rows if w]; wb = [(b - w) * 1e3 for s, w, b, c in rows if w]
for name, a in (('send->recv (total)', tot), ('send->broker write', sb), ('  send->broker wakeup', sw), ('  wakeup->broker write', wb), ('broker write->recv', bc)):
    print('%-24s n %5d p50 %.3f p90 %.3f p99 %.3f max %.2f >1ms %d' % (name, len(a), q(a, .5), q(a, .9), q(a, .99), max(a), sum(x > 1 for x in a)))
slow = [(s, w, b, c) for s, w, b, c in rows if c - s > 1e-3]
side = {'publisher->broker write': 0, 'broker write->consumer': 0}
for s, w, b, c in slow: side['publisher->broker write' if b - s > c - b else 'broker write->consumer'] += 1
print('slow (>1 ms) messages: %d; larger part: %s' % (len(slow), side))
if slow:
  print('slow: median of parts ms: send->wake %.3f wake->write %.3f write->recv %.3f' % (q([(w - s) * 1e3 for s, w, b, c in slow if w], .5), q([(b - w) * 1e3 for s, w, b, c in slow if w], .5), q([(c - b) * 1e3 for s, w, b, c in slow], .5)))
