#!/usr/bin/env bash
# Checkpoint and restore of a 1 GiB image to S3Proxy 4.1.0 on 127.0.0.1, against the raw AWS SDK
# moving the same bytes in the same run.
# Usage: benchmarks/s3.sh [iterations, default 5] [engine parallelism, 0 = default] [mixed,random]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-5}
mvn -B -q -ntp -Dquick -DskipTests -Dstyle.color=never -pl benchmarks -am package
mvn -B -q -ntp -Dstyle.color=never dependency:copy -Dartifact=org.gaul:s3proxy:4.1.0:jar:jar-with-dependencies \
  -DoutputDirectory=benchmarks/target/s3proxy -Dmdep.stripVersion=true
work=$(mktemp -d /dev/shm/ckpt-s3bench-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/data"
sed -e "s/@PORT@/$port/" -e "s#@DATA_DIR@#$work/data#" > "$work/s3proxy.properties" <<PROPS
s3proxy.endpoint=http://127.0.0.1:@PORT@
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=testkey
s3proxy.credential=testsecret
jclouds.provider=filesystem
jclouds.filesystem.basedir=@DATA_DIR@
s3proxy.ignore-unknown-headers=true
PROPS
java -Xmx2g -jar benchmarks/target/s3proxy/s3proxy-jar-with-dependencies.jar --properties "$work/s3proxy.properties" \
  > "$work/s3proxy.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.2
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, Linux $(uname -r), $(java -version 2>&1 | head -1)"
echo "S3Proxy 4.1.0 (filesystem provider on tmpfs $work), $iterations iterations, medians:"
S3_SERVER_PID=$server java -Xmx2g -cp benchmarks/target/benchmarks.jar dev.ckpt.benchmarks.S3Transfer "http://127.0.0.1:$port" bench "$iterations" "${@:2}"
