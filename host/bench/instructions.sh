#!/usr/bin/env bash
# Instructions per check and per module call through the host's runtime (pooling allocator,
# memory cap, epoch deadline), counted by callgrind: the difference between runs of 2,000 and
# 12,000, so start-up cancels out. Unlike times on a shared machine, these counts repeat.
# Valgrind hides SHA-NI, so a check's SHA-256 is counted in software (about 3,500 of them).
# Needs valgrind and the module (`cargo xtask wasm`).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --quiet --release -p scopegate-host --example check_loop
loop=target/release/examples/check_loop
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$loop" "$1" "$2" 2>&1 \
    | awk '/refs:/ { gsub(",", "", $4); print $4 }'
}
per_call() {
  local low high
  low=$(count "$1" 2000)
  high=$(count "$1" 12000)
  echo $(( (high - low) / 10000 ))
}
echo "instructions: module call $(per_call module), whole check $(per_call check)"
