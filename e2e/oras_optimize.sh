#!/usr/bin/env bash
# End-to-end checks of ORAS artifacts and image_optimize (e2e/basic/oras),
# with tools that share no code with rules_img:
#   - an artifact of two files with media types of their own and one
#     directory, pushed with image_push to a real registry (distribution v3)
#     and read back with crane: artifactType, empty config, layer media types
#     and title annotations, blob bytes equal to the source files, every
#     blob's digest and size (what `crane validate --remote` checks of an
#     image; crane refuses an artifact's empty config);
#   - image_optimize of //images:hello_with_files to eStargz: every layer
#     opened by the estargz library's reader (layercheck), media types and
#     TOC digest annotations of the manifest, diff_ids recomputed with gzip
#     and sha256sum, pushed and validated, imported into a real containerd
#     and run;
#   - image_optimize to zstd: `zstd -t` on every blob (local and pulled
#     from the registry), the diff_ids unchanged, `crane validate --fast`
#     (crane reads layers as gzip), containerd runs it.
# Prints ok/FAIL lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../tools/services
port=5063
reg=127.0.0.1:$port
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }
gopath=$(go env GOPATH 2>/dev/null || echo /root/go)
export PATH="$gopath/bin:$PATH"
work=$(mktemp -d /tmp/rules_img_oras.XXXXXX)
ns=rules_img_e2e_oras
started_containerd=""
cleanup() {
  if [ -n "${CONTAINERD_ADDRESS:-}" ]; then
    ctr -a "$CONTAINERD_ADDRESS" -n "$ns" images rm e2e/optimized:estargz e2e/optimized:zstd >/dev/null 2>&1
  fi
  [ -n "$started_containerd" ] && "$services/containerd.sh" stop >/dev/null 2>&1
  "$services/registry.sh" clean plain "$port" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
finish() { echo "oras_optimize: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }
cd "$here/basic" || exit 1

"$services/registry.sh" clean plain $port >/dev/null 2>&1
"$services/registry.sh" start plain $port >/dev/null 2>&1 || { bad "start the registry on $reg"; finish; }
if ! bazel build //oras:all @layercheck//:layercheck >"$work/build.out" 2>&1; then
  tail -30 "$work/build.out"; bad "bazel build //oras:all"; finish
fi
ok "bazel build //oras:all"
bin=$(bazel info bazel-bin 2>/dev/null)/oras
layercheck=$(bazel info output_base 2>/dev/null)/$(bazel cquery --output=files @layercheck//:layercheck 2>/dev/null | head -1)

# 1. The ORAS artifact.
if bazel run //oras:push_artifact >"$work/push.out" 2>&1; then ok "image_push of the artifact"; else tail -10 "$work/push.out"; bad "image_push of the artifact"; fi
remote=$(crane manifest "$reg/e2e/oras:latest" 2>"$work/crane.err") || { cat "$work/crane.err"; bad "crane manifest $reg/e2e/oras:latest"; finish; }
r() { jq -r "$1" <<<"$remote"; }
check "registry manifest = built manifest (bytes)" cmp <(printf %s "$remote") "$bin/artifact_manifest.json"
check "artifactType" test "$(r .artifactType)" = application/vnd.example.bundle.v1
check "config: the empty descriptor {}" test "$(r '"\(.config.mediaType) \(.config.digest) \(.config.size)"')" = \
  "application/vnd.oci.empty.v1+json sha256:$(printf '{}' | sha256sum | cut -d' ' -f1) 2"
check "config blob is {}" test "$(crane blob "$reg/e2e/oras@$(r .config.digest)")" = "{}"
check "layer media types" test "$(r '[.layers[].mediaType] | join(",")')" = \
  "text/plain,application/vnd.example.settings.v1+json,application/vnd.oci.image.layer.v1.tar+gzip"
check "titles (org.opencontainers.image.title)" test "$(r '[.layers[].annotations["org.opencontainers.image.title"]] | join(",")')" = \
  "notes.txt,app-settings.json,bundle"
check "user annotation kept" test "$(r '.layers[1].annotations["org.example.kind"]')" = settings
check "manifest annotation" test "$(r '.annotations["org.example.source"]')" = e2e
i=0
for src in oras/notes.txt oras/settings.json; do
  crane blob "$reg/e2e/oras@$(r ".layers[$i].digest")" >"$work/blob$i" 2>/dev/null
  check "crane blob of layer $i = $src, byte for byte" cmp "$work/blob$i" "$src"
  check "layer $i digest = sha256 of $src" test "$(r ".layers[$i].digest")" = "sha256:$(sha256sum "$src" | cut -d' ' -f1)"
  i=$((i + 1))
done
crane blob "$reg/e2e/oras@$(r '.layers[2].digest')" >"$work/bundle.tgz" 2>/dev/null
check "directory blob: a gzip tar of bundle/notes.txt" test "$(tar -tzf "$work/bundle.tgz" | tr '\n' ,)" = "bundle/,bundle/notes.txt,"
check "directory blob: io.deis.oras.content.unpack" test "$(r '.layers[2].annotations["io.deis.oras.content.unpack"]')" = true
check "directory blob: io.deis.oras.content.digest = sha256 of the tar" test "$(r '.layers[2].annotations["io.deis.oras.content.digest"]')" = \
  "sha256:$(gzip -dc "$work/bundle.tgz" | sha256sum | cut -d' ' -f1)"
# The ORAS CLI (tools/setup.sh installs it) pulls the artifact: files named
# by their titles, the directory unpacked.
PATH="$(go env GOPATH 2>/dev/null || echo /root/go)/bin:$PATH"
if ! command -v oras >/dev/null; then
  bad "the oras CLI is not installed (tools/setup.sh: go install oras.land/oras/cmd/oras@v1.2.3)"
else
  mkdir "$work/pull"
  if (cd "$work/pull" && oras pull --plain-http "$reg/e2e/oras:latest") >"$work/oras.out" 2>&1; then
    ok "oras pull"
    check "oras pull: notes.txt = the source" cmp "$work/pull/notes.txt" oras/notes.txt
    check "oras pull: app-settings.json = settings.json" cmp "$work/pull/app-settings.json" oras/settings.json
    check "oras pull: bundle/ unpacked" cmp "$work/pull/bundle/notes.txt" oras/notes.txt
  else
    cat "$work/oras.out"; bad "oras pull"
  fi
fi

# `crane validate` checks images only: it wants an image config (rootfs)
# and gzip layers, which an artifact does not have. What it would check for
# an image is checked here by hand: every blob the manifest names is in the
# registry with that digest and size.
for d in $(r '[.config, .layers[]] | .[] | "\(.digest)/\(.size)"'); do
  crane blob "$reg/e2e/oras@${d%/*}" >"$work/b" 2>/dev/null
  check "artifact blob ${d:7:12}: digest and size as the manifest says" test "sha256:$(sha256sum "$work/b" | cut -d' ' -f1)/$(stat -c %s "$work/b")" = "$d"
done

# 2. image_optimize to eStargz.
src_cfg=$bin/../images/hello_with_files_config.json
n=$(jq '.layers | length' "$bin/hello_estargz_manifest.json")
check "eStargz: as many layers as the source ($n)" test "$n" = "$(jq '.layers | length' "$bin/../images/hello_with_files_manifest.json")"
for ((i = 0; i < n; i++)); do
  blob=$bin/hello_estargz_layer_$i.tgz md=$bin/hello_estargz_layer_${i}_metadata.json
  got=$("$layercheck" "$blob" "$md" 2>&1)
  case $got in *"(eStargz, TOC verified)"*) ok "eStargz layer $i: opened by the estargz reader" ;; *) bad "eStargz layer $i: layercheck: $got" ;; esac
  desc=$(jq -c ".layers[$i]" "$bin/hello_estargz_manifest.json")
  check "eStargz layer $i: media type tar+gzip" test "$(jq -r .mediaType <<<"$desc")" = application/vnd.oci.image.layer.v1.tar+gzip
  check "eStargz layer $i: toc.digest annotation = the layer's TOC" test "$(jq -r '.annotations["containerd.io/snapshot/stargz/toc.digest"]' <<<"$desc")" = \
    "$(jq -r '.annotations["containerd.io/snapshot/stargz/toc.digest"]' "$md")"
  check "eStargz layer $i: digest = sha256 of the blob" test "$(jq -r .digest <<<"$desc")" = "sha256:$(sha256sum "$blob" | cut -d' ' -f1)"
  check "eStargz layer $i: diff_id = sha256 of gzip -dc" test "$(jq -r ".rootfs.diff_ids[$i]" "$bin/hello_estargz_config.json")" = \
    "sha256:$(gzip -dc "$blob" | sha256sum | cut -d' ' -f1)"
  check "eStargz layer $i: GNU tar sees stargz.index.json" test "$(tar -tzf "$blob" | grep -cx stargz.index.json)" = 1
done
check "eStargz: config keeps everything but the diff_ids" test \
  "$(jq -cS 'del(.rootfs.diff_ids)' "$bin/hello_estargz_config.json")" = "$(jq -cS 'del(.rootfs.diff_ids)' "$src_cfg")"
check "eStargz: layer annotations of the source kept" test "$(jq -r '.layers[1].annotations["org.example.layer"]' "$bin/hello_estargz_manifest.json")" = files

# 3. image_optimize to zstd.
n=$(jq '.layers | length' "$bin/hello_zstd_manifest.json")
for ((i = 0; i < n; i++)); do
  blob=$bin/hello_zstd_layer_$i.tar.zst
  check "zstd layer $i: zstd -t" zstd -q -t "$blob"
  check "zstd layer $i: media type tar+zstd" test "$(jq -r ".layers[$i].mediaType" "$bin/hello_zstd_manifest.json")" = application/vnd.oci.image.layer.v1.tar+zstd
  check "zstd layer $i: diff_id unchanged = sha256 of zstd -dc" test "$(jq -r ".rootfs.diff_ids[$i]" "$src_cfg")" = \
    "sha256:$(zstd -q -dc "$blob" | sha256sum | cut -d' ' -f1)"
done
check "zstd: config = the source's (same diff_ids, same fields)" cmp <(jq -cS . "$bin/hello_zstd_config.json") <(jq -cS . "$src_cfg")

# 4. Push both, read back and validate.
for kind in estargz zstd; do
  if bazel run //oras:push_$kind >"$work/push.out" 2>&1; then ok "image_push of the $kind image"; else tail -10 "$work/push.out"; bad "image_push of the $kind image"; continue; fi
  check "$kind: registry manifest = built manifest" cmp <(crane manifest "$reg/e2e/optimized:$kind") "$bin/hello_${kind}_manifest.json"
  # crane decompresses every layer as gzip, so zstd images get --fast (no
  # layer digesting) and the zstd blobs are checked below with zstd.
  fast=""; [ $kind = zstd ] && fast=--fast
  if crane validate $fast --remote "$reg/e2e/optimized:$kind" >"$work/validate.out" 2>&1; then ok "crane validate${fast:+ $fast} --remote ($kind)"; else cat "$work/validate.out"; bad "crane validate --remote ($kind)"; fi
done
i=0
for d in $(jq -r '.layers[].digest' "$bin/hello_zstd_manifest.json"); do
  crane blob "$reg/e2e/optimized@$d" >"$work/pulled.zst" 2>/dev/null
  check "zstd: pulled blob ${d:7:12} passes zstd -t" zstd -q -t "$work/pulled.zst"
  check "zstd: pulled blob ${d:7:12} has its digest and the config's diff_id" test \
    "sha256:$(sha256sum "$work/pulled.zst" | cut -d' ' -f1) sha256:$(zstd -q -dc "$work/pulled.zst" | sha256sum | cut -d' ' -f1)" = \
    "$d $(crane config "$reg/e2e/optimized:zstd" | jq -r ".rootfs.diff_ids[$i]")"
  i=$((i + 1))
done
# An index: both platforms rewritten, the new index lists them in order.
if bazel run //oras:push_multiarch_zstd >"$work/push.out" 2>&1; then ok "image_push of the optimized index"; else tail -10 "$work/push.out"; bad "image_push of the optimized index"; fi
idx=$(crane manifest "$reg/e2e/optimized:multiarch-zstd" 2>/dev/null)
bazel build //images:multiarch >"$work/build.out" 2>&1 || { tail -10 "$work/build.out"; bad "bazel build //images:multiarch"; }
check "index: platforms of the source, in order" test "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | join(",")' <<<"$idx")" = \
  "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | join(",")' "$bin/../images/multiarch_index.json")"
for d in $(jq -r '.manifests[].digest' <<<"$idx"); do
  check "index: manifest ${d:7:12} has zstd layers only" test "$(crane manifest "$reg/e2e/optimized@$d" | jq -r '[.layers[].mediaType] | unique | join(",")')" = application/vnd.oci.image.layer.v1.tar+zstd
done
if crane validate --fast --remote "$reg/e2e/optimized:multiarch-zstd" >"$work/validate.out" 2>&1; then ok "crane validate --fast --remote (index)"; else cat "$work/validate.out"; bad "crane validate --remote (index)"; fi

remote=$(crane manifest "$reg/e2e/optimized:estargz" 2>/dev/null)
check "eStargz: every pulled layer descriptor has a toc.digest" test \
  "$(jq '[.layers[] | select(.annotations["containerd.io/snapshot/stargz/toc.digest"] | startswith("sha256:"))] | length' <<<"$remote")" = "$(jq '.layers | length' <<<"$remote")"

# 5. containerd runs both.
bazel build --output_groups=oci_tarball //oras:hello_estargz //oras:hello_zstd >"$work/build.out" 2>&1 || { tail -10 "$work/build.out"; bad "build the OCI layout tarballs"; }
"$services/containerd.sh" status >/dev/null 2>&1 || started_containerd=1
eval "$("$services/containerd.sh" start 2>/dev/null)"
c() { ctr -a "$CONTAINERD_ADDRESS" -n "$ns" "$@"; }
for kind in estargz zstd; do
  c images rm "e2e/optimized:$kind" >/dev/null 2>&1
  tarball=$(bazel cquery --output=files --output_groups=oci_tarball //oras:hello_$kind 2>/dev/null)
  check "containerd: import the $kind image" c images import --index-name "e2e/optimized:$kind" "$tarball"
  got=$(c run --rm "e2e/optimized:$kind" "run-oras-$kind-$$" 2>&1)
  if [ "$got" = "Hello from rules_img!" ]; then ok "containerd: ctr run of the $kind image prints the greeting"; else bad "containerd: ctr run $kind printed: $got"; fi
done
finish
