#!/usr/bin/env bash
# Dump and restore time per thread (a process with 1,000 threads) and per process (a tree of 50),
# against CRIU when CRIU=/path/to/criu (4.2, built from source, run as root).
# Usage: [CRIU=/path/to/criu] benchmarks/scale.sh [threads] [processes] [iterations]   (root; about 2 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -Dquick -DskipTests -Dstyle.color=never -pl benchmarks -am package
out=$(mktemp -d)
gcc -O2 -o "$out/manythreads" ckpt-native/src/test/c/manythreads.c
gcc -O2 -o "$out/manyprocs" ckpt-native/src/test/c/manyprocs.c
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, Linux $(uname -r), $(java -version 2>&1 | head -1)${CRIU:+, $("$CRIU" --version | head -1)}"
echo "| program | what | median | per task |"
echo "|---|---|---|---|"
java -cp benchmarks/target/benchmarks.jar dev.ckpt.benchmarks.NativeScale "$out/manythreads" "$out/manyprocs" "$@"
rm -rf "$out"
