#!/usr/bin/env bash
# End-to-end checks of image_manifest_from_oci_layout and
# image_index_from_oci_layout (e2e/basic/convert) against the real
# distribution registry on port 5062: an image and a two-platform index of
# e2e/basic are pushed, `crane pull --format=oci` writes their OCI layouts
# into e2e/basic/convert/layouts/ (gitignored), Bazel imports them, puts a
# layer on top and pushes again; crane checks what the registry holds. A
# layout with a corrupted blob must fail, naming the blob.
# Prints ok/FAIL lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../tools/services
gopath=$(go env GOPATH 2>/dev/null || echo /root/go)
export PATH="$gopath/bin:$PATH"
port=5062
reg=127.0.0.1:$port
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_convert.XXXXXX)
layouts=$here/basic/convert/layouts
containerd_was_up=false
"$services/containerd.sh" status >/dev/null 2>&1 && containerd_was_up=true
cleanup() {
  "$services/registry.sh" clean plain "$port" >/dev/null 2>&1
  $containerd_was_up || "$services/containerd.sh" stop >/dev/null 2>&1
  rm -rf "$work" "$layouts"
}
trap cleanup EXIT
summary() {
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
}

"$services/registry.sh" clean plain "$port" >/dev/null 2>&1
if ! "$services/registry.sh" start plain "$port" >"$work/registry.env" 2>&1; then
  cat "$work/registry.env"; bad "start the registry on $reg"; summary
fi
cd "$here/basic" || exit 1
files_of() { bazel cquery --output=files --output_groups="${2:-default}" "$1" 2>/dev/null; }
digest_of() { cat "$(files_of "$1" digest)"; }
crn() { crane --insecure "$@"; }

# 1. Seeds in the registry, pulled as OCI layouts by crane.
for t in push_seed push_seed_index; do
  bazel run "//convert:$t" >"$work/run.out" 2>&1 || { tail -10 "$work/run.out"; bad "bazel run //convert:$t"; summary; }
done
rm -rf "$layouts" && mkdir -p "$layouts"
if crn pull --format=oci "$reg/convert/seed:latest" "$layouts/image" 2>"$work/pull.err" &&
  crn pull --format=oci --platform=all "$reg/convert/seed-index:latest" "$layouts/index" 2>>"$work/pull.err"; then
  ok "crane pull --format=oci: an image and a two-platform index as OCI layouts"
else
  cat "$work/pull.err"; bad "crane pull --format=oci"; summary
fi
seed=$(crn digest "$reg/convert/seed:latest")
seed_index=$(crn digest "$reg/convert/seed-index:latest")

# 2. The imported image keeps the pulled manifest, from the files and from the directory.
if bazel build //convert:base //convert:base_from_dir --output_groups=+digest >"$work/build.out" 2>&1; then
  got=$(digest_of //convert:base) dir=$(digest_of //convert:base_from_dir)
  [ "$got" = "$seed" ] && [ "$dir" = "$seed" ] && ok "imported image (glob and directory) has the registry's digest $seed" ||
    bad "imported digests $got and $dir, registry has $seed"
else
  tail -20 "$work/build.out"; bad "bazel build //convert:base //convert:base_from_dir"
fi

# 3. A layer on top, pushed; crane checks the registry's image.
if bazel run //convert:push_on_top >"$work/run.out" 2>&1; then
  ok "bazel run //convert:push_on_top"
else
  tail -20 "$work/run.out"; bad "bazel run //convert:push_on_top"
fi
ref=$reg/convert/on-top:latest
[ "$(crn digest "$ref" 2>&1)" = "$(digest_of //convert:on_top)" ] && ok "registry holds the built digest of on_top" || bad "on_top digest in the registry"
crn validate --remote "$ref" >"$work/validate.out" 2>&1 && ok "crane validate --remote $ref" || { tail -5 "$work/validate.out"; bad "crane validate --remote $ref"; }
base_layers=$(crn manifest "$reg/convert/seed:latest" | jq -c '[.layers[].digest]')
top_layers=$(crn manifest "$ref" | jq -c '[.layers[].digest]')
n=$(jq length <<<"$base_layers")
if [ "$(jq length <<<"$top_layers")" = $((n + 1)) ] && [ "$(jq -c ".[:$n]" <<<"$top_layers")" = "$base_layers" ]; then
  ok "on_top: $((n + 1)) layers, the $n base layer digests preserved in order"
else
  bad "on_top layers $top_layers, base $base_layers"
fi
base_ids=$(crn config "$reg/convert/seed:latest" | jq -c '.rootfs.diff_ids')
top_cfg=$(crn config "$ref")
if [ "$(jq -c ".rootfs.diff_ids[:$n]" <<<"$top_cfg")" = "$base_ids" ] &&
  [ "$(jq -r '.config.Env | index("CONVERTED=yes") != null' <<<"$top_cfg")" = true ] &&
  [ "$(jq -c .config.Entrypoint <<<"$top_cfg")" = "$(crn config "$reg/convert/seed:latest" | jq -c .config.Entrypoint)" ]; then
  ok "on_top config: base diff_ids kept, entrypoint inherited, env added"
else
  bad "on_top config: $(jq -c '{rootfs, Env: .config.Env, Entrypoint: .config.Entrypoint}' <<<"$top_cfg")"
fi
# The docker tarball of the image on top holds every blob (the imported ones too).
if bazel build //convert:on_top --output_groups=tarball >"$work/build.out" 2>&1 &&
  crane validate --tarball "$(files_of //convert:on_top tarball)" >"$work/validate.out" 2>&1; then
  ok "crane validate --tarball of on_top's docker tarball"
else
  tail -n 5 "$work/build.out" "$work/validate.out"; bad "on_top tarball"
fi

# image_structure_test of the image on top: imported layers listed at build time.
if bazel test //convert:on_top_structure_test >"$work/test.out" 2>&1; then
  log=$(cat "$(bazel info bazel-testlogs 2>/dev/null)/convert/on_top_structure_test/test.log")
  [[ $log == *'Summary: 4 passed, 0 failed'* ]] && ok "image_structure_test of on_top (imported base layers listed)" ||
    { echo "$log" | tail -8; bad "on_top_structure_test log lacks its summary"; }
else
  tail -n 20 "$work/test.out"; bad "bazel test //convert:on_top_structure_test"
fi

# The image on top loads into containerd and runs the base's entrypoint.
if eval "$("$services/containerd.sh" start 2>/dev/null)"; then
  export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE=rules_img_e2e_convert
  ctr="ctr -a $CONTAINERD_ADDRESS -n $CONTAINERD_NAMESPACE"
  $ctr images rm docker.io/e2e/convert-on-top:latest >/dev/null 2>&1
  if bazel run //convert:load_on_top >"$work/run.out" 2>&1; then
    got=$($ctr run --rm docker.io/e2e/convert-on-top:latest "convert-$$" 2>&1)
    [ "$got" = "Hello from rules_img!" ] && ok "containerd: on_top loaded, ctr run prints the greeting" || bad "containerd: ctr run printed: $got"
    $ctr images rm docker.io/e2e/convert-on-top:latest >/dev/null 2>&1
  else
    tail -n 10 "$work/run.out"; bad "bazel run //convert:load_on_top"
  fi
else
  bad "start containerd"
fi

# 4. The two-platform index, pushed as it is: same digest as the one pulled.
if bazel run //convert:push_index >"$work/run.out" 2>&1; then
  got=$(crn digest "$reg/convert/index:latest" 2>&1)
  [ "$got" = "$seed_index" ] && [ "$(digest_of //convert:base_index)" = "$seed_index" ] &&
    ok "imported index pushed with the pulled index's digest $seed_index" || bad "index digest $got, pulled $seed_index"
  crn validate --remote "$reg/convert/index:latest" >"$work/validate.out" 2>&1 && ok "crane validate --remote of the index" ||
    { tail -5 "$work/validate.out"; bad "crane validate --remote of the index"; }
  plats=$(crn manifest "$reg/convert/index:latest" | jq -r '[.manifests[].platform | .os + "/" + .architecture] | join(",")')
  [ "$plats" = "linux/amd64,linux/arm64" ] && ok "index platforms $plats" || bad "index platforms $plats"
else
  tail -20 "$work/run.out"; bad "bazel run //convert:push_index"
fi
if bazel run //convert:push_on_top_of_arm64 >"$work/run.out" 2>&1 &&
  crn validate --remote "$reg/convert/on-top-arm64:latest" >"$work/validate.out" 2>&1; then
  arm=$(crn manifest "$reg/convert/seed-index:latest" | jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
  want=$(crn manifest "$reg/convert/seed-index@$arm" | jq -c '[.layers[].digest]')
  got=$(crn manifest "$reg/convert/on-top-arm64:latest" | jq -c '[.layers[].digest][:-1]')
  arch=$(crn config "$reg/convert/on-top-arm64:latest" | jq -r .architecture)
  [ "$got" = "$want" ] && [ "$arch" = arm64 ] && ok "image on the index's arm64 entry: its layers, then one more; architecture arm64" ||
    bad "on_top_of_arm64: layers $got, want $want first; architecture $arch"
else
  tail -n 10 "$work/run.out" "$work/validate.out"; bad "push_on_top_of_arm64"
fi

# 5. Bad input: a corrupted blob fails naming it; wrong media types name the right ones.
cp -r "$layouts/image" "$layouts/corrupted"
victim=$(jq -r '.manifests[0].digest' "$layouts/corrupted/index.json")
victim=$(jq -r '.layers[1].digest' "$layouts/corrupted/blobs/sha256/${victim#sha256:}")
blob=$layouts/corrupted/blobs/sha256/${victim#sha256:}
size=$(stat -c %s "$blob")
printf 'X' | dd of="$blob" bs=1 seek=$((size / 2)) conv=notrunc status=none
if bazel build //convert:corrupted >"$work/bad.out" 2>&1; then
  bad "a layout with a corrupted blob was imported"
elif grep -c "layer 1 of manifest for linux/amd64 $victim" "$work/bad.out" >/dev/null &&
  grep -c "content does not match its descriptor" "$work/bad.out" >/dev/null; then
  ok "corrupted blob: the build fails naming $victim"; grep -o "img from-oci-layout: .*" "$work/bad.out" | head -1 | cut -c1-400 | sed "s/^/     /"
else
  grep -E "ERROR|img from-oci-layout" "$work/bad.out" | head -5; bad "corrupted blob: unclear error"
fi
if bazel build //convert:wrong_layers >"$work/bad.out" 2>&1; then
  bad "wrong layer media types accepted"
elif grep -c "has $n layers with media types \[" "$work/bad.out" >/dev/null; then
  ok "wrong media types: the error lists the image's $n media types"
else
  grep -E "ERROR|img from-oci-layout" "$work/bad.out" | head -5; bad "wrong media types: unclear error"
fi

summary
