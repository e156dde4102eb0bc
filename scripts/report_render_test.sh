#!/usr/bin/env bash
# stp report in a real browser: a tiny stp prune run (built-in data, two methods, two budgets),
# `stp report` on its output, the page rendered by headless Chromium (Debian's package) into a
# PNG, and the PNG's pixels checked: the plots are there (each method's colour and the full
# network's black dot are drawn), not only the markup.
#
#   scripts/report_render_test.sh [STP_BINARY] [PNG]   (default: $STP_BIN, else .build/debug/stp;
#                                                        the PNG is kept when given)
#
# Installs chromium with apt-get when missing (as root). Exits 0 when the checks hold, 1 on a
# failed one, 77 when the binary or a browser is missing and cannot be installed (skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-${STP_BIN:-.build/debug/stp}}"
keep="${2:-}"
if [ ! -x "$bin" ]; then echo "report_render_test: skipped: no stp binary at $bin (build first)" >&2; exit 77; fi
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || true
    fi
    command -v chromium >/dev/null 2>&1 || { echo "report_render_test: skipped: no chromium" >&2; exit 77; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "report_render_test: FAIL: $*" >&2; exit 1; }

"$bin" prune --data builtin:seed=4,train=200,test=40 --method uniform,l1-filter --budget 50%,70% --epochs 1 --batch 40 \
    --fitness-images 40 --recalibration-images 40 --output "$work/prune" >/dev/null 2>"$work/prune.log" \
    || { tail -5 "$work/prune.log" >&2; fail "stp prune"; }
"$bin" report "$work/prune" --out "$work/report.html" 2>"$work/report.log" || { cat "$work/report.log" >&2; fail "stp report"; }
status=0
"$bin" report "$work/missing" 2>"$work/bad.log" || status=$?
[ "$status" -eq 1 ] && grep -q "no such file or directory" "$work/bad.log" || fail "a missing output: exit $status, $(cat "$work/bad.log")"

chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1400 \
    --screenshot="$work/report.png" "file://$work/report.html" >/dev/null 2>&1 || fail "chromium could not render the page"
[ -s "$work/report.png" ] || fail "chromium wrote no screenshot"
[ -n "$keep" ] && cp "$work/report.png" "$keep"

python3 - "$work/report.png" <<'PY' || fail "the rendered page lacks its plots"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, chunks = 8, {}
idat = b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR": width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
    if kind == b"IDAT": idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unexpected PNG format {depth} {ctype} {interlace}"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
rows, prev, i = [], bytearray(stride), 0
for _ in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
def count(rgb, tol=40):
    n = 0
    for row in rows:
        for x in range(0, stride, bpp):
            if all(abs(row[x + k] - rgb[k]) <= tol for k in range(3)): n += 1
    return n
first, second = count((0x1f, 0x77, 0xb4)), count((0xd6, 0x27, 0x28))
print(f"report_render_test: {width}x{height} screenshot; first method's colour {first} px, second's {second} px", file=sys.stderr)
assert first > 200 and second > 200, "each method's points, lines and architecture bars are drawn"
PY
echo "report_render_test: ok" >&2
