#!/usr/bin/env bash
# Kill -9 while writing: starts a tiny `stp train` run (3 epochs, a checkpoint after each) and
# kills it with SIGKILL at many points, then checks that the run directory is never left
# half-written:
#   - kills at delays spread over the whole run (before the first checkpoint, during training,
#     during a save, after the end);
#   - kills aimed at save time: a tight loop watches the run directory and kills the moment the
#     temporary file of an atomic write (".checkpoint.safetensors.tmp-*", ".run.json.tmp-*", see
#     AtomicFile.swift) appears, for each epoch's save of each file.
# After each kill: when the directory holds a checkpoint, `stp eval` must load it and
# `stp train --resume` must continue the run to its end (and `stp eval` load the result, and
# metrics.jsonl log each epoch once), also when the kill came between the checkpoint and run.json
# of a save; when the kill came before the
# first save, `stp eval` must fail with a clear error (exit 1, "stp: error: ..."), not crash. A leftover temporary file is allowed (a kill mid-write leaves
# one; readers ignore it) and is counted.
#
#   scripts/kill_test.sh [STP_BINARY]     (default: $STP_BIN, else .build/debug/stp)
#
# Exits 0 when every case holds, 1 on a failed check, 77 when the binary is missing (skipped).
# Takes about a minute with a debug build. STP_KILL_TIMED sets the number of timed kills (20).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-${STP_BIN:-.build/debug/stp}}"
if [ ! -x "$bin" ]; then echo "kill_test: skipped: no stp binary at $bin (build first)" >&2; exit 77; fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
timed=${STP_KILL_TIMED:-20}

work=$(mktemp -d)
pid=""
trap 'if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

data="builtin:seed=1,train=256,test=64"
epochs=3
fail() { echo "kill_test: FAILED: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

kills=0; between=0; during_save=0; leftover=0; before_first=0; resumed=0; complete=0

start_train() {  # start_train DIR: a fresh run in the background; sets pid
    nice -n 10 "$bin" train --data "$data" --epochs "$epochs" --batch 32 --threads 1 --run "$1" \
        >"$1.out" 2>&1 &
    pid=$!
}

epochs_of() { sed -n 's/^ *"epochsCompleted" *: *\([0-9]*\).*/\1/p' "$1/run.json"; }
# The epochs_completed of the checkpoint's metadata (the safetensors header is JSON at its start).
checkpoint_epochs_of() {
    head -c 256 "$1/checkpoint.safetensors" | grep -ao '"epochs_completed":"[0-9]*"' | grep -o '[0-9][0-9]*' || true
}

# Checks the run directory after a kill. $1: the directory, $2: a label for messages.
check_after_kill() {
    local dir=$1 what=$2 rc out temps e count
    kills=$((kills + 1))
    temps=$(find "$dir" -maxdepth 1 -name '.*.tmp-*' 2>/dev/null | wc -l)
    if [ "$temps" -gt 0 ]; then during_save=$((during_save + 1)); leftover=$((leftover + temps)); fi
    if [ -f "$dir/checkpoint.safetensors" ]; then
        # Killed between the two files of a save: the checkpoint is one save ahead of run.json (or
        # run.json is not there yet), and loading must take the record saved in the checkpoint.
        if [ ! -f "$dir/run.json" ] || [ "$(checkpoint_epochs_of "$dir")" != "$(epochs_of "$dir")" ]; then
            between=$((between + 1))
        fi
        out=$("$bin" eval "$dir" 2>&1) || fail "$what: stp eval of the killed run failed: $out"
        out=$("$bin" train --resume "$dir" --threads 1 2>&1) || fail "$what: stp train --resume failed: $out"
        [ "$(epochs_of "$dir")" = "$epochs" ] || fail "$what: the resumed run did not reach epoch $epochs (run.json: $(epochs_of "$dir"))"
        out=$("$bin" eval "$dir" 2>&1) || fail "$what: stp eval of the resumed run failed: $out"
        # Each epoch's metrics are logged once, also the epoch that was logged and then redone.
        for e in $(seq 1 "$epochs"); do
            count=$(grep -c "^{\"epoch\":$e,\"imagesPerSecond\"" "$dir/metrics.jsonl" || true)
            [ "$count" = 1 ] || fail "$what: metrics.jsonl logs epoch $e $count times"
        done
        resumed=$((resumed + 1))
    else
        # Killed before the first save: the directory holds no run, and saying so must be an
        # error, not a crash.
        [ ! -f "$dir/run.json" ] || fail "$what: run.json without checkpoint.safetensors"
        rc=0; out=$("$bin" eval "$dir" 2>&1) || rc=$?
        [ "$rc" -eq 1 ] || fail "$what: stp eval of a directory without a run exited $rc (expected 1): $out"
        grep -q "^stp: error: " <<<"$out" || fail "$what: stp eval gave no clear error: $out"
        before_first=$((before_first + 1))
    fi
}

# A reference run: how long a whole run takes here, and that it ends with a loadable directory.
t0=$(now_ms)
start_train "$work/reference"
wait "$pid" || fail "the uninterrupted run failed: $(cat "$work/reference.out")"
pid=""
total=$(( $(now_ms) - t0 ))
[ "$(epochs_of "$work/reference")" = "$epochs" ] || fail "the uninterrupted run did not record $epochs epochs"
"$bin" eval "$work/reference" >/dev/null 2>&1 || fail "stp eval of the uninterrupted run failed"
echo "kill_test: an uninterrupted run takes ${total} ms; $timed timed kills, then kills at save time" >&2

# Timed kills, spread from 20% of a whole run's time (start-up and the first epoch) to just past
# its end.
for i in $(seq 1 "$timed"); do
    dir="$work/timed-$i"
    delay_ms=$(( total * (20 * timed + 85 * i) / (100 * timed) + (i % 3) * 7 ))
    start_train "$dir"
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        pid=""
        check_after_kill "$dir" "timed kill $i after ${delay_ms} ms"
    else
        wait "$pid" || fail "timed run $i failed: $(cat "$dir.out")"
        pid=""
        complete=$((complete + 1))
    fi
done

# Kills at save time: the moment a temporary file of `name` appears, watching from the start of
# the run, then from a third and two thirds of a whole run's time (aiming at later saves). The
# run is niced so that the watching loop gets the CPU on a busy machine.
for name in checkpoint.safetensors run.json; do
    for n in $(seq 1 "$epochs"); do
        dir="$work/save-$name-$n"
        mkdir -p "$dir"
        start_train "$dir"
        offset_ms=$(( total * (n - 1) / epochs ))
        sleep "$(printf '%d.%03d' $((offset_ms / 1000)) $((offset_ms % 1000)))"
        hit=0
        while kill -0 "$pid" 2>/dev/null; do
            # compgen is a builtin: no fork per poll, so the loop sees even a short write.
            if compgen -G "$dir/.$name.tmp-*" >/dev/null; then kill -9 "$pid" 2>/dev/null && hit=1; break; fi
        done
        wait "$pid" 2>/dev/null || true
        pid=""
        if [ "$hit" -eq 1 ]; then
            check_after_kill "$dir" "kill at a write of $name (watching from ${offset_ms} ms)"
        else
            # The write was too quick for the loop to see (or the process ended first): the
            # directory must still be a complete run.
            "$bin" eval "$dir" >/dev/null 2>&1 || fail "save-$name-$n: the run finished unkilled but does not load"
            complete=$((complete + 1))
        fi
    done
done

echo "kill_test: $kills kills ($during_save during a save, leaving $leftover temporary files that were ignored; $between between the checkpoint and run.json of a save), $resumed loaded and resumed to the end, $before_first before the first save (clear error), $complete runs ended before their kill: OK"
