#!/usr/bin/env bash
# A tour of baton on a throwaway repository. The main job first: a delivery
# claims an issue, runs a real two-step workflow and finishes the claim — a
# failure kept with its owner, a fix, resume, closed; then a delivery handed
# off and accepted. Then claims by hand, and the audit log.
# Usage: demo.sh [path/to/baton]
set -euo pipefail
baton=$(realpath "${1:-target/debug/baton}")
repo=$(mktemp -d "${TMPDIR:-/tmp}/baton-demo.XXXXXX")
trap 'rm -rf "$repo"' EXIT
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.com
export GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.com
git -C "$repo" init -q

step() {
  local actor=$1; shift
  printf '\n\033[1m$ baton --actor %s %s\033[0m\n' "$actor" "$*"
  "$baton" -C "$repo" --actor "$actor" "$@"
}
say() { printf '\n\033[2m# %s\033[0m\n' "$*"; }

step human:dana init --hooks
step human:dana pool spawn --role dev --count 2

say "a real two-step workflow: build, then test (which fails until 'fixed' exists)"
mkdir -p "$repo/.baton/workflows"
cat > "$repo/.baton/workflows/ship.toml" <<'EOF'
name = "ship"
[[steps]]
id = "build"
run = ["sh", "-c", "echo compiling; sleep 0.2; echo built"]
[[steps]]
id = "test"
run = ["sh", "-c", "test -f fixed && echo all tests pass || { echo 'test_parser FAILED'; exit 1; }"]
EOF
step agent:dev-1 delivery start --issue T-42 --workflow ship --role dev
step agent:dev-1 delivery start --issue T-42 --workflow ship --role dev --execute || say "failed (exit $?): the claim stays with agent:dev-1"
id=$("$baton" -C "$repo" --json delivery status | sed -n 's/.*"id": "\(dl-[^"]*\)".*/\1/p' | head -1)
step human:dana claims status T-42
say "fix the problem, then resume: only the failed step runs again"
touch "$repo/fixed"
step agent:dev-1 delivery resume --run-id "$id" --execute
step human:dana pool list

say "a delivery that hands its claim to a reviewer on success"
step agent:dev-2 delivery start --issue T-43 --workflow ship --role dev --handoff-to human:dana --execute
step human:dana claims accept T-43
step human:dana claims verify T-43 --generation 2
step human:dana claims release T-43

say "claims by hand: one holder at a time"
step agent:dev-1 claims claim T-44 --note "review the parser"
step human:dana claims claim T-44 || say "refused (exit $?): agent:dev-1 holds it"
step human:dana delivery status
step human:dana doctor
printf '\nThe state lives on refs/baton/state:\n'
git -C "$repo" log --format='%h %s' refs/baton/state
