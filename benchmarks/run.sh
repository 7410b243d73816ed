#!/usr/bin/env bash
# Runs the ckpt benchmarks and prints the figures with their same-run baselines as ratios.
# Usage: benchmarks/run.sh [extra JMH args]    (about 7 minutes on 2 cores; needs gcc)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -ntp -Dquick -DskipTests -Dstyle.color=never -pl benchmarks -am package
out=$(mktemp -d)
java -jar benchmarks/target/benchmarks.jar AppStateBenchmark -rf json -rff "$out/app.json" "$@" > "$out/app.txt"
java -cp benchmarks/target/benchmarks.jar dev.ckpt.benchmarks.IncrementalDump > "$out/incremental.txt"
gcc -O2 -o "$out/membench" benchmarks/src/main/c/membench.c
java -cp benchmarks/target/benchmarks.jar dev.ckpt.benchmarks.NativeDump "$out/membench" 5 > "$out/native.txt"
java -cp benchmarks/target/benchmarks.jar dev.ckpt.benchmarks.RestoreVerifyCost "$out/membench" 7 > "$out/verify.txt"
java -cp benchmarks/target/benchmarks.jar dev.ckpt.benchmarks.NativeIncremental "$out/membench" 5 > "$out/tracked.txt"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, Linux $(uname -r), $(java -version 2>&1 | head -1)"
python3 - "$out/app.json" <<'PY'
import json, statistics, sys
rows = {}
for b in json.load(open(sys.argv[1])):
    name = b['benchmark'].rsplit('.', 1)[1]
    raw = [x for fork in b['primaryMetric']['rawData'] for x in fork]
    rows[(name, b['params']['compression'])] = statistics.median(raw)
GIB = 1 << 30
print("| benchmark | compression | median ms/op | GB/s | baseline | ratio |")
print("|---|---|---|---|---|---|")
for comp in ("LZ4", "NONE"):
    for name, base in (("dump", "baselineFileChannelWrite"), ("restore", "baselineFileChannelRead"),
                       ("dump", "baselineLz4Compress"), ("restore", "baselineLz4Decompress")):
        ms, bms = rows[(name, comp)], rows[(base, comp)]
        print(f"| {name} | {comp} | {ms:.0f} | {GIB / ms / 1e6:.2f} | {base} {bms:.0f} ms ({GIB / bms / 1e6:.2f} GB/s) | {bms / ms:.2f}x |")
PY
cat "$out/incremental.txt"
echo
echo "native process, 1 GiB mapped, 512 MiB resident:"
echo "| what | median | rate | vs process_vm_readv |"
echo "|---|---|---|---|"
cat "$out/native.txt"
echo
echo "second checkpoint of membench churn, 1 s after the first (1% of its resident pages rewritten):"
echo "| what | tracked | hashed (baseline) | tracked / hashed |"
echo "|---|---|---|---|"
cat "$out/tracked.txt"
echo
echo "restore self-check (membench):"
echo "| what | median |"
echo "|---|---|"
cat "$out/verify.txt"
echo "raw JMH output: $out"
