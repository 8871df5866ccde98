#!/usr/bin/env bash
# A tour of baton on a throwaway repository: init, an agent pool, a claim,
# a handoff, accept, release, and the audit log. Usage: demo.sh [path/to/baton]
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

step human:dana init --hooks
step human:dana pool spawn --role reviewer --count 2
step agent:reviewer-1 claims claim T-42 --role reviewer --note "review the parser"
step human:dana claims claim T-42 || echo "(refused, exit $?: agent:reviewer-1 holds it)"
step agent:reviewer-1 claims handoff T-42 --to human:dana --note "looks good, please merge"
step human:dana claims accept T-42
step human:dana claims status T-42
step human:dana claims release T-42
step human:dana pool list
step human:dana log
step human:dana doctor
printf '\nThe state lives on refs/baton/state:\n'
git -C "$repo" log --format='%h %s' refs/baton/state
