#!/usr/bin/env bash
# --precision through the real binary, where only a separate process can change what the CPU
# appears to have (STP_NO_BF16 is read once at start):
#   - with STP_NO_BF16=1, --precision auto says in its first line that it falls back to fp32 and
#     evaluates bit for bit as --precision fp32 does (the float32 path, unchanged);
#   - with STP_NO_BF16=1, --precision bf16 is refused naming the reason, exit 1;
#   - on a CPU with AVX512-BF16, --precision bf16 evaluates the same run to within 2 points of
#     top-1 and 1% of the loss on the built-in data (the kernels' own checks are in Tests/STPEngineTests/BF16Tests).
#
#   scripts/precision_test.sh [STP_BINARY]     (default: $STP_BIN, else .build/debug/stp)
#
# Exits 0 when every check holds, 1 on a failed one, 77 when the binary is missing (skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-${STP_BIN:-.build/debug/stp}}"
if [ ! -x "$bin" ]; then echo "precision_test: skipped: no stp binary at $bin (build first)" >&2; exit 77; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "precision_test: FAIL: $*" >&2; exit 1; }

data="builtin:seed=4,train=256,test=128"
"$bin" train --data "$data" --epochs 1 --batch 64 --run "$work/run" >/dev/null 2>"$work/train.log" \
    || { cat "$work/train.log" >&2; fail "stp train"; }

"$bin" eval "$work/run" --precision fp32 --json >"$work/fp32.json" 2>/dev/null || fail "eval --precision fp32"
STP_NO_BF16=1 "$bin" eval "$work/run" --precision auto --json >"$work/auto.json" 2>"$work/auto.log" \
    || fail "eval --precision auto with STP_NO_BF16"
head -n 1 "$work/auto.log" | grep -qx "precision: auto -> fp32 (STP_NO_BF16 is set)" \
    || fail "auto's first line: $(head -n 1 "$work/auto.log")"
cmp -s "$work/fp32.json" "$work/auto.json" || fail "auto without bf16 differs from fp32: $(cat "$work/fp32.json") / $(cat "$work/auto.json")"

status=0
STP_NO_BF16=1 "$bin" eval "$work/run" --precision bf16 >/dev/null 2>"$work/refused.log" || status=$?
[ "$status" -eq 1 ] || fail "--precision bf16 without bf16 exited $status"
grep -q "precision bf16: STP_NO_BF16 is set" "$work/refused.log" || fail "refusal: $(cat "$work/refused.log")"

if grep -qw avx512_bf16 /proc/cpuinfo && grep -qw avx512f /proc/cpuinfo; then
    "$bin" eval "$work/run" --precision bf16 --json >"$work/bf16.json" 2>/dev/null || fail "eval --precision bf16"
    python3 - "$work/fp32.json" "$work/bf16.json" <<'PY' || fail "bf16 differs from fp32 by more than 2 points of top-1 or 1% of the loss"
import json, sys
a, b = (json.load(open(p))["result"] for p in sys.argv[1:3])
print(f"precision_test: top-1 fp32 {a['top1']:.4f}, bf16 {b['top1']:.4f}; loss {a['loss']:.5f}, {b['loss']:.5f}", file=sys.stderr)
sys.exit(0 if abs(a["top1"] - b["top1"]) <= 0.02 and abs(a["loss"] - b["loss"]) <= 0.01 * a["loss"] else 1)
PY
else
    echo "precision_test: no AVX512-BF16 here: the bf16 evaluation is not run" >&2
fi
echo "precision_test: ok" >&2
