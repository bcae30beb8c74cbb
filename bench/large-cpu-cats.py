#!/usr/bin/env python3
# CPU 0's samples of a `bench/large-cpu.py ... --perf DIR` run, sorted by what they were doing
# (kernel stacks only): in a read copying, in a read sending an ACK (tcp_cleanup_rbuf, or
# __tcp_transmit_skb under tcp_recvmsg_locked; "(pub xmit)" when the publisher's tcp_write_xmit
# runs under it), in a read processing its backlog (__release_sock), the rest of a read; in a
# write copying, transmitting (and the loopback receive under it), the rest; other syscalls,
# interrupts/timers/softirq, and user space. Prints one JSON line of shares (%).
#   bench/large-cpu-cats.py DIR
import collections, json, re, subprocess, sys
d = sys.argv[1]
t = json.load(open(f'{d}/times.json'))
txt = subprocess.run(['perf', 'script', '-i', f'{d}/perf.data', '--time', t['run'], '-F', 'cpu,ip,sym'], capture_output=True, text=True).stdout
c = collections.Counter(); n = 0
for block in txt.split('\n\n'):
    lines = [l.strip() for l in block.strip().splitlines()]
    if not lines: continue
    syms = [l.split(' ', 1)[1] if ' ' in l else l for l in lines[1:]]
    syms = [re.sub(r'\+0x[0-9a-f]+', '', s) for s in syms]
    st = ' '.join(syms); n += 1
    if 'tcp_recvmsg' in st:
        if 'tcp_cleanup_rbuf' in st or ('__tcp_transmit_skb' in st and 'tcp_recvmsg_locked' in st):
            k = 'read: ACK + what it sets off' + (' (pub xmit)' if 'tcp_write_xmit' in st else '')
        elif '__release_sock' in st: k = 'read: release_sock backlog'
        elif re.search(r'rep_movs|_copy_to_iter|copy_user', syms[0]): k = 'read: copy'
        else: k = 'read: rest'
    elif re.search(r'tcp_sendmsg|sock_sendmsg|do_writev|__sys_sendmsg', st):
        if re.search(r'rep_movs|_copy_from_iter|copy_user', syms[0]): k = 'write: copy'
        elif re.search(r'__dev_queue_xmit|ip_finish_output2|do_softirq|net_rx_action', st): k = 'write: xmit+loopback rx'
        else: k = 'write: rest'
    elif re.search(r'entry_SYSCALL|do_syscall_64', st): k = 'other syscalls'
    elif re.search(r'asm_|irq|softirq|hrtimer|apic', st): k = 'irq/timers/softirq'
    else: k = 'user space/other'
    c[k] += 1
print(json.dumps({'dir': d, 'samples': n, **{k: round(100 * v / n, 1) for k, v in sorted(c.items())}}))
