#!/usr/bin/env python3
# bench/large-cpu.py runs, interleaved, of warren with and without a fixed receive buffer on its
# listener (bench/large-rcvbuf-shim.c through LD_PRELOAD), of other checkouts, or of RabbitMQ,
# each with `ss -tmi` of the broker's socket from the publisher sampled 4 s and 7 s into the run:
# segments received and sent between the samples (ACKs per segment), receive buffer, queue.
# One JSON line per run on stdout (large-cpu.py's, with "conf" and "ss"); a summary on stderr.
# Run it inside a hold of the lock:
#
#   WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock nice -n -19 \
#     bench/large-rcvbuf.py SIZES CONFS [SECS]
#
# SIZES: body sizes, comma-separated. CONFS, comma-separated, run in this order for each size:
# "none" (CHECKOUT as it is), a byte count (CHECKOUT with SO_RCVBUFFORCE of that many bytes on its
# listener), "rabbit" (the node on port 5694), or an absolute path (that checkout as it is).
# CHECKOUT defaults to this repository; PERF_DIR=DIR adds large-cpu.py's --perf DIR/SIZE-CONF.
import json, os, re, subprocess, sys, time
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shim = os.path.join(root, 'bench/results/tmp/large-rcvbuf-shim.so')
if not os.path.exists(shim):
    os.makedirs(os.path.dirname(shim), exist_ok=True)
    subprocess.run(['cc', '-O2', '-shared', '-fPIC', '-o', shim, os.path.join(root, 'bench/large-rcvbuf-shim.c'), '-ldl'], check=True)
sizes = [int(s) for s in sys.argv[1].split(',')]
confs = sys.argv[2].split(',')   # 'none', 'rabbit', or a byte count for SO_RCVBUFFORCE
secs = sys.argv[3] if len(sys.argv) > 3 else '6'
checkout = os.environ.get('CHECKOUT', root)
perf = os.environ.get('PERF_DIR')
def ss():
    out = subprocess.run(['ss', '-tmiHn', 'state', 'established'], capture_output=True, text=True).stdout
    lines = out.splitlines(); socks = []
    for i in range(0, len(lines) - 1):
        if re.match(r'^\s', lines[i]): continue
        info = lines[i + 1] if i + 1 < len(lines) and re.match(r'^\s', lines[i + 1]) else ''
        f = lines[i].split()
        d = {'local': f[2], 'peer': f[3], 'recvq': int(f[0])}
        for k in ('bytes_received', 'segs_in', 'segs_out', 'rcv_space', 'rcv_ssthresh'):
            m = re.search(rf'\b{k}:(\d+)', info); d[k] = int(m.group(1)) if m else 0
        m = re.search(r'rcv_rtt:([\d.]+)', info); d['rcv_rtt'] = float(m.group(1)) if m else None
        m = re.search(r'rb(\d+)', info); d['rb'] = int(m.group(1)) if m else 0
        socks.append(d)
    return {(s['local'], s['peer']): s for s in socks}
for size in sizes:
    for c in confs:
        env = dict(os.environ)
        if c not in ('none', 'rabbit') and not c.startswith('/'):
            env['LD_PRELOAD'] = shim; env['RCVBUF_SHIM'] = c
        target = 'rabbit:5694' if c == 'rabbit' else c if c.startswith('/') else checkout
        p = subprocess.Popen([os.path.join(root, 'bench/large-cpu.py'), target, str(size), '--secs', secs] + (['--perf', f'{perf}/{size}-{os.path.basename(c)}'] if perf else []), env=env, stdout=subprocess.PIPE, text=True, cwd=root)
        time.sleep(4.0); a = ss(); time.sleep(3.0); b = ss()
        best = None
        locals_ = [k[0] for k in b]
        served = {l for l in locals_ if locals_.count(l) >= 2}   # the broker's side: two connections share its address
        for k, s in b.items():
            if k in a and k[0] in served:
                dr = s['bytes_received'] - a[k]['bytes_received']
                if best is None or dr > best[0]: best = (dr, k)
        line = p.communicate()[0].strip().splitlines()[-1]
        r = json.loads(line)
        if best:
            s1, s0 = b[best[1]], a[best[1]]
            din, dout = s1['segs_in'] - s0['segs_in'], s1['segs_out'] - s0['segs_out']
            r['ss'] = {'segs_in': din, 'segs_out': dout, 'segs_per_ack': round(din / dout, 1) if dout else None, 'rb': s1['rb'], 'recvq': s1['recvq'],
                       'rcv_space': s1['rcv_space'], 'rcv_rtt': s1['rcv_rtt'], 'rcv_ssthresh': s1['rcv_ssthresh']}
        r['conf'] = c
        u = r['cpu0_us_per_msg']
        print(json.dumps(r), flush=True)
        print(f"# {size} {c}: {r['msg_s']} msg/s user {u['user']} kernel {u['kernel']} softirq {u['softirq']} idle {u['idle']} ss {r.get('ss')}", file=sys.stderr, flush=True)
