#!/bin/sh
# Compiles the C test programs of ckpt-native into $1 (called by the build, phase generate-test-resources).
set -eu
out="$1"
mkdir -p "$out"
here="$(dirname "$0")"
command -v gcc >/dev/null 2>&1 || { echo "ckpt-native tests need gcc to compile their test programs; run ./scripts/test, which installs it" >&2; exit 1; }
for src in "$here"/*.c; do
  name="$(basename "$src" .c)"
  flags="-O2 -g -Wall"
  case "$name" in fpavx) flags="$flags -mavx2 -mfma" ;; mtvector) flags="$flags -pthread" ;; esac
  if [ ! -f "$out/$name" ] || [ "$src" -nt "$out/$name" ]; then
    gcc $flags -o "$out/$name" "$src" -lm
  fi
done
