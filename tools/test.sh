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
# The registry-backed Go tests use a real registry on a port of their own.
eval "$("$root/tools/services/registry.sh" start plain 5100 2>/dev/null)" && export RULES_IMG_TEST_REGISTRY=$REGISTRY
# ... and the loader's tests a real containerd and dockerd.
eval "$("$root/tools/services/containerd.sh" start 2>/dev/null)" && export RULES_IMG_TEST_CONTAINERD=$CONTAINERD_ADDRESS
eval "$("$root/tools/services/dockerd.sh" start 2>/dev/null)" && export RULES_IMG_TEST_DOCKER_HOST=$DOCKER_HOST
# ... and the remote cache client's tests real REAPI servers.
reapi_env() { # reapi_env MODE VAR: export the endpoint of a started server as VAR (and its token or CA)
  local line
  while IFS= read -r line; do
    case $line in
      REAPI_ENDPOINT=*) export "$2=${line#*=}" ;;
      REAPI_TOKEN=*) export "RULES_IMG_TEST_REAPI_TOKEN=${line#*=}" ;;
      REAPI_CA=*) export "RULES_IMG_TEST_REAPI_CA=${line#*=}" ;;
    esac
  done < <("$root/tools/services/reapi.sh" start "$1" 2>/dev/null)
}
reapi_env worker RULES_IMG_TEST_REAPI
reapi_env worker-auth RULES_IMG_TEST_REAPI_AUTH
reapi_env worker-tls RULES_IMG_TEST_REAPI_TLS
reapi_env casd RULES_IMG_TEST_CASD
unset DOCKER_HOST CONTAINERD_ADDRESS
suite "go test ./... (img_tool, pull_tool)" bash -c "cd '$root/img_tool' && go vet ./... && go test -count=1 ./... && cd '$root/pull_tool' && go vet ./... && go test -count=1 ./..."
"$root/tools/services/registry.sh" clean plain 5100 >/dev/null 2>&1
"$root/tools/services/dockerd.sh" stop >/dev/null 2>&1
"$root/tools/services/containerd.sh" stop >/dev/null 2>&1
for m in worker worker-auth worker-tls casd; do "$root/tools/services/reapi.sh" stop "$m" >/dev/null 2>&1; done
suite "go fuzz (short)" "$root/tools/fuzz.sh"
suite "bazel test //... (rules_img)" bash -c "cd '$root' && bazel test //... && bazel shutdown"
suite "e2e" "$root/e2e/run.sh"
echo "suites: $pass passed, $fail failed"
[ "$fail" = 0 ]
