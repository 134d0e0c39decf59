#!/bin/bash
# usage: pinned.sh jar out [extra args]: the probe's JVM on CPU 0, its redis-server moved to CPU 1 once started
jar=$1; out=$2; shift 2
taskset -c 0 java -Xss256k -Xmx6g -cp $jar io.pivotpool.benchmarks.FleetScaleProbe --backend=redis --sizes=1000 --sync-ms=2000 --leader-ttl-ms=10000 --rebalance-ms=10000 --warmup-s=25 --measure-s=30 "$@" > $out 2>&1 &
JPID=$!
for i in $(seq 1 100); do
  R=$(pgrep -P $JPID redis-server || pgrep -x redis-server)
  if [ -n "$R" ]; then taskset -p -c 1 $R >/dev/null; echo "redis $R pinned to cpu 1" >> $out.pin; break; fi
  sleep 0.2
done
wait $JPID
