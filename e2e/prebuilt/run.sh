#!/usr/bin/env bash
# Checks the prebuilt img toolchain (bzlmod and WORKSPACE mode): builds img like a release would, writes
# a lockfile with file:// URLs and its integrity, and builds a layer with it;
# then a wrong integrity must fail, and so must a source build without `go`
# or with one older than go.mod asks for.
# Usage: run.sh WORKDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: run.sh WORKDIR}
fails=0
say() { echo "  $*"; }
cd "$here" || exit 1
trap 'rm -f "$here/img_lockfile.json" "$here/pull_tool_lockfile.json"; bazel shutdown >/dev/null 2>&1' EXIT

dist=$work/dist
mkdir -p "$dist"
(cd "$here/../../img_tool" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$dist/img_linux_amd64" ./cmd/img) || exit 1
(cd "$here/../../pull_tool" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$dist/pull_tool_linux_amd64" .) || exit 1
pull_integrity="sha256-$(openssl dgst -sha256 -binary "$dist/pull_tool_linux_amd64" | base64 -w0)"
printf '[{"version": "v0.0.0-test", "integrity": "%s", "os": "linux", "cpu": "amd64", "url_templates": ["file://%s/pull_tool_{os}_{cpu}{dot}{extension}"]}]\n' "$pull_integrity" "$dist" >pull_tool_lockfile.json
integrity="sha256-$(openssl dgst -sha256 -binary "$dist/img_linux_amd64" | base64 -w0)"
lockfile() {
  printf '[{"version": "v0.0.0-test", "integrity": "%s", "os": "linux", "cpu": "amd64", "url_templates": ["file://%s/img_{os}_{cpu}{dot}{extension}"]}]\n' "$1" "$dist" >img_lockfile.json
}

lockfile "$integrity"
if bazel build //:layer >"$work/prebuilt.out" 2>&1 &&
   bazel aquery 'mnemonic(LayerTar, //:layer)' 2>/dev/null | grep -cE 'exec external/rules_img[~+]+prebuilt_img_tool[~+]img_toolchain_linux_amd64/img(_build)?\.exe' >/dev/null &&
   cmp -s "$(ls -d "$(bazel info output_base 2>/dev/null)"/external/rules_img[~+]*prebuilt_img_tool[~+]img_toolchain_linux_amd64)/img_build.exe" "$dist/img_linux_amd64"; then
  say "ok: the layer action runs the prebuilt binary from the lockfile (img_build.exe is the same binary)"
  digest=$(jq -r .digest bazel-bin/layer_metadata.json)
  [ "$digest" = "sha256:$(sha256sum bazel-bin/layer.tgz | cut -d' ' -f1)" ] && say "ok: prebuilt layer digest $digest" || { say "FAIL: digest mismatch"; fails=$((fails + 1)); }
else
  say "FAIL: build with the prebuilt toolchain"; tail -20 "$work/prebuilt.out"; fails=$((fails + 1))
fi

# WORKSPACE mode: the source-built toolchain by default, the lockfile's with
# --extra_toolchains.
cp img_lockfile.json ../workspace/img_lockfile.json
ws() { (cd ../workspace && bazel "$@"); }
if ws build //:layer >"$work/ws.out" 2>&1 && [ "$(jq -r .name ../workspace/bazel-bin/layer_metadata.json)" = "//:layer" ] &&
   ws build --extra_toolchains=@img_prebuilt//:all //:layer >>"$work/ws.out" 2>&1 &&
   ws aquery --extra_toolchains=@img_prebuilt//:all 'mnemonic(LayerTar, //:layer)' 2>/dev/null | grep -cE 'exec external/img_prebuilt_linux_amd64/img(_build)?\.exe' >/dev/null; then
  say "ok: WORKSPACE mode builds the layer with the source-built and the lockfile toolchain"
else
  say "FAIL: WORKSPACE mode"; tail -20 "$work/ws.out"; fails=$((fails + 1))
fi
ws shutdown >/dev/null 2>&1
rm -f ../workspace/img_lockfile.json

# The pull tool from its lockfile: the repository holds the downloaded binary,
# byte for byte the one built above.
pt=$(bazel cquery --output=files @pull_hub_repo//:pull_tool 2>/dev/null)
if [ -n "$pt" ] && cmp -s "$(bazel info output_base 2>/dev/null)/$pt" "$dist/pull_tool_linux_amd64"; then
  say "ok: pull_tool comes from its lockfile (integrity checked)"
else
  say "FAIL: prebuilt pull_tool ($pt)"; fails=$((fails + 1))
fi

lockfile "sha256-$(printf wrong | openssl dgst -sha256 -binary | base64 -w0)"
if bazel build //:layer >"$work/prebuilt.out" 2>&1; then
  say "FAIL: a wrong integrity was accepted"; fails=$((fails + 1))
elif grep -q "lockfile .*img_lockfile.json: the img binary for linux/amd64 (v0.0.0-test) does not match its integrity" "$work/prebuilt.out" &&
     grep -qF "expected: sha256-$(printf wrong | openssl dgst -sha256 -binary | base64 -w0)" "$work/prebuilt.out" &&
     grep -qF "actual:   $integrity" "$work/prebuilt.out"; then
  say "ok: wrong integrity: the error names the lockfile, the expected and the actual hash"
else
  say "FAIL: wrong integrity gave no checksum error"; tail -5 "$work/prebuilt.out"; fails=$((fails + 1))
fi
rm -f img_lockfile.json
bazel shutdown >/dev/null 2>&1

# The source build (e2e/basic) in a fresh output base with no `go` on PATH.
if (cd ../basic && bazel --output_base="$work/nogo" build --repo_env=PATH=/usr/bin:/bin --repo_env=GOROOT= //:files_layer) >"$work/nogo.out" 2>&1; then
  say "FAIL: source build without go succeeded"; fails=$((fails + 1))
elif grep -qE "building the img tool for linux/amd64 from source needs Go [0-9.]+ or later" "$work/nogo.out" &&
     grep -q "but no \`go\` is on PATH" "$work/nogo.out"; then
  say "ok: without go: $(grep -oE 'building the img tool for linux/amd64 from source needs Go [0-9.]+ or later' "$work/nogo.out" | head -1)"
else
  say "FAIL: no clear message without go"; tail -8 "$work/nogo.out"; fails=$((fails + 1))
fi
# ... and with a go older than go.mod's `go` line.
mkdir -p "$work/oldgo"
printf '#!/bin/sh\necho go1.20.3\n' >"$work/oldgo/go" && chmod +x "$work/oldgo/go"
need=$(sed -n 's/^go //p' ../../img_tool/go.mod)
if (cd ../basic && bazel --output_base="$work/nogo" build --repo_env=PATH="$work/oldgo:/usr/bin:/bin" --repo_env=GOROOT= //:files_layer) >"$work/oldgo.out" 2>&1; then
  say "FAIL: source build with go1.20.3 succeeded"; fails=$((fails + 1))
elif grep -qF "from source needs Go $need or later," "$work/oldgo.out" && grep -qF "$work/oldgo/go is go1.20.3" "$work/oldgo.out"; then
  say "ok: too old a go: needs Go $need or later, but $work/oldgo/go is go1.20.3"
else
  say "FAIL: no clear message for an old go"; grep -A4 ERROR "$work/oldgo.out" | head -8; fails=$((fails + 1))
fi
(cd ../basic && bazel --output_base="$work/nogo" shutdown >/dev/null 2>&1)
rm -rf "$work/nogo" 2>/dev/null || chmod -R u+w "$work/nogo" && rm -rf "$work/nogo"
[ "$fails" = 0 ]
