#!/usr/bin/env python3
# Where a backlog's memory goes, over time: (h)'s shape (confirm-blast's backlog mode, N x 1 KiB
# persistent, window 100, then drained with prefetch 100) against one warren from CHECKOUT's dist
# (broker on CPU 0, launched as `warren start` launches it, confirm-blast on CPU 1). Writes, for
# bench/h-memory-report.py: TAG.json (confirm-blast's result and the run's start and end),
# TAG.gc (the broker's --trace-gc, or what NODEFLAGS asks for, e.g. --trace-gc-nvp), TAG.mu
# (process.memoryUsage() and V8's spaces every 50 ms, bench/h-memory-sampler.cjs) and TAG.sm
# (/proc/PID/smaps every 100 ms: rss, file-backed, [heap], other anonymous, MiB). With TRIM=1,
# after the drain it calls glibc's malloc_trim(0) in the broker (gdb) and prints [heap] before
# and after. Run it inside a hold of the measurement lock:
#   WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock nice -n -19 \
#     bench/h-memory.py /work/wt/<checkout> 200000 bench/results/tmp/run1
# usage: h-memory.py CHECKOUT N TAG [extra confirm-blast args]
import os, sys, subprocess, time, tempfile, json, threading, shutil, re
here=os.path.dirname(os.path.abspath(__file__))
blast=os.environ.get('CONFIRM_BLAST',blast)
co=sys.argv[1]; n=int(sys.argv[2]); tag=sys.argv[3]; extra=sys.argv[4:]
flags=os.environ.get('NODEFLAGS','').split()
d=tempfile.mkdtemp(prefix='hdata-')
env=dict(os.environ, MALLOC_MMAP_THRESHOLD_='4194304', MEMSAMP_OUT=f'{tag}.mu')
p=subprocess.Popen(['taskset','-c','0','node','--max-semi-space-size=4','--initial-old-space-size=32','--trace-gc','--require',f'{here}/h-memory-sampler.cjs']+flags+[f'{co}/dist/src/main.js','start','--host','127.0.0.1','--port','0','--http-port','off','--data-dir',d,'--log-level','warn'],env=env,stdout=open(f'{tag}.gc','w'),stderr=subprocess.STDOUT)
port=None
for _ in range(200):
    out=subprocess.run(['ss','-ltnpH'],capture_output=True,text=True).stdout
    for l in out.splitlines():
        if f'pid={p.pid},' in l: port=l.split()[3].rsplit(':',1)[1]
    if port: break
    time.sleep(0.1)
stop=False
def smaps():
    f=open(f'{tag}.sm','w')
    while not stop:
        try: txt=open(f'/proc/{p.pid}/smaps').read()
        except Exception: break
        file=heap=anon=0; cur=None
        for l in txt.splitlines():
            if re.match(r'^[0-9a-f]+-[0-9a-f]+ ',l):
                parts=l.split()
                cur='heap' if l.endswith('[heap]') else ('file' if len(parts)>=6 and parts[5].startswith('/') else 'anon')
            elif l.startswith('Rss:'):
                kb=int(l.split()[1])
                if cur=='heap': heap+=kb
                elif cur=='file': file+=kb
                else: anon+=kb
        f.write(f"{time.time():.3f} {(file+heap+anon)/1024:.1f} {file/1024:.1f} {heap/1024:.1f} {anon/1024:.1f}\n"); f.flush()
        time.sleep(0.1)
th=threading.Thread(target=smaps); th.start()
t0=time.time()
out=subprocess.run(['taskset','-c','1',blast,'-P',port,'-b',str(p.pid),'-m','backlog','-n',str(n),'-s','1024','-c','100','-q','100','-d','120']+extra,capture_output=True,text=True).stdout
t1=time.time()
stop=True; th.join()
r=json.loads(out.strip().splitlines()[-1])
json.dump({'t0':t0,'t1':t1,'r':r},open(f'{tag}.json','w'))
print(f"{tag}: publish {r['publish_rate']:.0f}/s drain {r['drain_rate']:.0f}/s peak {r['broker_rss_kb']['peak']/1024:.1f} MiB publish_s {r['publish_s']:.2f}")
def heaprss():
    txt=open(f'/proc/{p.pid}/smaps').read(); h=a=0; cur=None
    for l in txt.splitlines():
        if re.match(r'^[0-9a-f]+-[0-9a-f]+ ',l):
            parts=l.split(); cur='heap' if l.endswith('[heap]') else ('file' if len(parts)>=6 and parts[5].startswith('/') else 'anon')
        elif l.startswith('Rss:') and cur!='file':
            if cur=='heap': h+=int(l.split()[1])
            else: a+=int(l.split()[1])
    return h/1024,a/1024
if os.environ.get('TRIM'):
    b=heaprss()
    subprocess.run(['gdb','-p',str(p.pid),'-batch','-ex','call (void)malloc_stats()','-ex','call (int)malloc_trim(0)','-ex','call (void)malloc_stats()'],capture_output=True)
    a=heaprss()
    print(f"  after the drain: [heap] {b[0]:.1f} anon {b[1]:.1f} MiB; after malloc_trim(0): [heap] {a[0]:.1f} anon {a[1]:.1f}")
p.terminate(); p.wait(); shutil.rmtree(d)
