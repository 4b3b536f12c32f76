#!/usr/bin/env bash
# CPU cost of a change, before/after, interleaved (issue 11's refactor budget: within
# 10 % CPU across a pure refactoring, at most 25 % for behaviour changes).
#
#   benchmarks/compare_refs.sh BEFORE_REF [AFTER_REF] [ROUNDS]
#
# Checks both revisions out as detached worktrees under ${TMPDIR:-/tmp}, then runs
# each benchmark on both, alternating, ROUNDS times (default 3), with this
# checkout's .venv and PYTHONPATH pointing at the revision's src/. Prints one line
# per run: CPU seconds (user + sys, the whole process tree), wall seconds and peak
# RSS; take the best of the rounds per side (wall times vary with other load).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
before=${1:?usage: compare_refs.sh BEFORE_REF [AFTER_REF] [ROUNDS]}
after=${2:-HEAD}
rounds=${3:-3}
py="$here/.venv/bin/python"
work="$(mktemp -d "${TMPDIR:-/tmp}/lf-compare.XXXXXX")"
trap 'git -C "$here" worktree remove --force "$work/before" 2>/dev/null || true;
      git -C "$here" worktree remove --force "$work/after" 2>/dev/null || true; rm -rf "$work"' EXIT
git -C "$here" worktree add -q --detach "$work/before" "$before"
git -C "$here" worktree add -q --detach "$work/after" "$after"
run() { # tag tree command...
  local tag=$1 tree=$2; shift 2
  (cd "$tree" && /usr/bin/time -f "%U %S %e %M" -o "$work/t" env PYTHONPATH="$tree/src" "$@" \
     > "$work/$tag.log" 2>&1)
  read -r u s e m < "$work/t"
  echo "$tag cpu=$(echo "$u + $s" | bc) wall=$e maxrss_kb=$m"
}
for r in $(seq 1 "$rounds"); do
  for side in before after; do
    tree="$work/$side"
    run "detection.$side.$r" "$tree" "$py" benchmarks/detection.py --labs 4 --seeds 0 --start 2020-01-01 --end 2020-06-30
    run "attribution.$side.$r" "$tree" "$py" benchmarks/attribution.py --labs 4 --start 2020-01-01 --end 2020-10-31
    run "sessions.$side.$r" "$tree" "$py" benchmarks/sessions.py --events 1000000 --no-msticpy
    run "ingest.$side.$r" "$tree" "$py" benchmarks/ingest.py --shape daily --events 200000 --only read_evidence
  done
done
