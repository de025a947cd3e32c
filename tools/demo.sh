#!/usr/bin/env bash
# The main job of rules_img, as a user would run it: builds the example
# layers of e2e/basic (a static C binary with its runfiles, files with
# metadata, a directory, symlinks, imported tars) in every format and the
# example images (the binary alone, an image on top of it, a two-platform
# index), prints each one's digest from its metadata, then starts a registry
# on loopback and pushes the example image to it with `bazel run`, showing
# which blobs moved.
# Usage: tools/demo.sh   (as root on a fresh machine: it installs what it needs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh" >/dev/null
cd "$root/e2e/basic"
images="//images:hello //images:hello_with_files //images:multiarch"
# shellcheck disable=SC2086
bazel build //:all_layers //:all_metadata $images --output_groups=+digest
printf '\n%-26s %-73s %9s  %s\n' LAYER DIGEST BYTES MEDIA_TYPE
for f in $(bazel cquery --output=files //:all_metadata 2>/dev/null); do
  jq -r '"\(.name) \(.digest) \(.size) \(.mediaType)\(if .annotations["containerd.io/snapshot/stargz/toc.digest"] then " (eStargz)" else "" end)"' "$f"
done | sort | while read -r name digest size media; do
  printf '%-26s %-73s %9s  %s\n' "$name" "$digest" "$size" "$media"
done
printf '\n%-26s %-73s\n' IMAGE DIGEST
for f in $(bazel cquery --output=files --output_groups=digest "set($images)" 2>/dev/null); do
  printf '%-26s %-73s\n' "//images:$(basename "$f" _digest)" "$(cat "$f")"
done

# Push the example image to a registry on loopback (started here, stopped at
# the end), twice: the second push finds every blob there already.
port=${DEMO_REGISTRY_PORT:-5080}
eval "$("$root/tools/services/registry.sh" start plain "$port" 2>/dev/null)"
trap '"$root/tools/services/registry.sh" clean plain "$port" >/dev/null 2>&1' EXIT
echo
echo "Pushing //images:hello to $REGISTRY/e2e/hello:latest"
bazel run //images:push_hello -- --registry "$REGISTRY" 2>&1 | grep -vE '^(INFO|Loading|Analyzing|Computing|Target|  bazel-bin|\[)'
echo
echo "Pushing it again (nothing to upload):"
bazel run //images:push_hello -- --registry "$REGISTRY" 2>&1 | grep -E '^pushed'
