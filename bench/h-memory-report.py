#!/usr/bin/env python3
# bench/h-memory.py's runs, one JSON line each: rates, each phase's peak RSS, and at the end of
# publishing and at the drain's highest smaps reading: file-backed, [heap] (glibc's main heap)
# and other anonymous memory from smaps, V8's old and new space, external and arrayBuffers from
# the sampler (MiB); scavenges and mark-compacts of the main thread in each phase; and, when the
# run had --trace-gc-nvp, the bytes V8 promoted to the old generation in each phase.
# usage: h-memory-report.py TAG...
import sys, json, re
M=1048576
for tag in sys.argv[1:]:
    j=json.load(open(f'{tag}.json')); r=j['r']
    mu=[x for x in (list(map(float,l.split())) for l in open(f"{tag}.mu")) if len(x)==9]
    sm=[list(map(float,l.split())) for l in open(f'{tag}.sm')]
    t0=mu[0][0]-0.05
    iso=None; gcs=[]
    for l in open(f'{tag}.gc'):
        m=re.match(r'\[(\d+):(0x[0-9a-f]+)\]\s+(\d+) ms: (Scavenge|Mark-Compact|.*gc=(\w+))',l)
        if not m: continue
        if iso is None: iso=m.group(2)
        if m.group(2)!=iso: continue
        kind=m.group(4) if m.group(5) is None else ('Mark-Compact' if m.group(5)=='mc' else 'Scavenge' if m.group(5)=='s' else m.group(5))
        gcs.append((t0+int(m.group(3))/1000, kind))
    tp=j['t0']+0.05+r['publish_s']
    pub=[s for s in sm if s[0]<=tp]; dr=[s for s in sm if s[0]>tp]
    def at(s):
        u=min(mu,key=lambda x:abs(x[0]-s[0]))
        return {'t_s':round(s[0]-j['t0'],2),'rss':s[1],'file':s[2],'heap':s[3],'anon':s[4],'v8_old':round(u[6]/M,1),'v8_young':round(u[7]/M,1),'external':round(u[4]/M,1),'arrayBuffers':round(u[5]/M,1)}
    def gc(a,b):
        g=[x for x in gcs if a<=x[0]<b]
        return {'scavenges':sum(1 for x in g if x[1]=='Scavenge'),'mark_compacts':sum(1 for x in g if x[1]=='Mark-Compact')}
    out={'run':tag,'n':r['count'],'utc_end':__import__('time').strftime('%H:%M:%S',__import__('time').gmtime(j['t1'])),'publish_per_s':r['publish_rate'],'drain_per_s':r['drain_rate'],
         'peak_publish_mib':round(r['broker_rss_kb']['publish_peak']/1024,1),'peak_drain_mib':round(r['broker_rss_kb']['drain_peak']/1024,1),
         'at_publish_end':at(pub[-1]),'at_drain_peak':at(max(dr,key=lambda s:s[1])),'gc_publish':gc(j['t0'],tp),'gc_drain':gc(tp,j['t1'])}
    promoted={'publish':0,'drain':0}; nvp=False
    for l in open(f'{tag}.gc'):
        m=re.match(r'\[(\d+):(0x[0-9a-f]+)\]\s+(\d+) ms: .*gc=\w+.* promoted=(\d+)',l)
        if not m or m.group(2)!=iso: continue
        nvp=True
        promoted['publish' if t0+int(m.group(3))/1000<tp else 'drain']+=int(m.group(4))
    if nvp:
        out['promoted_publish_b_per_msg']=round(promoted['publish']/r['count']); out['promoted_drain_b_per_msg']=round(promoted['drain']/r['count'])
    print(json.dumps(out))
