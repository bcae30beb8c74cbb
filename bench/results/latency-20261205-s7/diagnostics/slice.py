#!/usr/bin/python3
# sched_setattr a custom EEVDF slice (SCHED_OTHER, keeping the nice value) on every thread of PID but the first
import ctypes, os, struct, sys
pid = int(sys.argv[1]); slice_ns = int(sys.argv[2]); which = sys.argv[3] if len(sys.argv) > 3 else 'helpers'
libc = ctypes.CDLL(None, use_errno=True)
SYS_sched_setattr = 314
for tid in sorted(int(t) for t in os.listdir(f'/proc/{pid}/task')):
    if which == 'helpers' and tid == pid: continue
    if which == 'main' and tid != pid: continue
    nice = os.getpriority(os.PRIO_PROCESS, tid)
    attr = struct.pack('IIQiIQQQ', 48, 0, 0, nice, 0, slice_ns, 0, 0)
    buf = ctypes.create_string_buffer(attr)
    r = libc.syscall(SYS_sched_setattr, tid, buf, 0)
    if r != 0: print('tid', tid, 'errno', ctypes.get_errno(), file=sys.stderr)
