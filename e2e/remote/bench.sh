#!/usr/bin/env bash
# Lazy and cas_registry versus eager push of an image with a big layer
# (SIZE_MB, default 100, incompressible), built into Bazel's remote worker
# and pushed to the real distribution registry (eager, lazy; each into a
# repository of its own, so the registry lacks every blob) or to
# `img registry` over the same worker (cas_registry). For each
# strategy, in one invocation:
#   - bytes Bazel wrote into the output tree for `bazel run` (what the
#     machine running Bazel downloaded from the remote cache);
#   - bytes the launcher read from the remote cache (streamed through, not
#     stored);
#   - wall time of the push itself (the `bazel run --script_path` script)
#     and of build + push.
# Prints ratios lazy/eager. Usage: bench.sh [SIZE_MB]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
services=$root/tools/services
size=${1:-100}
work=$(mktemp -d /tmp/rules_img_remote_bench.XXXXXX)
export BAZEL_SID_BINDS=$work
cas_registry=
cleanup() {
  [ -n "$cas_registry" ] && kill "$cas_registry" 2>/dev/null
  (cd "$here" && bazel shutdown >/dev/null 2>&1)
  "$services/registry.sh" clean plain 5210 >/dev/null 2>&1
  "$services/reapi.sh" clean worker 8990 >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
cd "$here"
"$services/reapi.sh" clean worker 8990 >/dev/null 2>&1 || true
eval "$("$services/reapi.sh" start worker 8990 2>/dev/null)"
eval "$("$services/registry.sh" start plain 5210 2>/dev/null)"
(cd "$root/img_tool" && go build -o "$work/img" ./cmd/img)
"$work/img" registry --reapi-endpoint "$REAPI_ENDPOINT" --port 5211 --grpc-port 5212 2>"$work/casreg.log" &
cas_registry=$!
rc=(--remote_cache="$REAPI_ENDPOINT" --remote_download_minimal --define=SIZE_MB="$size")
now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }
tree_bytes() { find "$(bazel info "${rc[@]}" output_path 2>/dev/null)" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'; }

echo "filling the remote cache (${size} MiB layer)..."
bazel clean >/dev/null 2>&1
bazel build "${rc[@]}" //:push //:push_lazy >/dev/null 2>&1
declare -A down push total cached
for strategy in eager lazy cas_registry; do
  target=//:push registry=127.0.0.1:5210
  [ "$strategy" = lazy ] && target=//:push_lazy
  [ "$strategy" = cas_registry ] && registry=127.0.0.1:5211
  bazel clean >/dev/null 2>&1
  t0=$(now)
  bazel run "${rc[@]}" --@rules_img//img/settings:push_strategy="$strategy" --script_path="$work/$strategy.sh" "$target" -- \
    --registry "$registry" --repository "bench/$strategy" >/dev/null 2>&1
  down[$strategy]=$(tree_bytes)
  t1=$(now)
  IMG_REAPI_ENDPOINT=$REAPI_ENDPOINT IMG_BLOB_CACHE_ENDPOINT=grpc://127.0.0.1:5212 "$work/$strategy.sh" >/dev/null 2>"$work/$strategy.err"
  t2=$(now)
  push[$strategy]=$(calc "$t2 - $t1")
  total[$strategy]=$(calc "$t2 - $t0")
  cached[$strategy]=$(grep -o 'from the remote cache [0-9]* ([^)]*)' "$work/$strategy.err" || echo "none")
  printf '%-12s downloaded into the output tree %12d bytes | push %6.2f s | build+push %6.2f s | read from the remote cache by the launcher: %s\n' \
    "$strategy" "${down[$strategy]}" "${push[$strategy]}" "${total[$strategy]}" "${cached[$strategy]}"
  grep '^pushed' "$work/$strategy.err" | sed 's/^/      /'
done
for s in lazy cas_registry; do
  echo "ratios $s/eager: downloaded $(calc "${down[$s]} / ${down[eager]}" 4) | push time $(calc "${push[$s]} / ${push[eager]}") | build+push time $(calc "${total[$s]} / ${total[eager]}")"
done
echo "cas registry requests with a body: $(grep -cE '^(PUT|POST|PATCH) ' "$work/casreg.log") ($(grep -E '^(PUT|POST|PATCH) ' "$work/casreg.log" | awk '{s += $4} END {print s + 0}') bytes)"
