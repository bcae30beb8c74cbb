#!/usr/bin/env python3
# Where the broker's core goes per large message: one broker on CPU 0, amqp-blast (the split copy
# that bench/large-compare.sh builds) on CPU 1, and /proc/stat of both CPUs over the middle of
# the run. Prints one JSON line per run: delivered msg/s, CPU 0's user / system / softirq / idle
# time per message (us), and CPU 1's split (the load generator's share of it, and what else ran
# there). With --perf CPU 0 is sampled with `perf record -a -C 0 -g` over the same window (a
# warren broker runs with V8's jitdump) (then `perf inject --jit`; see bench/h-perf-report.py).
# Run it inside a hold of the lock:
#
#   WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock nice -n -19 \
#     bench/large-cpu.py TARGET SIZE [--secs 8] [--perf OUT-DIR] [--blast-args '...']
#
# TARGET: a warren checkout (its dist/src/main.js is started), or rabbit:PORT (a running node,
# pinned to CPU 0 for the run).
import json, os, subprocess, sys, time

args = sys.argv[1:]
def opt(name, default=None):
    if name in args:
        i = args.index(name); v = args[i + 1]; del args[i:i + 2]; return v
    return default
secs = float(opt('--secs', '8'))
perf_dir = opt('--perf')
blast_extra = opt('--blast-args', '').split()
target, size = args[0], int(args[1])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
blast = os.environ.get('LARGE_BLAST_BIN', os.path.join(root, 'bench/results/tmp/shared-bench/amqp-blast-split'))

def cpu_ticks():
    out = {}
    for line in open('/proc/stat'):
        f = line.split()
        if f[0] in ('cpu0', 'cpu1'):
            v = list(map(int, f[1:]))
            out[f[0]] = {'user': v[0], 'nice': v[1], 'system': v[2], 'idle': v[3] + v[4], 'softirq': v[5] + v[6], 'steal': v[7]}
    return out

def proc_ticks(pid):
    try:
        f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return 0

def listen_port(pid):
    for _ in range(100):
        out = subprocess.run(['ss', '-ltnpH'], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if f'pid={pid},' in line:
                return int(line.split()[3].rsplit(':', 1)[1])
        time.sleep(0.1)
    raise SystemExit('broker did not listen')

broker = None; rabbit_saved = None
if target.startswith('rabbit:'):
    port = int(target.split(':')[1])
    out = subprocess.run(['ss', '-ltnpH', f'sport = :{port}'], capture_output=True, text=True).stdout
    pid = int(out.split('pid=')[1].split(',')[0])
    rabbit_saved = subprocess.run(['taskset', '-p', str(pid)], capture_output=True, text=True).stdout.split()[-1]
    subprocess.run(['taskset', '-a', '-cp', '0', str(pid)], capture_output=True)
    name = 'rabbit'
else:
    node = ['node']
    cwd = None
    if perf_dir:
        os.makedirs(perf_dir, exist_ok=True); perf_dir = os.path.abspath(perf_dir); cwd = perf_dir
        node += ['--perf-prof', '--interpreted-frames-native-stack']
    broker = subprocess.Popen(['taskset', '-c', '0'] + node + [os.path.join(target, 'dist/src/main.js'), 'start', '--host', '127.0.0.1', '--port', '0',
                               '--http-port', 'off', '--data-dir', 'none', '--log-level', 'warn'], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = broker.pid
    port = listen_port(pid)
    name = os.path.basename(target.rstrip('/'))

warm = 2.0
cl = subprocess.Popen(['taskset', '-c', '1', blast, '-P', str(port), '-s', str(size), '-t', str(int(secs + 2)), '-w', str(int(warm))] + blast_extra,
                      stdout=subprocess.PIPE, text=True)
time.sleep(warm + 0.5)
rec = None
if perf_dir:
    # All of CPU 0 (softirq work on the broker's core is not always charged to its threads).
    os.makedirs(perf_dir, exist_ok=True); perf_dir = os.path.abspath(perf_dir)
    rec = subprocess.Popen(['taskset', '-c', '1', 'perf', 'record', '-k', 'CLOCK_MONOTONIC', '-F', '1999', '-g', '-a', '-C', '0', '-o', f'{perf_dir}/perf.data'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
t0 = time.monotonic(); c0 = cpu_ticks(); p0 = proc_ticks(pid); k0 = proc_ticks(cl.pid)
time.sleep(secs)
t1 = time.monotonic(); c1 = cpu_ticks(); p1 = proc_ticks(pid); k1 = proc_ticks(cl.pid)
if rec:
    rec.send_signal(2); rec.wait()
out = cl.communicate()[0].strip().splitlines()[-1]
r = json.loads(out)
rate = r['consumed_per_s']
if broker:
    broker.terminate(); broker.wait()
if rabbit_saved:
    subprocess.run(['taskset', '-a', '-p', rabbit_saved, str(pid)], capture_output=True)
tick_us = 1e6 / os.sysconf('SC_CLK_TCK')
msgs = rate * (t1 - t0)
d0 = {k: c1['cpu0'][k] - c0['cpu0'][k] for k in c0['cpu0']}
d1 = {k: c1['cpu1'][k] - c0['cpu1'][k] for k in c0['cpu1']}
per = lambda t: round(t * tick_us / msgs, 1) if msgs else None
res = {'broker': name, 'size': size, 'secs': round(t1 - t0, 2), 'msg_s': rate, 'mib_s': round(rate * size / 1048576, 1), 'published_s': r.get('published_per_s'),
       'cpu0_ticks': d0, 'cpu0_us_per_msg': {'user': per(d0['user']), 'kernel': per(d0['system'] + d0['softirq']), 'system': per(d0['system']),
       'softirq': per(d0['softirq']), 'idle': per(d0['idle'])}, 'broker_cpu_pct': round((p1 - p0) * tick_us / 1e4 / (t1 - t0), 1),
       'client_cpu_pct': round((k1 - k0) * tick_us / 1e4 / (t1 - t0), 1), 'cpu1_ticks': d1, 'load': open('/proc/loadavg').read().split()[0],
       'utc': time.strftime('%H:%M:%S', time.gmtime())}
if perf_dir:
    subprocess.run(['perf', 'inject', '--jit', '-i', f'{perf_dir}/perf.data', '-o', f'{perf_dir}/perf.jit.data'], capture_output=True)
    json.dump({'pid': str(pid), 'run': f'{t0:.3f},{t1:.3f}'}, open(f'{perf_dir}/times.json', 'w'))
print(json.dumps(res), flush=True)
