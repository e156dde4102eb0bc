#!/usr/bin/env bash
# End-to-end test of the explorer: drives the real stp binary under tmux (send-keys, capture-pane)
# on the built-in data set. It waits for training to move, changes the budget (and types a bad one),
# searches (and re-targets the running search with +) and opens a candidate, toggles a pane, resizes the window (also below the minimum), quits
# through the confirmation, and checks that the terminal was restored and the run checkpointed;
# then exports a candidate and ends with Ctrl-C, ends a third run with SIGTERM and crashes a fourth
# (SIGABRT), checking the same (a crash cannot checkpoint, but must restore the terminal).
#
#   scripts/explorer_e2e.sh [STP_BINARY]     (default: $STP_BIN, else the newest .build/{debug,release}/stp)
#
# Exits 0 on success, 1 on a failed check (printing the screen), 77 when tmux or the binary is
# missing (skipped). Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-${STP_BIN:-}}"
if [ -z "$bin" ]; then
    bin=$(ls -t .build/debug/stp .build/release/stp 2>/dev/null | head -n 1 || true)
fi
if ! command -v tmux >/dev/null; then echo "explorer_e2e: skipped: tmux is not installed" >&2; exit 77; fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then echo "explorer_e2e: skipped: no stp binary (build first)" >&2; exit 77; fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d)
session="stp-e2e-$$"
# A session that lives as long as the script keeps the tmux server up: killing the test session
# and starting the next one would otherwise race with the server's exit ("server exited
# unexpectedly").
tmux new-session -d -s "$session-keep" "sleep 3600"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; tmux kill-session -t "$session-keep" 2>/dev/null || true; rm -rf "$work"' EXIT

screen() { tmux capture-pane -p -t "$session"; }
fail() {
    echo "explorer_e2e: FAILED: $*" >&2
    echo "----- screen -----" >&2
    screen >&2 || true
    echo "------------------" >&2
    exit 1
}
# Timeouts are multiplied by STP_E2E_TIMEOUT_SCALE (e.g. 10 for a thread-sanitizer build).
scale="${STP_E2E_TIMEOUT_SCALE:-1}"
# wait_for SECONDS REGEX WHAT: polls the screen until it matches.
wait_for() {
    local deadline=$((SECONDS + $1 * scale))
    while [ $SECONDS -lt $deadline ]; do
        if screen | grep -Eq -- "$2"; then return 0; fi
        sleep 0.3
    done
    fail "$3 (waited $1 s for /$2/)"
}
wait_gone() {
    local deadline=$((SECONDS + $1 * scale))
    while [ $SECONDS -lt $deadline ]; do
        if ! screen | grep -Eq -- "$2"; then return 0; fi
        sleep 0.3
    done
    fail "$3 (waited $1 s for /$2/ to disappear)"
}
# The run's progress as one number: epoch * 1000 + step, from the header.
progress() {
    screen | sed -nE 's/.*epoch ([0-9]+)\/[0-9]+  step ([0-9]+)\/[0-9]+.*/\1 \2/p' | head -n 1 | awk '{print $1 * 1000 + $2}'
}
step() { echo "explorer_e2e: $*" >&2; }
# child_pid PID: the (first) child process of PID: the stp under the pane's shell. pgrep when
# procps is installed, else a scan of /proc.
child_pid() {
    if command -v pgrep >/dev/null; then pgrep -P "$1" | head -n 1; return; fi
    local stat pid ppid
    for stat in /proc/[0-9]*/stat; do
        read -r pid _ _ ppid _ < "$stat" 2>/dev/null || continue
        if [ "$ppid" = "$1" ]; then echo "$pid"; return; fi
    done
}

step "no terminal: a clear message naming the headless commands, non-zero exit"
status=0
"$bin" explore --run "$work/none" </dev/null >"$work/headless.out" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "stp explore without a terminal exited 0"
grep -q "must be a terminal" "$work/headless.out" && grep -q "stp train" "$work/headless.out" && grep -q "stp prune" "$work/headless.out" \
    || { cat "$work/headless.out" >&2; fail "no headless message"; }
[ ! -e "$work/none" ] || fail "stp explore without a terminal created a run"

run="$work/run"
# Without the front here: it adds and replaces candidates at every epoch's end, and the mouse
# step below needs a candidates table that holds still. The front has its own step at the end.
tmux new-session -d -s "$session" -x 120 -y 40 -e LANG=C.UTF-8 -e LC_ALL=C.UTF-8 \
    "'$bin' explore --data builtin:train=2000,test=400 --epochs 3 --run '$run' --fitness-images 128 --recalibration-images 256 --population 8 --parents 2 --generations 2 --no-auto-search --front-buckets 0; echo \"explorer exited with \$?\"; sleep 600"
tmux set-option -t "$session" window-size manual >/dev/null 2>&1 || true

step "start: header, panes and status bar"
wait_for 60 "stp explorer" "the explorer did not start"
wait_for 30 "phase stimulative training" "training did not start"
for title in "2 architecture" "3 accuracy vs FLOPs" "4 training curves" "5 relative sparsity" "6 candidates" "7 log" "q quit"; do
    screen | grep -q -- "$title" || fail "no '$title' on the screen"
done

step "training moves"
first=$(progress)
[ -n "$first" ] || fail "no epoch/step in the header"
deadline=$((SECONDS + 60 * scale))
while [ "$(progress)" = "$first" ]; do
    [ $SECONDS -lt $deadline ] || fail "the step counter stayed at $first"
    sleep 0.5
done

step "budget: a bad one is reported and kept out, a good one moves the target"
tmux send-keys -t "$session" b
wait_for 5 "budget> " "the budget prompt did not open"
tmux send-keys -t "$session" -l "lots"
tmux send-keys -t "$session" Enter
wait_for 10 "budget 'lots'" "the bad budget was not reported"
screen | grep -q "budget remove 50%" || fail "a bad budget changed the budget"
tmux send-keys -t "$session" b
tmux send-keys -t "$session" -l "65%"
tmux send-keys -t "$session" Enter
wait_for 10 "budget remove 65%, at most" "the header does not show the new budget"
wait_for 10 "budget: remove 65%" "the log does not show the new budget"

step "search now, open a candidate, back"
tmux send-keys -t "$session" s
wait_for 10 "phase search" "the search did not start"
wait_for 90 "6 candidates [1-9]" "no candidate was evaluated"
tmux send-keys -t "$session" j
wait_for 5 "▶|> " "the selection marker is not shown"
tmux send-keys -t "$session" Enter
wait_for 10 "candidate detail" "Enter did not open the candidate"
wait_for 5 "^│A d=" "the detail view does not show the candidate"
wait_for 5 "block +full +A width" "the detail view has no per-block table"
tmux send-keys -t "$session" Escape
wait_gone 5 "candidate detail" "Esc did not close the detail view"

step "mouse: a click selects the candidate row under it"
# An X10 mouse press (ESC [ M, button, column, row; each + 32, 1-based), as the terminal sends it.
# The search must be over first: candidates arriving after the click re-sort the table and move
# the selected row away from the clicked line.
wait_for 120 "search [0-9]+ done" "the search did not finish"
wait_for 30 "6 candidates ([2-9]|[1-9][0-9])" "fewer than two candidates to click"
header_line=$(screen | grep -n "MACs    params" | head -n 1 | cut -d: -f1)
[ -n "$header_line" ] || fail "no candidates table header"
target=$((header_line + 2))   # 1-based screen line of the table's second row
tmux send-keys -t "$session" -H 1b 5b 4d 20 "$(printf '%x' $((10 + 33)))" "$(printf '%x' $((target - 1 + 33)))"
deadline=$((SECONDS + 5 * scale))
until screen | sed -n "${target}p" | grep -Eq "^│(▶|>)"; do
    [ $SECONDS -lt $deadline ] || fail "the click on line $target did not select that row"
    sleep 0.3
done

step "a budget change re-targets a running search"
tmux send-keys -t "$session" s
wait_for 30 "phase search" "the second search did not start"
tmux send-keys -t "$session" +
wait_for 10 "budget remove 70%, at most" "+ did not move the budget to 70%"
wait_for 60 "search re-targeted to remove 70%" "the running search was not re-targeted"
wait_for 120 "search 2 done" "the re-targeted search did not finish"

step "themes: t cycles to the next theme file"
tmux send-keys -t "$session" t
wait_for 5 "theme [a-z0-9-]+ *$" "t did not switch the theme"
screen | tail -n 1 | grep -q "theme default" && fail "t stayed on the default theme (themes/ not found)"

step "toggle a pane"
tmux send-keys -t "$session" 3
wait_gone 5 "accuracy vs FLOPs" "key 3 did not hide the scatter"
tmux send-keys -t "$session" 3
wait_for 5 "3 accuracy vs FLOPs" "key 3 did not show the scatter again"

step "resize: smaller, below the minimum, back"
tmux resize-window -t "$session" -x 90 -y 30
wait_for 10 "^q quit" "no frame after resizing to 90x30"
width=$(screen | LC_ALL=C.UTF-8 wc -L)
[ "$width" -le 90 ] || fail "the frame is $width wide in a 90-column window"
tmux resize-window -t "$session" -x 60 -y 20
wait_for 10 "needs a terminal of at least" "below the minimum the screen does not say which size it needs"
wait_for 5 "80x24" "the needed size is not named"
tmux resize-window -t "$session" -x 120 -y 40
wait_for 10 "stp explorer" "no frame after resizing back"

step "quit: confirmation, terminal restored, run checkpointed"
tmux send-keys -t "$session" q
wait_for 5 "quit\?" "q did not ask (work is unsaved)"
tmux send-keys -t "$session" y
wait_for 90 "explorer exited with 0" "the explorer did not exit cleanly"
screen | grep -q "run saved in $run" || fail "no 'run saved' line after exit"
if screen | grep -Eq "q quit|stp explorer  data|┌"; then fail "the explorer's frame is still on the screen after exit"; fi
[ -f "$run/checkpoint.safetensors" ] && [ -f "$run/run.json" ] || fail "no checkpoint in $run"

# start_paused NAME RUN: a second explorer, paused, in session NAME.
start_paused() {
    tmux kill-session -t "$session" 2>/dev/null || true
    tmux new-session -d -s "$session" -x 120 -y 40 -e LANG=C.UTF-8 -e LC_ALL=C.UTF-8 \
        "'$bin' explore --data builtin:train=1000,test=200 --epochs 2 --run '$2' --paused --fitness-images 64 --recalibration-images 128; echo \"explorer exited with \$?\"; sleep 600"
    wait_for 60 "phase stimulative training \(paused\)" "$1: the paused explorer did not start"
}

step "export, then Ctrl-C: restored and checkpointed"
start_paused "export" "$work/run2"
tmux send-keys -t "$session" e
wait_for 60 "exported .* test top-1" "e did not export the reference architecture"
ls "$work"/run2/exports/*/model.onnx >/dev/null 2>&1 || fail "no model.onnx under $work/run2/exports"
tmux send-keys -t "$session" C-c
wait_for 60 "explorer exited with 0" "Ctrl-C did not end the explorer cleanly"
if screen | grep -Eq "q quit|┌"; then fail "the frame is still on the screen after Ctrl-C"; fi
[ -f "$work/run2/checkpoint.safetensors" ] || fail "Ctrl-C did not checkpoint"

step "the front: a curve over the whole space after the first epoch, budgets read it at once"
tmux kill-session -t "$session" 2>/dev/null || true
tmux new-session -d -s "$session" -x 120 -y 40 -e LANG=C.UTF-8 -e LC_ALL=C.UTF-8 \
    "'$bin' explore --data builtin:train=1000,test=200 --epochs 2 --run '$work/run-front' --fitness-images 64 --recalibration-images 128 --front-buckets 4 --no-auto-search; echo \"explorer exited with \$?\"; sleep 600"
wait_for 180 "front [0-9]+ on the curve" "no front after the first epoch"
# The plot's x axis spans the space: the smallest subnet (3.39M MACs) to the full network.
wait_for 5 "3\.39M +MACs \(FLOPs\) +40\.55M" "the accuracy-vs-FLOPs plot does not span the whole space"
tmux send-keys -t "$session" -
wait_for 10 "budget remove 45%, at most" "- did not move the budget"
screen | grep -q "search not run yet" || fail "a budget change before any search started one"
tmux send-keys -t "$session" C-c
wait_for 60 "explorer exited with 0" "Ctrl-C did not end the explorer cleanly"

step "SIGTERM: restored and checkpointed"
start_paused "sigterm" "$work/run3"
pane_pid=$(tmux display -p -t "$session" '#{pane_pid}')
stp_pid=$(child_pid "$pane_pid")
[ -n "$stp_pid" ] || fail "no stp process under the pane"
kill -TERM "$stp_pid"
wait_for 60 "explorer exited with 0" "SIGTERM did not end the explorer cleanly"
if screen | grep -Eq "q quit|┌"; then fail "the frame is still on the screen after SIGTERM"; fi
[ -f "$work/run3/checkpoint.safetensors" ] || fail "SIGTERM did not checkpoint"
step "a crash (SIGABRT) restores the terminal too"
tmux kill-session -t "$session" 2>/dev/null || true
tmux new-session -d -s "$session" -x 120 -y 40 -e LANG=C.UTF-8 -e LC_ALL=C.UTF-8 \
    "'$bin' explore --data builtin:train=1000,test=200 --epochs 2 --run '$work/run4' --paused; echo \"explorer exited with \$?\"; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(echo|icanon)\$' | tr '\\n' ' '; echo; sleep 600"
wait_for 60 "phase stimulative training \(paused\)" "crash: the paused explorer did not start"
pane_pid=$(tmux display -p -t "$session" '#{pane_pid}')
stp_pid=$(child_pid "$pane_pid")
kill -ABRT "$stp_pid"
wait_for 30 "explorer exited with 134" "the crashed explorer did not exit"
wait_for 10 "^echo icanon|^icanon echo" "the terminal is not back in canonical mode with echo after the crash"
if screen | grep -Eq "q quit|┌"; then fail "the frame is still on the screen after the crash"; fi
step "passed"
