#!/usr/bin/env python3
import json, subprocess, time
# A/B of two builds: alternates loadgen v2 runs (50 connections, 8 s) against
# cluster A and cluster B (JSON from start-cluster-with-build.sh in /tmp/ab_A.json,
# /tmp/ab_B.json) and compares events per worker CPU-second pair by pair.
A=json.load(open('/tmp/ab_A.json')); B=json.load(open('/tmp/ab_B.json'))
def cpu(pid):
    f=open(f'/proc/{pid}/stat').read().split(') ')[1].split(' ')
    return (int(f[11])+int(f[12]))/100
def maps_check(c, needle):
    return any(needle in l for l in open(f"/proc/{c['pid']}/maps") if 'codesight.so' in l)
res={'A':[], 'B':[]}
for i in range(4):
    for name,c in (('A',A),('B',B)):
        c0=cpu(c['pid']); t0=time.time()
        out=subprocess.run(['/work/main/bench/loadgen/loadgen','--port',str(c['port']),'--mode','v2','--conns','50','--duration','8','--tag',f'ab{name}{i}'],capture_output=True,text=True).stdout
        r=json.loads(out.strip().splitlines()[-1]); c1=cpu(c['pid'])
        res[name].append({'ev_s':r['events_per_s'],'worker_cpu_s':round(c1-c0,2),'ev_per_worker_cpu_s':round(r['events_acked']/(c1-c0)),'p99':r['lat_p99_ms']})
        print(name, i, res[name][-1], flush=True)
json.dump(res, open('/tmp/ab_result.json','w'), indent=1)
for n in 'AB':
    v=sorted(x["ev_per_worker_cpu_s"] for x in res[n]); print(n,"median events per worker CPU-s", (v[1]+v[2])/2, v)
print('ratio B/A per pair', [round(b['ev_per_worker_cpu_s']/a['ev_per_worker_cpu_s'],3) for a,b in zip(res['A'],res['B'])])
