#!/usr/bin/env bash
# Instructions per decision, natively and through the built module in wasmtime, counted by
# callgrind: the difference between runs of 2,000 and 12,000 decisions, so loading and
# compiling the module cancel out. Unlike times on a shared machine, these counts repeat.
# Needs valgrind and the module (`cargo xtask wasm`).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --quiet --release -p scopegate-tests --example decision_loop
loop=target/release/examples/decision_loop
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$loop" "$1" "$2" 2>&1 \
    | awk '/refs:/ { gsub(",", "", $4); print $4 }'
}
per_decision() {
  local low high
  low=$(count "$1" 2000)
  high=$(count "$1" 12000)
  echo $(( (high - low) / 10000 ))
}
native=$(per_decision native)
wasm=$(per_decision wasm)
echo "instructions per decision: native $native, wasmtime $wasm ($(awk "BEGIN { printf \"%.2f\", $wasm / $native }")x native)"
