#!/usr/bin/env bash
# Data parallelism under mpirun (docs/SCALING.md) computes what one process computes:
#   1. stimulative training (K = 2 subnets per step) on 2 ranks gives the same weights, batch-norm
#      statistics and momentum as 1 rank with the same global batch, to float rounding; a run
#      with another global batch does not (so the comparison can fail);
#   2. a run started on 2 ranks, killed after its first epoch's checkpoint and resumed on 1 rank,
#      ends where an uninterrupted 1-rank run ends;
#   3. `stp prune` with the search split over 2 ranks returns the same best architecture as 1 rank;
#   4. `stp explore` under mpirun runs its UI on rank 0's terminal and takes keys there (tmux).
#
#   scripts/mpi_test.sh [STP_BINARY]     (default: $STP_BIN, else .build/debug/stp)
#
# Exits 0 when all hold, 1 on a failed check, 77 (skipped) when mpirun or the binary is missing
# or the binary was built without MPI. Runs as root with Open MPI's allow-run-as-root variables
# (CI runs as root). Takes about a minute with a debug build.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-${STP_BIN:-.build/debug/stp}}"
if [ ! -x "$bin" ]; then echo "mpi_test: skipped: no stp binary at $bin (build first)" >&2; exit 77; fi
if ! command -v mpirun >/dev/null; then echo "mpi_test: skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 77; fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Loopback only, no high-speed fabric probing (quieter and faster on one machine).
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
mpi() { mpirun -np "$1" --oversubscribe --bind-to none "${@:2}"; }

work=$(mktemp -d)
trap 'pkill -9 -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "mpi_test: FAILED: $*" >&2; exit 1; }

# A build without MPI says so under mpirun: skip rather than fail (Package.swift's hasMPI).
if ! out=$(mpi 2 "$bin" info 2>&1); then
    if grep -q "built without MPI" <<<"$out"; then echo "mpi_test: skipped: $bin was built without MPI" >&2; exit 77; fi
    fail "mpirun -np 2 stp info: $out"
fi

data="builtin:seed=3,train=512,test=128"
# A small learning rate: at 0.1 this tiny synthetic problem is chaotic, and any rounding
# difference (even Winograd against direct convolution on 1 rank) grows to O(1) in 16 steps.
train_args=(train --data "$data" --method stimulative --subnets 2 --epochs 2 --batch 64 --threads 1
            --recalibration-images 256 --seed 5 --lr 0.002)

# compare A B: how far B's checkpoint is from A's, as |B - A| / |A| over three groups of tensors
# (weights, batch-norm running statistics, momentum); status 0 when every group is within
# the tolerances below. Why tolerances and not bit equality: 2 ranks add the same numbers in
# another order (batch-norm sums per rank, then over ranks; the gradient as two halves), and a
# ReLU turns a rounding difference in a pre-activation near 0 into a whole element's gradient.
# Two equally exact 1-rank runs differ the same way: with STP_NO_WINOGRAD=1 (direct instead of
# Winograd convolutions) a 1-rank run is as far from the default one as the 2-rank run is
# (measured: weights 4.1e-5 vs 3.8e-5, running statistics 1.7e-4 vs 1.4e-4, momentum 3.7e-2
# both), while a run with another global batch is 100x further (5.4e-3, 1.2e-1, 0.91).
compare() {
    python3 - "$1/checkpoint.safetensors" "$2/checkpoint.safetensors" <<'EOF'
import array, json, math, struct, sys
def read(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        a, b = info["data_offsets"]
        out[name] = array.array("f", data[8 + n + a:8 + n + b])
    return out
x, y = read(sys.argv[1]), read(sys.argv[2])
assert x.keys() == y.keys() and x, "different tensors"
def group(name):
    return "momentum" if "velocity" in name else "running statistics" if "running" in name else "weights"
tolerance = {"weights": 5e-4, "running statistics": 2e-3, "momentum": 0.15}
ok, parts = True, []
for g, tol in tolerance.items():
    keys = [k for k in x if group(k) == g]
    diff = math.sqrt(sum((a - b) ** 2 for k in keys for a, b in zip(x[k], y[k])))
    norm = math.sqrt(sum(a * a for k in keys for a in x[k]))
    rel = diff / max(norm, 1e-30)
    ok = ok and rel <= tol
    parts.append(f"{g} {rel:.1e} (<= {tol:g})")
print(f"{len(x)} tensors, |difference| / |1 rank|: " + ", ".join(parts))
sys.exit(0 if ok else 1)
EOF
}

# 1. Same weights on 1 and 2 ranks.
"$bin" "${train_args[@]}" --run "$work/one" >"$work/one.log" 2>&1 || { cat "$work/one.log"; fail "1-rank training"; }
mpi 2 "$bin" "${train_args[@]}" --run "$work/two" >"$work/two.log" 2>&1 || { cat "$work/two.log"; fail "2-rank training"; }
grep -q "2 MPI ranks" "$work/two.log" || { cat "$work/two.log"; fail "the 2-rank run did not say it ran on 2 ranks"; }
[ "$(grep -c "^epoch 2/2  train loss" "$work/two.log")" = 1 ] || { cat "$work/two.log"; fail "a 2-rank job must print its epochs once (rank 0)"; }
[ -f "$work/two/checkpoint.safetensors" ] || fail "rank 0 must write the run"
result=$(compare "$work/one" "$work/two") || fail "2 ranks differ from 1 rank: $result"
echo "mpi_test: 1 vs 2 ranks after 16 stimulative steps (K = 2): $result"
"$bin" "${train_args[@]}" --batch 32 --run "$work/other" >"$work/other.log" 2>&1 || fail "batch-32 training"
if other=$(compare "$work/one" "$work/other"); then fail "the comparison cannot tell another global batch apart: $other"; fi
echo "mpi_test: the same comparison against a run with global batch 32 fails, as it must: $other"

# 2. Started on 2 ranks, resumed on 1.
mpi 2 "$bin" "${train_args[@]}" --run "$work/resumed" >"$work/resumed.log" 2>&1 &
job=$!
for _ in $(seq 600); do
    if grep -qs '"epochsCompleted" *: *1' "$work/resumed/run.json"; then break; fi
    kill -0 "$job" 2>/dev/null || break
    sleep 0.1
done
pkill -9 -f "$work/resumed" 2>/dev/null || true
wait "$job" 2>/dev/null || true
grep -qs '"epochsCompleted" *: *1\b' "$work/resumed/run.json" || { cat "$work/resumed.log"; fail "the 2-rank run must be stopped after exactly one epoch"; }
"$bin" train --resume "$work/resumed" --threads 1 >"$work/resume1.log" 2>&1 || { cat "$work/resume1.log"; fail "resuming on 1 rank"; }
result=$(compare "$work/one" "$work/resumed") || fail "2 ranks then 1 differ from 1 rank: $result"
echo "mpi_test: 2 ranks, killed, resumed on 1 rank, vs 1 rank: $result"

# 3. The search split over 2 ranks picks what 1 rank picks, from the same supernet: both start
# from the 1-rank run and train one epoch at a negligible learning rate (--epochs 0 does not
# exist), because 2-rank training ends a rounding difference away (check 1), and an evolutionary
# search may break a near-tie between candidates the other way.
prune_args=(prune --init "$work/one" --data "$data" --method stp --budget 50% --epochs 1 --lr 1e-9 --batch 64
            --threads 1 --population 8 --parents 3 --generations 2 --fitness-images 64 --recalibration-images 128 --seed 2)
"$bin" "${prune_args[@]}" --output "$work/p1" >"$work/p1.log" 2>&1 || { cat "$work/p1.log"; fail "1-rank prune"; }
mpi 2 "$bin" "${prune_args[@]}" --output "$work/p2" >"$work/p2.log" 2>&1 || { cat "$work/p2.log"; fail "2-rank prune"; }
# The same architecture and number of evaluations, and the same fitness to float rounding.
result=$(python3 - "$work/p1/report.json" "$work/p2/report.json" <<'EOF'
import json, sys
one, two = (json.load(open(path))["reports"][0] for path in sys.argv[1:])
same = one["architecture"] == two["architecture"] and one["searchEvaluations"] == two["searchEvaluations"]
close = abs(one["searchFitness"] - two["searchFitness"]) <= 1e-5 * abs(one["searchFitness"])
print(f"1 rank {one['architecture']} ({one['searchEvaluations']} evaluations, fitness {one['searchFitness']:.7g}), "
      f"2 ranks {two['architecture']} ({two['searchEvaluations']} evaluations, fitness {two['searchFitness']:.7g})")
sys.exit(0 if same and close else 1)
EOF
) || fail "the 2-rank search differs: $result"
echo "mpi_test: the 2-rank search returns the 1-rank best: $result"
# 4. `stp explore` under mpirun: the UI on rank 0's terminal takes keys (mpirun starts its ranks
# in a background process group; the explorer makes its own the foreground one), quits through
# its confirmation, saves the run and gives the terminal back to the shell.
if command -v tmux >/dev/null; then
    session="stp-mpi-$$"
    tmux new-session -d -s "$session" -x 140 -y 45 \
        "mpirun -np 2 --bind-to none $bin explore --run $work/explore --epochs 2 --threads 1; echo EXPLORE_EXIT=\$?; sleep 60"
    trap 'tmux kill-session -t "$session" 2>/dev/null || true; pkill -9 -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
    until_screen() {   # SECONDS REGEX WHAT
        for _ in $(seq $(($1 * 5))); do
            if tmux capture-pane -p -t "$session" | grep -Eq -- "$2"; then return 0; fi
            sleep 0.2
        done
        tmux capture-pane -p -t "$session" >&2 || true
        fail "explorer under mpirun: $3"
    }
    until_screen 120 "phase stimulative training +epoch 1/2 +step [1-9]" "training did not start on screen"
    tmux send-keys -t "$session" q
    until_screen 20 "quit\\?" "q did not reach the explorer"
    tmux send-keys -t "$session" y
    until_screen 60 "EXPLORE_EXIT=0" "the job did not end with status 0 after quitting"
    tmux capture-pane -p -t "$session" | grep -q "run saved in $work/explore" || fail "explorer under mpirun: no 'run saved' line"
    [ -f "$work/explore/checkpoint.safetensors" ] || fail "explorer under mpirun: rank 0 wrote no checkpoint"
    tmux kill-session -t "$session" 2>/dev/null || true
    echo "mpi_test: stp explore under mpirun -np 2 takes keys on rank 0's terminal, quits, saves and exits 0"
else
    echo "mpi_test: explorer under mpirun not checked: tmux is not installed" >&2
fi
echo "mpi_test: OK"
