#!/usr/bin/env bash
# A release of rules_img, consumed the way a user without Go consumes it:
#   1. tools/release_test.sh runs tools/release.sh twice (binaries,
#      lockfiles and archive must be byte-identical) and checks the assets;
#   2. this workspace takes rules_img from the first run's archive through
#      archive_override with file:// URLs, in a fresh output base, with no
#      `go` on Bazel's PATH: it pulls a base image (prebuilt pull tool),
#      builds a layer and an image (prebuilt img), pushes them to a real
#      registry (checked with crane) and loads them into containerd, where
#      the image runs;
#   3. the toolchain resolves, for each of the six execution platforms of a
#      release, to the lockfile's binary for that OS and CPU (file(1));
#   4. an execution platform the lockfile lacks fails naming the platform
#      and the lockfile; the servers run from `bazel run @rules_img_tool//...`.
# The workspace imports ../bazel8.bazelrc (Bazel 8 and 9 defaults).
# Prints ok/FAIL lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
services=$root/tools/services
export PATH="$(go env GOPATH)/bin:$PATH"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_release.XXXXXX)
port=5040
# Bazel with a PATH (inside its root) that has no go, a fresh output base,
# and no GOROOT: nothing can build the tools from source.
export BAZEL_SID_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bz() { env -u GOROOT bazel --output_base="$work/ob" "$@"; }
cleanup() {
  [ -n "${RELEASE_E2E_KEEP:-}" ] && return
  (cd "$here" && bz shutdown >/dev/null 2>&1)
  "$services/registry.sh" clean plain "$port" >/dev/null 2>&1
  "$services/containerd.sh" stop >/dev/null 2>&1
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work" "$here/MODULE.bazel" "$here/busybox.tar"
}
trap cleanup EXIT

# 1. Two release runs, identical; the assets checked.
version=0.9.1-test.1
if RELEASE_TEST_DIR=$work/rel "$root/tools/release_test.sh" >"$work/release_test.out" 2>&1; then
  ok "tools/release_test.sh: $(tail -1 "$work/release_test.out")"
else
  grep '^FAIL' "$work/release_test.out" | head -10; tail -3 "$work/release_test.out"
  bad "tools/release_test.sh"; exit 1
fi
dist=$work/rel/out1
archive=$dist/rules_img-$version.tar.gz
integrity="sha256-$(openssl dgst -sha256 -binary "$archive" | base64 -w0)"
[ "$(jq length "$dist/prebuilt_lockfile.json")" = 6 ] && [ "$(jq length "$dist/pull_tool_lockfile.json")" = 6 ] &&
  ok "release: 6 img and 6 pull_tool binaries in the lockfiles, archive $integrity" || bad "release lockfiles"

# 2. A base image with a static busybox, pushed with crane.
"$services/registry.sh" clean plain "$port" >/dev/null 2>&1
while IFS='=' read -r k v; do declare "R_$k=$v"; done < <("$services/registry.sh" start plain "$port" 2>/dev/null)
reg=$R_REGISTRY
mkdir -p "$work/root/bin"
cp "$(command -v busybox)" "$work/root/bin/busybox"
for applet in sh cat; do ln -s busybox "$work/root/bin/$applet"; done
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/root" -cf "$work/base.tar" bin
if crane append --insecure -f "$work/base.tar" -t "$reg/release/base:1" >"$work/seed.out" 2>&1 &&
   crane mutate --insecure --set-platform linux/amd64 -t "$reg/release/base:1" "$reg/release/base:1" >>"$work/seed.out" 2>&1; then
  digest=$(crane digest --insecure "$reg/release/base:1")
  ok "crane pushed the base image $digest"
else
  tail -5 "$work/seed.out"; bad "seed the registry"; exit 1
fi
sed -e "s|@VERSION@|$version|g" -e "s|@URL@|file://$archive|g" -e "s|@INTEGRITY@|$integrity|g" \
    -e "s|@REGISTRY@|$reg|g" -e "s|@DIGEST@|$digest|g" \
    -e "s|@IMG_URL@|file://$dist/img_{os}_{cpu}{dot}{extension}|g" \
    -e "s|@IMG_INTEGRITY@|$(jq -r '.[] | select(.os == "linux" and .cpu == "amd64") | .integrity' "$dist/prebuilt_lockfile.json")|g" \
    "$here/MODULE.bazel.in" >"$here/MODULE.bazel"

cd "$here" || exit 1
inside=$(BAZEL_SID_EXEC=1 bazel /bin/sh -c 'command -v go || echo none' 2>/dev/null)
[ "$inside" = none ] && ok "no go on Bazel's PATH" || bad "go is on Bazel's PATH: $inside"

# Build: the pull tool pulls the base, img writes the layer and the image.
if bz build //:app >"$work/build.out" 2>&1; then
  ok "bazel build //:app with the released archive and no go"
else
  tail -20 "$work/build.out"; bad "bazel build //:app"; exit 1
fi
ext=$(bz info output_base 2>/dev/null)/external
origin() { head -1 "$(ls -d "$ext"/rules_img[+~]*"$1")/BUILD.bazel" 2>/dev/null | sed 's/^# //'; }
o=$(origin pull_hub_repo)
grep -q "lockfile .*pull_tool_lockfile.json (v$version)" <<<"$o" && ok "pull tool: $o" || bad "pull tool origin: $o"
o=$(origin img_toolchain_linux_amd64)
grep -q "lockfile .*prebuilt_lockfile.json (v$version)" <<<"$o" && ok "img tool: $o" || bad "img tool origin: $o"
cmp -s "$(ls -d "$ext"/rules_img[+~]*img_toolchain_linux_amd64)/img.exe" "$dist/img_linux_amd64" &&
  ok "the img binary is the release's img_linux_amd64, byte for byte" || bad "img binary differs from the release's"

# Push, checked with crane.
mf=$(bz cquery --output=files //:app 2>/dev/null | grep '_manifest.json$')
want=sha256:$(sha256sum "$mf" | cut -d' ' -f1)
if bz run //:push -- --registry "$reg" >"$work/push.out" 2>&1 &&
   [ "$(crane digest --insecure "$reg/release/app:1")" = "$want" ]; then
  ok "pushed $reg/release/app:1 = $want (crane)"
else
  tail -10 "$work/push.out"; bad "push"
fi
[ "$(crane config --insecure "$reg/release/app:1" | jq -c .config.Entrypoint)" = '["/bin/cat","/app/hello.txt"]' ] &&
  ok "crane: the pushed config has the entrypoint" || bad "pushed config"

# Load into containerd and run.
eval "$("$services/containerd.sh" start 2>/dev/null)"
export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE=rules_img_e2e_release
ctr="ctr -a $CONTAINERD_ADDRESS -n $CONTAINERD_NAMESPACE"
$ctr images rm docker.io/release/app:1 >/dev/null 2>&1
if bz run --@rules_img//img/settings:load_daemon=containerd //:load >"$work/load.out" 2>&1; then
  got=$($ctr run --rm docker.io/release/app:1 "release-$$" 2>&1)
  [ "$got" = "Hello from a released rules_img" ] && ok "loaded into containerd; ctr run: $got" || bad "ctr run printed: $got"
else
  tail -10 "$work/load.out"; bad "load into containerd"
fi

# What the BCR presubmit builds (.bcr/presubmit.yml): all of rules_img's
# targets, with rules_img as a dependency (no dev dependencies).
if bz build @rules_img//img/... >"$work/bcr.out" 2>&1; then
  ok "bazel build @rules_img//img/... from the archive: $(grep -oE 'Found [0-9]+ targets' "$work/bcr.out")"
else
  grep -E 'ERROR' "$work/bcr.out" | head -8; bad "bazel build @rules_img//img/... from the archive"
fi

# The download tag: one binary, selected with --extra_toolchains.
f=$(bz cquery --extra_toolchains=@img_downloaded//:all --output=files @rules_img//img:resolved_toolchain 2>"$work/dl.out" | grep 'img\.exe$')
case $f in
  */rules_img++prebuilt_img_tool+img_downloaded_linux_amd64/img.exe)
    cmp -s "$(bz info output_base 2>/dev/null)/$f" "$dist/img_linux_amd64" && ok "download tag: @img_downloaded's toolchain runs the release's img_linux_amd64" || bad "download tag: binary differs" ;;
  *) tail -5 "$work/dl.out"; bad "download tag: resolved $f" ;;
esac

# 3. Six execution platforms, each to the lockfile's binary of its OS and CPU.
if BAZEL="env -u GOROOT bazel --output_base=$work/ob" "$here/../exec_platforms.sh" "$here" prebuilt; then
  ok "toolchain resolution: six execution platforms, six prebuilt binaries of the right OS and CPU"
else
  bad "toolchain resolution for six execution platforms (prebuilt)"
fi

# 4. A platform the lockfile lacks, without go: the error names both.
if bz cquery --extra_execution_platforms=//:linux_s390x @rules_img//img:resolved_toolchain >"$work/s390x.out" 2>&1; then
  bad "an execution platform without a binary resolved"
elif grep -qE "lockfile @@rules_img[+~]*//:prebuilt_lockfile.json has no img binary for linux_s390x \(it lists darwin_amd64, darwin_arm64, linux_amd64, linux_arm64, windows_amd64, windows_arm64\)" "$work/s390x.out" &&
     grep -q "needs Go .* or later" "$work/s390x.out"; then
  ok "missing platform: $(grep -oE 'lockfile \S+ has no img binary for linux_s390x' "$work/s390x.out" | head -1), and no go to build it"
else
  grep -A4 ERROR "$work/s390x.out" | head -8; bad "missing platform: unclear error"
fi

# The servers, from the same prebuilt binary: their usage names their flags.
for server in "registry -reapi-endpoint" "bes -cas-endpoint"; do
  cmd=${server%% *} flag=${server#* }
  bz run @rules_img_tool//cmd/$cmd -- --help >"$work/$cmd.out" 2>&1
  grep -qE -- "^ +$flag " "$work/$cmd.out" &&
    ok "bazel run @rules_img_tool//cmd/$cmd -- --help: $(grep -m1 -E -- "^ +$flag " "$work/$cmd.out" | sed 's/^ *//')" ||
    { tail -5 "$work/$cmd.out"; bad "bazel run @rules_img_tool//cmd/$cmd"; }
done

echo "release: $pass passed, $fail failed"
[ "$fail" = 0 ]
