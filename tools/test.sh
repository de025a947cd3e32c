#!/usr/bin/env bash
# Runs every test of rules_img: the Go unit tests, `bazel test //...` of the
# ruleset (analysis tests, docs drift tests), and the e2e workspaces.
# Usage: tools/test.sh   (as root on a fresh machine: it installs what it needs)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"
"$root/tools/setup.sh" || exit 1
pass=0 fail=0
suite() {
  local name=$1; shift
  echo "=== $name"
  if "$@"; then pass=$((pass + 1)); echo "--- ok: $name"; else fail=$((fail + 1)); echo "--- FAIL: $name"; fi
}
suite "go test ./... (img_tool)" bash -c "cd '$root/img_tool' && go vet ./... && go test -count=1 ./..."
suite "bazel test //... (rules_img)" bash -c "cd '$root' && bazel test //... && bazel shutdown"
suite "e2e" "$root/e2e/run.sh"
echo "suites: $pass passed, $fail failed"
[ "$fail" = 0 ]
