#!/usr/bin/env bash
# Checks that a second scripts/setup builds nothing when the first ran on a terminal and the second
# in a pipe, and the reverse: the release build's compiler flags must not depend on the terminal
# (SwiftPM's colour diagnostics once did, and every `scripts/start` after a piped run rebuilt
# everything). The first setup of each pair may compile (it brings the build up to date); the
# second must not compile or link anything. Costs a release build when the tree changed (minutes);
# scripts/test runs it only with STP_CHECK_REBUILD=1. Exit 77: skipped (no script(1) for a
# pseudo-terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v script >/dev/null; then
    echo "check_setup_noop: script(1) (util-linux) is missing, no pseudo-terminal; skipped" >&2
    exit 77
fi
export STP_SKIP_RELEASE_BUILD=0   # scripts/test sets it for its own setup; this check needs the build
log=$(mktemp)
trap 'rm -f "$log"' EXIT

on_terminal() { script -qec scripts/setup /dev/null </dev/null; }   # -e: setup's exit status
in_pipe() { scripts/setup 2>&1 </dev/null | cat; }

check() {
    echo "check_setup_noop: setup $1, then setup $2" >&2
    "$1" >&2
    local t0=$SECONDS
    "$2" >"$log" 2>&1
    if grep -aqE "Compiling|Linking" "$log"; then
        echo "check_setup_noop: FAILED: setup $2 after setup $1 rebuilt ($((SECONDS - t0)) s):" >&2
        tr '\r' '\n' <"$log" | grep -aE "Compiling|Linking" >&2
        exit 1
    fi
    echo "check_setup_noop: setup $2 after setup $1 built nothing ($((SECONDS - t0)) s)" >&2
}

check on_terminal in_pipe
check in_pipe on_terminal
