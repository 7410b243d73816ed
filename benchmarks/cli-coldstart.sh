#!/usr/bin/env bash
# The CLI's cold start: wall time of `ckpt dump PID --kill` and `ckpt restore --detach` as a user
# types them (a fresh JVM each), with and without the class-data-sharing archive the launcher
# builds (CKPT_CDS=0 is the baseline), alternating, on a small C program and on membench
# (1 GiB mapped, 512 MiB resident). Prints medians and ratios.
# Usage: benchmarks/cli-coldstart.sh [rounds]   (needs gcc; about 2 minutes with 7 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-7}"
./ckpt --version >/dev/null   # builds the jar and the archive if needed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/membench" benchmarks/src/main/c/membench.c
cat > "$work/small.c" <<'C'
#include <unistd.h>
int main(void) { for (;;) pause(); }
C
gcc -O2 -o "$work/small" "$work/small.c"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for prog in small membench; do
  for cds in 1 0; do : > "$work/$prog-$cds-dump"; : > "$work/$prog-$cds-restore"; done
  for ((i = 0; i < rounds; i++)); do
    for cds in 1 0; do
      store="$work/store-$prog-$cds-$i"
      setsid bash -c 'for f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done; exec "$0"' "$work/$prog" </dev/null >/dev/null 2>&1 &
      sleep 1.5
      pid=$(pgrep -n -f "$work/$prog")
      t=$(date +%s%N); CKPT_CDS=$cds ./ckpt dump "$pid" --store "$store" --name b --kill --quiet >/dev/null
      ms "$t" >> "$work/$prog-$cds-dump"
      t=$(date +%s%N); rpid=$(CKPT_CDS=$cds ./ckpt restore b --store "$store" --detach --quiet | tail -1)
      ms "$t" >> "$work/$prog-$cds-restore"
      kill -9 "$rpid" 2>/dev/null || true
      rm -rf "$store"
    done
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r), $(java -version 2>&1 | head -1), $(date -u +%F)"
echo "| program | command | with CDS (ms) | without (ms, baseline) | ratio |"
echo "|---|---|---|---|---|"
for prog in small membench; do
  for cmd in dump restore; do
    a=$(median < "$work/$prog-1-$cmd"); b=$(median < "$work/$prog-0-$cmd")
    echo "| $prog | $cmd | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}') |"
  done
done
