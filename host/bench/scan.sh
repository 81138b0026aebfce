#!/usr/bin/env bash
# How long `scopegate scan` takes over a generated tree (100 MB by default): the figure SPEC §12
# and issue 20 hold under 10 s. Builds the release binary, issues a few real tokens into a
# scratch store, writes text files with those tokens and lookalikes in them, and times one scan.
#
#   bash host/bench/scan.sh            # 100 MB
#   SIZE_MB=500 bash host/bench/scan.sh
#
# Environment: SIZE_MB (tree size), JOBS (cargo -j, default 1), LIMIT_S (fail above, default 10),
# CARGO_TARGET_DIR (where the build is).
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mb=${SIZE_MB:-100}
limit_s=${LIMIT_S:-10}
cargo build --release -p scopegate-host -j "${JOBS:-1}" >&2
bin=${CARGO_TARGET_DIR:-target}/release/scopegate
policy=www/pkg/scopegate_policy_bg.wasm
[ -f "$policy" ] || { echo "no $policy: run cargo xtask wasm" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/store.db
sg() { "$bin" --db "$db" --policy "$policy" "$@"; }

sg workspace put acme --plan premium --allow-no-expiry >/dev/null
sg project put acme P >/dev/null
sg repository put acme api --project P >/dev/null
tokens=$work/tokens
for i in 1 2 3 4 5; do
  sg --json token create acme --repository api --name "bench $i" --scope repository \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' >>"$tokens"
done

# 1 MB files of text in 10 directories; each token in one file, a lookalike (last character
# changed) in another.
python3 - "$work/tree" "$size_mb" "$tokens" <<'EOF'
import os, random, sys
root, size_mb, tokens = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read().split()
rng = random.Random(20)
words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz_') for _ in range(rng.randint(2, 11)))
         for _ in range(5000)]
lines = [' '.join(rng.choice(words) for _ in range(rng.randint(3, 14))) + '\n' for _ in range(20000)]
block = ''.join(lines).encode()
for i in range(size_mb):
    d = os.path.join(root, f'dir{i % 10}')
    os.makedirs(d, exist_ok=True)
    start = rng.randrange(len(block) - (1 << 20))
    data = bytearray(block[start:start + (1 << 20)])
    if i < len(tokens):
        data[5000:5000] = f'\nTOKEN={tokens[i]}\n'.encode()
    elif i < 2 * len(tokens):
        t = tokens[i - len(tokens)]
        data[5000:5000] = f'\nTOKEN={t[:-1]}{"A" if t[-1] != "A" else "B"}\n'.encode()
    with open(os.path.join(d, f'file{i}.txt'), 'wb') as f:
        f.write(data)
EOF
bytes=$(du -sb "$work/tree" | cut -f1)
files=$(find "$work/tree" -type f | wc -l)
# Cold or warm page cache alike: read once so that the figure is the scan's, not the disk's.
cat "$work"/tree/*/* >/dev/null

start=$(date +%s.%N)
status=0
sg scan "$work/tree" >"$work/found" || status=$?
end=$(date +%s.%N)

found=$(wc -l <"$work/found")
seconds=$(python3 -c "print(f'{$end - $start:.2f}')")
mb_s=$(python3 -c "print(f'{$bytes / 1e6 / ($end - $start):.0f}')")
echo "scopegate scan: $((bytes / 1000000)) MB in $files files, $seconds s ($mb_s MB/s), $found findings, exit $status"
[ "$status" = 1 ] || { echo "expected exit 1 (findings), got $status" >&2; exit 1; }
[ "$found" = 5 ] || { echo "expected 5 findings, got $found" >&2; cat "$work/found" >&2; exit 1; }
python3 -c "import sys; sys.exit(0 if $end - $start < $limit_s else 1)" \
  || { echo "slower than $limit_s s" >&2; exit 1; }
