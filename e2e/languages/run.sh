#!/usr/bin/env bash
# End-to-end checks of image_from_binary with real programs: a C cc_binary,
# a shell sh_binary and a Python py_binary, each reading a data file from its
# runfiles and printing it with its `args` and an `env` variable, on a Debian
# base with Python built here from Debian's packages (base/rootfs.sh, cached)
# and pushed to a loopback registry, from which MODULE.bazel pulls it.
#   1. the root file systems (amd64, arm64) and the base index, pushed and
#      read back with crane;
#   2. each image loaded into a real containerd and run with `ctr run`: the
#      exact line proves runfiles, args (cmd) and env reached the process;
#   3. the Python image under `docker run` in a real dockerd;
#   4. a linux/amd64 + linux/arm64 Python index: amd64 run in containerd,
#      arm64 checked in the registry (config, the aarch64 ELF python3.11, the
#      program in the last layer), as this host runs no arm64 code;
#   5. layer digests of the binary layers identical across
#      `bazel clean --expunge`.
# Usage: run.sh   (needs bazel, crane, jq, mmdebstrap, the services of
# tools/services). Env: LANGUAGES_REGISTRY_PORT (5050).
# Ends with "languages: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../../tools/services
gopath=$(go env GOPATH 2>/dev/null || echo /root/go)
export PATH="$gopath/bin:$PATH"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
# finish: the summary; a failed set-up step ends the run here.
finish() {
  echo "     languages: $(($(ms "$start") / 1000)) s in all"
  echo "languages: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
}
start=$(date +%s%N)
port=${LANGUAGES_REGISTRY_PORT:-5050}
registry=127.0.0.1:$port
work=$(mktemp -d /tmp/rules_img_languages.XXXXXX)
cleanup() {
  (cd "$here" && bazel shutdown >/dev/null 2>&1)
  "$services/containerd.sh" stop >/dev/null 2>&1
  "$services/dockerd.sh" stop >/dev/null 2>&1
  "$services/registry.sh" clean plain "$port" >/dev/null 2>&1
  rm -rf "$work" "$here/MODULE.bazel" "$here"/base/rootfs_*.tar
}
trap cleanup EXIT
cd "$here" || exit 1

# write_module DIGEST: MODULE.bazel pulls the base at DIGEST from the registry.
write_module() { sed -e "s|@REGISTRY@|$registry|g" -e "s|@DIGEST@|$1|g" MODULE.bazel.in >MODULE.bazel; }
# files TARGET [GROUP]: the output files of TARGET (of an output group).
files() { bazel cquery --output=files ${2:+--output_groups=$2} "$1" 2>/dev/null; }
# elf_machine: e_machine of the ELF file on stdin, as "3e00" (x86-64) or "b700" (aarch64).
elf_machine() { head -c 20 | od -An -tx1 -j18 -N2 | tr -d ' \n'; }
# member LIST PATH: the name of PATH in a tar's listing, with or without a leading "./".
member() { grep -m1 -xE "(\./)?$2" "$1"; }

# 1. The root file systems, cached by their inputs. A cold cache builds
#    the amd64 one twice (the second time in a scratch cache): the same bytes.
for arch in amd64 arm64; do
  s=$(date +%s%N)
  cached=$(find "${XDG_CACHE_HOME:-$HOME/.cache}/rules_img/e2e-languages" -maxdepth 1 -name '*.tar' 2>/dev/null)
  if rootfs=$("$here/base/rootfs.sh" "$arch" 2>"$work/rootfs.err"); then
    ln -sfn "$rootfs" "base/rootfs_$arch.tar"
    if grep -qxF "$rootfs" <<<"$cached"; then how=cached; else how=built; fi
    ok "rootfs $arch: $(($(stat -c %s "$rootfs") / 1048576)) MiB tar in $(ms "$s") ms ($how: $(basename "$rootfs"))"
  else
    tail -5 "$work/rootfs.err"; bad "rootfs $arch"; finish
  fi
  if [ "$arch" = amd64 ] && [ "$how" = built ]; then
    again=$(XDG_CACHE_HOME=$work/cache "$here/base/rootfs.sh" amd64 2>"$work/rootfs.err")
    cmp -s "$rootfs" "$again" && ok "rootfs amd64: a second cold build gives the same bytes (sha256 $(sha256sum <"$again" | cut -c1-16)…)" ||
      bad "rootfs amd64: two cold builds differ ($(cmp "$rootfs" "$again" 2>&1 | head -1))"
    rm -rf "$work/cache"
  fi
done

# The base index, pushed to a registry of its own.
"$services/registry.sh" clean plain "$port" >/dev/null 2>&1
"$services/registry.sh" start plain "$port" >/dev/null 2>&1 || { bad "start the registry on $registry"; finish; }
write_module sha256:0000000000000000000000000000000000000000000000000000000000000000
s=$(date +%s%N)
if bazel build //base:debian_python --output_groups=+digest >"$work/b.out" 2>&1 &&
  bazel run //base:push -- --registry "$registry" >"$work/r.out" 2>&1; then
  digest=$(cat "$(files //base:debian_python digest)")
  got=$(crane digest --insecure "$registry/e2e/debian-python:bookworm" 2>&1)
  archs=$(crane manifest --insecure "$registry/e2e/debian-python@$digest" 2>/dev/null | jq -r '[.manifests[].platform | .os + "/" + .architecture] | sort | join(" ")')
  if [ "$got" = "$digest" ] && [ "$archs" = "linux/amd64 linux/arm64" ]; then
    ok "base: built and pushed in $(ms "$s") ms; crane reads $digest ($archs)"
  else
    bad "base: crane reads $got ($archs), built $digest"; finish
  fi
else
  tail -20 "$work/b.out" "$work/r.out" 2>/dev/null; bad "base: build and push"; finish
fi
write_module "$digest"

# 2. Each program in containerd.
declare -A want=(
  [cc]="c: runfiles=hello from a C runfile cwd=hello from a C runfile args=--lang,c E2E_GREETING=from-cc-env"
  [sh]="sh: runfiles=hello from a shell runfile args=--lang,shell E2E_GREETING=from-sh-env"
  [py]="python: runfiles=hello from a Python runfile args=--lang,python E2E_GREETING=from-py-env machine=x86_64"
)
langs="cc sh py"
s=$(date +%s%N)
if bazel build //cc:all //sh:all //py:all >"$work/b.out" 2>&1; then
  ok "built the images and load targets of cc, sh and py in $(ms "$s") ms"
else
  tail -30 "$work/b.out"; bad "build the images"; finish
fi
for l in $langs; do
  cfg=$(files "//$l:image" | grep '_config\.json$')
  # The binary's args become cmd, its env the image's env; the working
  # directory is the runfiles' main repository.
  if jq -e --arg l "$l" '
    (.config.Entrypoint | length) == 1 and (.config.Entrypoint[0] | endswith("/" + $l + "/hello")) and
    .config.Cmd == ["--lang", ({cc: "c", sh: "shell", py: "python"}[$l])] and
    (.config.Env | index("E2E_GREETING=from-" + $l + "-env")) != null and
    (.config.WorkingDir | endswith("/" + $l + "/hello.runfiles/_main")) and
    (.rootfs.diff_ids | length) == 2' "$cfg" >/dev/null; then
    ok "$l: config: entrypoint $(jq -c .config.Entrypoint "$cfg"), cmd $(jq -c .config.Cmd "$cfg"), working_dir $(jq -r .config.WorkingDir "$cfg"), base layer + binary layer"
  else
    bad "$l: config $(jq -c '.config | {Entrypoint, Cmd, Env, WorkingDir}' "$cfg" 2>&1)"
  fi
done

eval "$("$services/containerd.sh" start 2>/dev/null)"
export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE=rules_img_e2e_languages
ctr="ctr -a $CONTAINERD_ADDRESS -n $CONTAINERD_NAMESPACE"
for l in $langs; do
  ref=docker.io/e2e/languages-$l:latest
  $ctr images rm "$ref" >/dev/null 2>&1
  s=$(date +%s%N)
  if bazel run "//$l:load" >"$work/r.out" 2>&1; then
    t=$(ms "$s")
    got=$($ctr run --rm "$ref" "languages-$l-$$" 2>&1)
    if [ "$got" = "${want[$l]}" ]; then
      ok "$l: loaded into containerd (${t} ms incl. bazel run), ctr run printed: $got"
    else
      bad "$l: ctr run printed: $got"
    fi
  else
    tail -10 "$work/r.out"; bad "$l: load into containerd"
  fi
done

# 3. The Python image in dockerd. The launcher is run directly, as in
#    e2e/load.sh: the docker client lives on the host, not in Bazel's root.
"$services/containerd.sh" stop >/dev/null 2>&1
eval "$("$services/dockerd.sh" start 2>/dev/null)"
export DOCKER_HOST
docker image rm e2e/languages-py:docker >/dev/null 2>&1
if bazel-bin/py/load_docker >"$work/r.out" 2>&1; then
  got=$(docker run --rm --network=none e2e/languages-py:docker 2>&1)
  [ "$got" = "${want[py]}" ] && ok "py: docker run printed: $got" || bad "py: docker run printed: $got"
else
  tail -10 "$work/r.out"; bad "py: load into dockerd"
fi
"$services/dockerd.sh" stop >/dev/null 2>&1
unset DOCKER_HOST

# 4. The two-platform Python index: pushed and read back with crane.
ref=$registry/e2e/languages-py-multiarch:latest
if bazel build //py:multiarch --output_groups=+digest >"$work/b.out" 2>&1 &&
  bazel run //py:push_multiarch -- --registry "$registry" >"$work/r.out" 2>&1; then
  digest=$(cat "$(files //py:multiarch digest)")
  index=$(crane manifest --insecure "$ref" 2>/dev/null)
  archs=$(echo "$index" | jq -r '[.manifests[].platform | .os + "/" + .architecture] | sort | join(" ")')
  [ "$(crane digest --insecure "$ref" 2>&1)" = "$digest" ] && [ "$archs" = "linux/amd64 linux/arm64" ] &&
    ok "multiarch: crane reads the pushed index $digest ($archs)" || bad "multiarch: index $digest: $archs"
  arm=$(crane config --insecure --platform linux/arm64 "$ref" 2>/dev/null)
  echo "$arm" | jq -e '.architecture == "arm64" and .os == "linux" and (.config.Cmd == ["--lang", "python"])' >/dev/null &&
    ok "multiarch: the arm64 config says linux/arm64, cmd $(echo "$arm" | jq -c .config.Cmd)" || bad "multiarch: arm64 config $(echo "$arm" | jq -c '{architecture, os}')"
  crane export --insecure --platform linux/arm64 "$ref" "$work/arm64.tar" >/dev/null 2>&1
  tar -tf "$work/arm64.tar" >"$work/arm64.list" 2>/dev/null
  m=$(tar -xOf "$work/arm64.tar" "$(member "$work/arm64.list" usr/bin/python3.11)" 2>/dev/null | elf_machine)
  # The control: the same check of the amd64 image must see x86-64.
  crane export --insecure --platform linux/amd64 "$ref" "$work/amd64.tar" >/dev/null 2>&1
  m64=$(tar -xOf "$work/amd64.tar" "$(tar -tf "$work/amd64.tar" | grep -m1 -xE '(\./)?usr/bin/python3.11')" 2>/dev/null | elf_machine)
  [ "$m" = b700 ] && [ "$m64" = 3e00 ] && ok "multiarch: usr/bin/python3.11 is an ELF for aarch64 (e_machine 0xb7) in the arm64 image, for x86-64 (0x3e) in the amd64 one" || bad "multiarch: python3.11 e_machine arm64 $m, amd64 $m64"
  base_layer() { crane manifest --insecure --platform "linux/$2" "$1" 2>/dev/null | jq -r '.layers[0].digest'; }
  b=$(base_layer "$registry/e2e/debian-python:bookworm" arm64)
  [ -n "$b" ] && [ "$b" != null ] && [ "$(base_layer "$ref" arm64)" = "$b" ] && [ "$(base_layer "$ref" amd64)" != "$b" ] &&
    ok "multiarch: the arm64 image sits on the base's arm64 layer ${b:0:19}…, the amd64 one on another" || bad "multiarch: base layers: arm64 $(base_layer "$ref" arm64), base arm64 $b"
  entry=$(echo "$arm" | jq -r '.config.Entrypoint[0]' | sed 's|^/||')
  [ "$(tar -xOf "$work/arm64.tar" "$(member "$work/arm64.list" "$entry.runfiles/_main/py/greeting.txt")" 2>/dev/null)" = "hello from a Python runfile" ] &&
    member "$work/arm64.list" "$entry.runfiles/.*python/runfiles/runfiles.py" >/dev/null &&
    ok "multiarch: the arm64 image holds the program, its data file and the runfiles library under /$entry.runfiles" ||
    bad "multiarch: /$entry.runfiles in the arm64 image: $(grep -cE "^(\./)?$entry" "$work/arm64.list") entries"
  rm -f "$work/arm64.tar" "$work/amd64.tar"
else
  tail -20 "$work/b.out" "$work/r.out" 2>/dev/null; bad "multiarch: build and push"
fi
eval "$("$services/containerd.sh" start 2>/dev/null)"
$ctr images rm docker.io/e2e/languages-py-multiarch:latest >/dev/null 2>&1
if bazel run //py:load_multiarch -- --platform linux/amd64 >"$work/r.out" 2>&1; then
  got=$($ctr run --rm docker.io/e2e/languages-py-multiarch:latest "languages-multi-$$" 2>&1)
  [ "$got" = "${want[py]}" ] && ok "multiarch: the linux/amd64 manifest runs in containerd: $got" || bad "multiarch: ctr run printed: $got"
else
  tail -10 "$work/r.out"; bad "multiarch: load linux/amd64 into containerd"
fi
"$services/containerd.sh" stop >/dev/null 2>&1

# 5. Layer digests across bazel clean --expunge (the registry still serves
#    the base to the fresh pull).
layers="//cc:image.layer //sh:image.layer //py:image.layer //base:rootfs_amd64 //base:rootfs_arm64"
digests() {
  # shellcheck disable=SC2086
  bazel build $layers --output_groups=+metadata >"$work/b.out" 2>&1 || { tail -20 "$work/b.out"; return 1; }
  for t in $layers; do
    printf '%s %s\n' "$t" "$(jq -r .digest "$(files "$t" metadata | grep '_metadata\.json$' | head -1)")"
  done
}
if digests >"$work/d1" && bazel clean --expunge >/dev/null 2>&1 && digests >"$work/d2"; then
  if [ "$(grep -c ' sha256:[0-9a-f]\{64\}$' "$work/d1")" = 5 ] && diff -u "$work/d1" "$work/d2"; then
    ok "determinism: the 5 layer digests are identical after bazel clean --expunge"
    sed 's/^/     /' "$work/d1"
  else
    bad "determinism: layer digests differ between clean builds (or are missing)"; cat "$work/d1"
  fi
else
  bad "determinism: build failed"
fi

finish
