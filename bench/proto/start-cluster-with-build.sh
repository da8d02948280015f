#!/usr/bin/env bash
# Starts a throwaway cluster (test/lib/cluster.js, kept) whose postmaster sees
# BUILD/codesight.so and BUILD/codesight--1.0.sql instead of the installed ones
# (private mount namespace); prints {port, pgPort, dir, pid}.  Needs /tmp/bstart.js:
#   const {startCluster}=require("/work/main/test/lib/cluster.js");
#   startCluster().then(async c=>{console.log(JSON.stringify({port:c.port,pgPort:c.pgPort,dir:c.dir,pid:await c.workerPid()}));process.exit(0)})
# $1 = build dir; prints cluster JSON
B=$1
unshare -m --propagation private bash -c "mount --bind $B/codesight.so /usr/lib/postgresql/15/lib/codesight.so && mount --bind $B/codesight--1.0.sql /usr/share/postgresql/15/extension/codesight--1.0.sql && cd /work/main && KEEP_CLUSTER=1 node /tmp/bstart.js"
