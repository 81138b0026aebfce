#!/usr/bin/env bash
# Instructions per decision, counted by callgrind: natively, through the built module in wasmtime,
# and through the host's own runtime (pooling allocator, memory cap, epoch deadline, which adds
# a check to every call and loop turn in the module); then per whole check of the host, with a
# repository token and with a project token. Each is the difference between runs of 2,000 and
# 12,000, so start-up cancels out. Unlike times on a shared machine, these counts repeat.
# Valgrind hides SHA-NI, so a check's SHA-256 is counted in software (about 3,500 instructions).
# Needs valgrind and the module (`cargo xtask wasm`).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --quiet --release -p scopegate-tests --example decision_loop
cargo build --quiet --release -p scopegate-host --example check_loop
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 \
    | awk '/refs:/ { gsub(",", "", $4); print $4 }'
}
per_call() {
  local low high
  low=$(count "$@" 2000)
  high=$(count "$@" 12000)
  echo $(( (high - low) / 10000 ))
}
native=$(per_call target/release/examples/decision_loop native)
wasm=$(per_call target/release/examples/decision_loop wasm)
host=$(per_call target/release/examples/check_loop module)
read=$(per_call target/release/examples/check_loop read)
gate_native=$(per_call target/release/examples/decision_loop check-native)
gate_wasm=$(per_call target/release/examples/decision_loop check-wasm)
check=$(per_call target/release/examples/check_loop check)
project=$(per_call target/release/examples/check_loop project)
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "instructions per decision: native $native, wasmtime $wasm ($(ratio "$wasm" "$native")x native), host runtime with its deadline $host ($(ratio "$host" "$native")x native)"
echo "instructions per check's first module call, answered at once (a malformed token): $read"
echo "instructions per check's two calls (module part only): native $gate_native, wasmtime $gate_wasm ($(ratio "$gate_wasm" "$gate_native")x native)"
echo "instructions per whole check through the host (memo off): repository token $check, project token $project"
