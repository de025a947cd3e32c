#!/usr/bin/env bash
# image_bench.sh: how long the metadata-only image actions take, next to
# baselines run in the same invocation on the same machine:
#   - `img` start-up (`img` with no command) vs /bin/true and `jq -n 1`;
#   - `img manifest` of an image with 100 layers (100 layer metadata files)
#     vs `jq -s` merely reading the same 100 files;
#   - `img index` of a two-platform index.
# Each is run RUNS times (default 50); the table gives the median and best
# wall time in milliseconds and the ratio of the medians to the baseline.
# Usage: img_tool/bench/image_bench.sh   (env: RUNS, WORK, IMG)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-50}
WORK=${WORK:-/tmp/img-image-bench}
export PATH="/usr/local/go/bin:$PATH"
mkdir -p "$WORK"
IMG=${IMG:-$WORK/img}
if [ "$IMG" = "$WORK/img" ]; then
  (cd "$here/.." && CGO_ENABLED=0 go build -trimpath -o "$IMG" ./cmd/img)
fi

# 100 layer metadata files with made-up but well-formed digests.
md=$WORK/md
rm -rf "$md" && mkdir -p "$md"
for i in $(seq 1 100); do
  d=$(printf 'layer-%d' "$i" | sha256sum | cut -c1-64)
  u=$(printf 'tar-%d' "$i" | sha256sum | cut -c1-64)
  printf '{"name":"//bench:layer_%d","diff_id":"sha256:%s","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d,"annotations":{}}\n' "$i" "$u" "$d" "$((i * 1000))" >"$md/$i.json"
done
layer_args=()
for i in $(seq 1 100); do layer_args+=(--layer-from-metadata "$md/$i.json"); done
for arch in amd64 arm64; do
  "$IMG" manifest --os linux --architecture "$arch" "${layer_args[@]}" --entrypoint /app \
    --manifest "$WORK/$arch.manifest.json" --config "$WORK/$arch.config.json" \
    --descriptor "$WORK/$arch.descriptor.json" --digest "$WORK/$arch.digest"
done

# time_ms CMD...: wall milliseconds of one run.
time_ms() {
  local s e
  s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
  echo $(((e - s) / 1000))
}
# measure NAME CMD...: RUNS runs -> "name median best" (microseconds).
measure() {
  local name=$1; shift
  local t=()
  for _ in $(seq 1 "$RUNS"); do t+=("$(time_ms "$@")"); done
  printf '%s\n' "${t[@]}" | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "%s %d %d\n", n, a[int((NR+1)/2)], a[1]}'
}

results=$WORK/results.txt
: >"$results"
measure "true" /bin/true >>"$results"
measure "jq -n 1" jq -n 1 >>"$results"
measure "img (start-up)" "$IMG" >>"$results"
measure "jq -s (read 100 metadata files)" jq -s length "$md"/*.json >>"$results"
measure "img manifest (100 layers)" "$IMG" manifest --os linux --architecture amd64 "${layer_args[@]}" --entrypoint /app \
  --manifest "$WORK/m.json" --config "$WORK/c.json" --descriptor "$WORK/d.json" --digest "$WORK/g" >>"$results"
measure "img index (2 platforms)" "$IMG" index --manifest-descriptor "$WORK/amd64.descriptor.json" \
  --manifest-descriptor "$WORK/arm64.descriptor.json" --index "$WORK/i.json" --digest "$WORK/ig" >>"$results"

echo "## image action benchmark ($RUNS runs each, $(nproc) CPUs)"
echo
echo "| command | median ms | best ms | ratio (median) |"
echo "|---|---:|---:|---|"
base_start=$(awk '$1 == "true" {print $2}' "$results")
base_read=$(awk '/^jq -s/ {print $(NF-1)}' "$results")
while read -r line; do
  best=${line##* }; rest=${line% *}; med=${rest##* }; name=${rest% *}
  case $name in
    "img (start-up)") ratio=$(awk -v a="$med" -v b="$base_start" 'BEGIN {printf "%.1fx /bin/true", a / b}') ;;
    "img manifest"*|"img index"*) ratio=$(awk -v a="$med" -v b="$base_read" 'BEGIN {printf "%.2fx jq reading the inputs", a / b}') ;;
    *) ratio="-" ;;
  esac
  printf '| %s | %.2f | %.2f | %s |\n' "$name" "$(awk -v v="$med" 'BEGIN {print v / 1000}')" "$(awk -v v="$best" 'BEGIN {print v / 1000}')" "$ratio"
done <"$results"
