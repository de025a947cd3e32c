#!/usr/bin/env bash
# End-to-end tests of rules_img, run the way a user runs Bazel:
#   1. `bazel test //...` in e2e/basic (every layer checked by GNU tar,
#      bsdtar, gzip, zstd, sha256sum and the estargz reader);
#   2. determinism: layer and image digests of two builds separated by
#      `bazel clean --expunge` are identical;
#   3. bad input fails with a clear message and leaves no output;
#   4. images: config and manifest fields, OCI layouts run in containerd,
#      docker tarballs run in dockerd, crane, stamping (images.sh);
#   5. push: images and indexes to plain, htpasswd and TLS registries, read
#      back with crane, run from the registry in containerd (push.sh);
#   6. load: containerd (incremental), dockerd, podman (load.sh);
#   7. pull: shallow, eager, lazy, mirrors, auth and TLS registries, pushes
#      from a shallow base (stream, mount), bad input (pull/run.sh);
#   8. the prebuilt toolchain: binaries from a lockfile with file:// URLs,
#      integrity checked; and the message when `go` is missing;
#   9. the remote-cache push strategies against Bazel's remote worker and
#      buildbox-casd: lazy, cas_registry, bes (remote/run.sh);
#  10. a workspace written from upstream rules_img's README and docs, in
#      bzlmod and WORKSPACE mode (compat/run.sh);
#  11. the img toolchain of a source checkout resolves for six execution
#      platforms to binaries cross-compiled for each (exec_platforms.sh);
#  12. a release built twice byte-identically, consumed through
#      archive_override without go: pull, build, push, load, the six
#      platforms' prebuilt binaries (release/run.sh);
#  13. programs in C, shell and Python as image_from_binary images on a
#      Debian base built with mmdebstrap and pulled from a loopback registry:
#      run in containerd and dockerd, a linux/amd64 + linux/arm64 index,
#      layer digests across clean builds (languages/run.sh);
#  14. a distroless-style base from base_image_layer, no pull: a static C
#      program as a non-root user and a Go HTTPS client trusting the
#      trust_store, in containerd (base_images.sh);
#  15. image_structure_test: passing, failing and unsupported checks
#      (structure_test.sh);
#  16. OCI layouts written by crane imported, extended, pushed and validated
#      (convert.sh);
#  17. ORAS artifacts read back with crane, image_optimize to eStargz and
#      zstd run in containerd (oras_optimize.sh).
# The bzlmod workspaces run under Bazel 8's and 9's defaults (bazel8.bazelrc).
# Ends with "N passed, N failed". Needs bazel on PATH (tools/setup.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
log=$(mktemp -d /tmp/rules_img_e2e.XXXXXX)
trap 'rm -rf "$log"' EXIT

cd "$here/basic" || exit 1

# 1. Layers, checked by independent tools.
if bazel test //... >"$log/test.out" 2>&1; then
  ok "e2e/basic: bazel test //..."
else
  bad "e2e/basic: bazel test //... (output below)"; tail -40 "$log/test.out"
fi

# 2. Determinism across clean builds.
images="//images:hello //images:hello_with_files //images:multiarch"
digests() {
  # shellcheck disable=SC2086
  bazel build //:all_metadata $images --output_groups=+digest >"$log/build.out" 2>&1 || { tail -20 "$log/build.out"; return 1; }
  for f in $(bazel cquery --output=files //:all_metadata 2>/dev/null); do
    printf '%s %s\n' "$(basename "$f")" "$(jq -r .digest "$f")"
  done | sort
  # shellcheck disable=SC2086
  for f in $(bazel cquery --output=files --output_groups=digest "set($images)" 2>/dev/null); do
    printf '%s %s\n' "$(basename "$f")" "$(cat "$f")"
  done
}
if digests >"$log/d1" && bazel clean --expunge >/dev/null 2>&1 && digests >"$log/d2"; then
  n=$(wc -l <"$log/d1")
  if [ "$n" -gt 10 ] && diff -u "$log/d1" "$log/d2"; then
    ok "determinism: $n layer and image digests identical after bazel clean --expunge"
  else
    bad "determinism: digests differ between clean builds (or too few: $n)"
  fi
else
  bad "determinism: build failed"
fi

# 3. Bad input: each build must fail naming the target and the path, and
#    leave neither blob nor metadata behind.
expect_failure() {
  local target=$1 pattern=$2 flags=${3:-}
  local name=${target##*:}
  # shellcheck disable=SC2086
  if bazel build $flags "$target" >"$log/bad.out" 2>&1; then
    bad "bad input $target: build succeeded"
    return
  fi
  if ! grep -qE -- "$pattern" "$log/bad.out"; then
    bad "bad input $target: message does not match /$pattern/:"; grep -E 'ERROR|img ' "$log/bad.out" | head -5
    return
  fi
  local left
  left=$(find -L bazel-bin/bad -maxdepth 1 \( -name "$name.t*" -o -name "${name}_metadata.json" \) ! -name '*.params' 2>/dev/null)
  if [ -n "$left" ]; then
    bad "bad input $target: left output behind: $left"
    return
  fi
  ok "bad input $target: $(grep -oE -- "$pattern" "$log/bad.out" | head -1)"
}
rm -rf bazel-bin/bad
expect_failure //bad:missing_file "Writing layer //bad:missing_file failed: missing input file '//bad:missing.txt'"
expect_failure //bad:two_sources "//bad:two_sources.*path /etc/app/config.txt is added twice with different content: from data/secret.txt and from data/config.txt"
expect_failure //bad:unused_metadata "//bad:unused_metadata.*file_metadata names paths that are not in the layer: /etc/app/other.txt"
expect_failure //bad:bad_mode "//bad:bad_mode.*/etc/app/config.txt.*mode \"rwxr-xr-x\" is not an octal mode"
expect_failure //bad:corrupt_tar "//bad:corrupt_tar \\(tars/corrupt.tar\\): corrupt tar at entry 1"
expect_failure //bad:truncated_tar_optimized "//bad:truncated_tar_optimized: import tars/truncated.tar: tar ends after entry [0-9]+ without an end-of-archive marker \\(truncated\\)"
expect_failure //:files_layer "compress.*lz4" "--@rules_img//img/settings:compress=lz4"
expect_failure //bad:malformed_fragment "img manifest: image //bad:malformed_fragment: config fragment bad/malformed_fragment.json: invalid character"
# A key that the workspace status lacks: an error only when stamping (without
# --stamp the label is empty and the build succeeds).
expect_failure //bad:unknown_template_key "//bad:unknown_template_key: labels\\[\"org.example.version\"\\] = \"\\{\\{.STABLE_NOT_THERE\\}\\}\": unknown template key.*known keys: BUILD_" --stamp
if bazel build //bad:unknown_template_key >"$log/bad.out" 2>&1 &&
  v=$(jq -r '.config.Labels["org.example.version"]' "$(bazel cquery --output=files //bad:unknown_template_key 2>/dev/null | grep '_config.json$')") &&
  { [ "$v" = "" ] || [ "$v" = null ]; }; then
  ok "unknown status key without --stamp: the build succeeds, the label is empty"
else
  bad "unknown status key without --stamp"; tail -5 "$log/bad.out"
fi
expect_failure //bad:not_a_layer "image_manifest rule //bad:not_a_layer: '//data:config.txt' does not produce any image_manifest layers files"
expect_failure //bad:base_without_platform "//bad:base_without_platform: base @@//images:multiarch has no manifest for linux/s390x \\(it has: linux/amd64, linux/arm64\\)"
mkdir -p bad_compression
trap 'rm -rf "$log" "$here/basic/bad_compression"' EXIT
cat >bad_compression/BUILD.bazel <<'BUILD'
load("@rules_img//img:layer.bzl", "image_layer")
image_layer(name = "unknown_compression", srcs = {"/a": "//data:config.txt"}, compress = "lz4")
BUILD
expect_failure //bad_compression:unknown_compression "//bad_compression:unknown_compression: invalid value in 'compress' attribute.*'lz4'"
rm -rf bad_compression
bazel shutdown >/dev/null 2>&1

# 4. Images in real containerd and dockerd (see images.sh).
"$here/images.sh" && ok "images (see above)" || bad "images"
bazel shutdown >/dev/null 2>&1

# 5. Pushing to real registries (see push.sh).
"$here/push.sh" && ok "push (see above)" || bad "push"
(cd "$here/basic" && bazel shutdown >/dev/null 2>&1)

# 6. Loading into containerd, dockerd and podman (see load.sh).
"$here/load.sh" && ok "load (see above)" || bad "load"
(cd "$here/basic" && bazel shutdown >/dev/null 2>&1)

# 7. Pulling base images from real registries (see pull/run.sh).
"$here/pull/run.sh" && ok "pull (see above)" || bad "pull"

# 8. Prebuilt toolchain from a lockfile, and the missing-go message.
"$here/prebuilt/run.sh" "$log" && ok "prebuilt toolchain (see above)" || bad "prebuilt toolchain"

# 9. Remote-cache push strategies: lazy, cas_registry, bes (see remote/run.sh).
"$here/remote/run.sh" && ok "remote-cache push strategies (see above)" || bad "remote-cache push strategies"

# 10. A workspace written for upstream rules_img, in bzlmod and WORKSPACE
#     mode (see compat/run.sh).
"$here/compat/run.sh" && ok "upstream compatibility (see above)" || bad "upstream compatibility"

# 11. Toolchain resolution for six execution platforms, from source.
"$here/exec_platforms.sh" "$here/basic" source && ok "source toolchains for six execution platforms (see above)" || bad "source toolchains for six execution platforms"
(cd "$here/basic" && bazel shutdown >/dev/null 2>&1)

# 12. A release, consumed without go (see release/run.sh).
"$here/release/run.sh" && ok "release (see above)" || bad "release"

# 13. Programs in several languages as images (see languages/run.sh).
"$here/languages/run.sh" && ok "languages (see above)" || bad "languages"

# 14.-17. Images without a registry, image tests without bytes, imports.
# base_images last: it ends with `bazel clean --expunge` of e2e/basic.
for script in structure_test convert oras_optimize base_images; do
  "$here/$script.sh" && ok "$script (see above)" || bad "$script"
done
(cd "$here/basic" && bazel shutdown >/dev/null 2>&1)

echo "e2e: $pass passed, $fail failed"
[ "$fail" = 0 ]
