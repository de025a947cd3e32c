#!/usr/bin/env bash
# The main job of rules_img, as a user would run it: builds the example
# layers of e2e/basic (a static C binary with its runfiles, files with
# metadata, a directory, symlinks, imported tars) in every format and the
# example images (the binary alone, an image on top of it, a two-platform
# index), prints each one's digest from its metadata, then starts a registry
# on loopback and pushes the example image to it with `bazel run`, showing
# which blobs moved, and loads it into a containerd on a private socket
# (also started here) and runs it.
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
trap '"$root/tools/services/registry.sh" clean plain "$port" >/dev/null 2>&1; "$root/tools/services/containerd.sh" stop >/dev/null 2>&1' EXIT
echo
echo "Pushing //images:hello to $REGISTRY/e2e/hello:latest"
bazel run //images:push_hello -- --registry "$REGISTRY" 2>&1 | grep -vE '^(INFO|Loading|Analyzing|Computing|Target|  bazel-bin|\[)'
echo
echo "Pushing it again (nothing to upload):"
bazel run //images:push_hello -- --registry "$REGISTRY" 2>&1 | grep -E '^pushed'

# Load it into containerd (only the blobs containerd lacks go into its
# content store) and run it there.
eval "$("$root/tools/services/containerd.sh" start 2>/dev/null)"
export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE=rules_img_demo
echo
echo "Loading //images:hello into containerd ($CONTAINERD_ADDRESS, namespace $CONTAINERD_NAMESPACE)"
bazel run //images:load_hello 2>&1 | grep -vE '^(INFO|Loading|Analyzing|Computing|Target|  bazel-bin|\[)'
echo
echo "Running it: ctr run --rm docker.io/e2e/hello:latest"
ctr -a "$CONTAINERD_ADDRESS" -n "$CONTAINERD_NAMESPACE" run --rm docker.io/e2e/hello:latest "demo-$$"
