#!/usr/bin/env bash
# WORKSPACE-mode checks of rules_img against a seeded test registry: a
# shallow `pull` and an image on it, `pull_blob_file` / `pull_blob_archive`
# (pull tool and Bazel's downloader), the pull tool from
# pull_tool_register_prebuilt_repositories, and img_register_prebuilt_toolchains
# with rules_img's empty lockfile (source fallback), a right and a wrong
# integrity. e2e/pull/run.sh seeds the registry and runs this.
# Usage: E2E_REGISTRY=host:port E2E_BASE_DIGEST=sha256:... \
#        E2E_CONFIG_DIGEST=sha256:... E2E_LAYER_DIGEST=sha256:... \
#        E2E_REGISTRY_LOG=file E2E_BASE_LAYERS="sha256:... ..." run.sh WORKDIR
#   base/workspace and base/blobs on the registry must hold the base image.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: run.sh WORKDIR}
: "${E2E_REGISTRY:?}" "${E2E_BASE_DIGEST:?}" "${E2E_CONFIG_DIGEST:?}" "${E2E_LAYER_DIGEST:?}" "${E2E_REGISTRY_LOG:?}" "${E2E_BASE_LAYERS:?}"
fails=0
say() { echo "  $*"; }
no() { say "FAIL: $*"; fails=$((fails + 1)); }
cd "$here" || exit 1
trap 'rm -f "$here/locked_lockfile.json" "$here/bad_lockfile.json"; bazel shutdown >/dev/null 2>&1' EXIT
repo_env=()
for v in E2E_REGISTRY E2E_BASE_DIGEST E2E_CONFIG_DIGEST E2E_LAYER_DIGEST; do repo_env+=("--repo_env=$v=${!v}"); done
ws() { bazel "$1" "${repo_env[@]}" "${@:2}"; }
ext=$(bazel info output_base 2>/dev/null)/external

# 1. A shallow pull in WORKSPACE mode and an image on top.
if ws build //:app_on_base >"$work/ws_pull.out" 2>&1; then
  mf=$(ws cquery --output=files //:app_on_base 2>/dev/null | grep _manifest.json)
  [ "$(jq '.layers | length' "$mf")" = 4 ] && say "ok: WORKSPACE pull + image_manifest: 3 base layers + 1" || no "image on the pulled base: $(jq '.layers | length' "$mf") layers"
  hits=0
  for d in $E2E_BASE_LAYERS; do grep -q "\"GET /v2/base/workspace/blobs/$d" "$E2E_REGISTRY_LOG" && hits=$((hits + 1)); done
  [ "$hits" = 0 ] && say "ok: the WORKSPACE pull is shallow (no layer GET in the registry log)" || no "$hits layers fetched by a shallow pull"
else
  no "WORKSPACE pull"; tail -20 "$work/ws_pull.out"
fi
grep -q "built from source with the host's go" "$ext/rules_img_pull_tool/BUILD.bazel" 2>/dev/null &&
  say "ok: @rules_img_pull_tool: $(head -1 "$ext/rules_img_pull_tool/BUILD.bazel" | sed 's/^# //')" || no "@rules_img_pull_tool is not the source fallback"
ws query @pull_hub_repo//:pull_tool >/dev/null 2>&1 && say "ok: @pull_hub_repo//:pull_tool exists (upstream's name)" || no "@pull_hub_repo//:pull_tool"

# 2. Single blobs: the config as a file (pull tool, mirror down; Bazel's
#    downloader, executable; lazy), a layer extracted with strip_prefix.
if ws build //:blob_sums >"$work/ws_blob.out" 2>&1; then
  sums=bazel-bin/blob_sums.txt
  want=${E2E_CONFIG_DIGEST#sha256:}
  [ "$(grep -c "^$want " "$sums")" = 3 ] && say "ok: pull_blob_file: the config blob, by the pull tool, by Bazel's downloader and lazily by a build action, hashes to its digest" || { no "pull_blob_file content"; cat "$sums"; }
  [ -x "$ext/config_blob_bazel/blob" ] && [ ! -x "$ext/config_blob/config.json" ] && say "ok: pull_blob_file: executable = True gives an executable file, the default does not" || no "pull_blob_file executable"
  size=$(stat -L -c %s "$ext/noise_layer/noise_1.bin" 2>/dev/null)
  [ "$size" = 2097152 ] && say "ok: pull_blob_archive: the layer extracted with strip_prefix (noise_1.bin, $size bytes)" || no "pull_blob_archive: noise_1.bin size $size"
else
  no "pull_blob_file / pull_blob_archive"; tail -20 "$work/ws_blob.out"
fi
if ws build @wrong_blob//file >"$work/ws_wrong.out" 2>&1; then
  no "pull_blob_file of a missing digest succeeded"
elif grep -q "pull_blob_file wrong_blob: cannot fetch blob base/blobs@sha256:0000000000000000000000000000000000000000000000000000000000000000 from $E2E_REGISTRY" "$work/ws_wrong.out"; then
  say "ok: pull_blob_file: a missing blob fails naming the repository rule, repository, digest and registry"
else
  no "pull_blob_file: unclear error"; grep -A3 ERROR "$work/ws_wrong.out" | head -6
fi

# 3. img_register_prebuilt_toolchains: rules_img's empty lockfile builds the
#    host's tool from source; a lockfile entry with the right integrity is
#    downloaded; a wrong one fails naming the lockfile and both hashes.
if ws build --extra_toolchains=@img_upstream//:all //:layer >"$work/ws_tc.out" 2>&1 &&
   ws aquery --extra_toolchains=@img_upstream//:all 'mnemonic(LayerTar, //:layer)' 2>/dev/null | grep -cE 'external/img_upstream_linux_amd64/img(_build)?\.exe' >/dev/null; then
  say "ok: img_register_prebuilt_toolchains(): no lockfile entry for the host, the source-built tool"
else
  no "img_register_prebuilt_toolchains source fallback"; tail -10 "$work/ws_tc.out"
fi
img=$ext/img_upstream_linux_amd64/img.exe
integrity="sha256-$(openssl dgst -sha256 -binary "$img" | base64 -w0)"
entry() { printf '[{"version": "v0.0.0-test", "integrity": "%s", "os": "linux", "cpu": "amd64", "url_templates": ["file://%s"]}]\n' "$1" "$(readlink -f "$img")"; }
entry "$integrity" >locked_lockfile.json
if ws build --extra_toolchains=@img_locked//:all //:layer >"$work/ws_tc.out" 2>&1 &&
   ws aquery --extra_toolchains=@img_locked//:all 'mnemonic(LayerTar, //:layer)' 2>/dev/null | grep -cE 'external/img_locked_linux_amd64/img(_build)?\.exe' >/dev/null; then
  say "ok: img_register_prebuilt_toolchains(lockfile): the host's entry, integrity checked"
else
  no "img_register_prebuilt_toolchains with a lockfile"; tail -10 "$work/ws_tc.out"
fi
wrong="sha256-$(printf wrong | openssl dgst -sha256 -binary | base64 -w0)"
entry "$wrong" >bad_lockfile.json
if ws build --extra_toolchains=@img_badlock//:all //:layer >"$work/ws_tc.out" 2>&1; then
  no "a wrong integrity was accepted"
elif grep -q "lockfile .*bad_lockfile.json" "$work/ws_tc.out" && grep -qF "$wrong" "$work/ws_tc.out" && grep -qF "$integrity" "$work/ws_tc.out"; then
  say "ok: wrong integrity: the error names the lockfile and both hashes"
else
  no "wrong integrity: unclear error"; grep -A4 ERROR "$work/ws_tc.out" | head -8
fi
[ "$fails" = 0 ]
