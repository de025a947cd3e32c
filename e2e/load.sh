#!/usr/bin/env bash
# End-to-end checks of image_load against a real containerd 1.6, dockerd
# 20.10 and podman 4.3 (private instances from tools/services): load, run,
# load again after a one-file change (only the changed layer moves), one
# platform of an index, containerd going away mid-load, bad input; the
# `tar` daemon streaming a docker-save + OCI layout tar to stdout.
# Prints ok/FAIL lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../tools/services
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_load.XXXXXX)
data=$here/basic/data/config.txt
cp "$data" "$work/config.txt.orig"
cleanup() {
  cp "$work/config.txt.orig" "$data"
  "$services/containerd.sh" stop >/dev/null 2>&1
  "$services/dockerd.sh" stop >/dev/null 2>&1
  "$services/podman.sh" clean >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
cd "$here/basic" || exit 1
eval "$("$services/containerd.sh" start 2>/dev/null)"
export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE=rules_img_e2e_load
ctr="ctr -a $CONTAINERD_ADDRESS -n $CONTAINERD_NAMESPACE"
$ctr images rm docker.io/e2e/hello:latest docker.io/e2e/with-files:latest docker.io/e2e/multiarch:latest >/dev/null 2>&1
for d in $($ctr content ls -q 2>/dev/null); do $ctr content rm "$d" >/dev/null 2>&1; done
bazel build //images:load_hello //images:load_with_files //images:load_multiarch >"$work/b.out" 2>&1 || { tail -20 "$work/b.out"; bad "build the load targets"; }
summary() { grep -E '^loaded' "$1" | tail -1; }
run_greets() { [ "$($ctr run --rm "$1" "load-$2-$$" 2>&1)" = "Hello from rules_img!" ]; }

# 1. Load, run.
s=$(date +%s%N)
if bazel run //images:load_hello >"$work/r.out" 2>&1; then
  t1=$((($(date +%s%N) - s) / 1000000))
  ok "containerd: first load ($(summary "$work/r.out"); ${t1} ms incl. bazel run)"
  run_greets docker.io/e2e/hello:latest hello && ok "containerd: ctr run prints the greeting" || bad "containerd: ctr run"
else
  tail -10 "$work/r.out"; bad "containerd: load"
fi

# 2. Load an image with files, change one source file, load again.
bazel run //images:load_with_files >"$work/r.out" 2>&1 && ok "containerd: load e2e/with-files ($(summary "$work/r.out"))" || { tail -5 "$work/r.out"; bad "load with-files"; }
before=$($ctr content ls -q | sort)
echo "changed at $(date +%s%N)" >>"$data"
bazel build //images:load_with_files //:files_layer_metadata >"$work/b.out" 2>&1
changed=$(jq -r .digest bazel-bin/files_layer_metadata.json)
s=$(date +%s%N)
if bazel run //images:load_with_files >"$work/r.out" 2>&1; then
  t2=$((($(date +%s%N) - s) / 1000000))
  new=$(comm -13 <(echo "$before") <($ctr content ls -q | sort))
  n=$(echo "$new" | grep -c .)
  # the changed layer, the new config and the new manifest; nothing else
  if [ "$n" = 3 ] && echo "$new" | grep -qx "$changed"; then
    ok "containerd: reload after a one-file change wrote 3 blobs: the changed layer, config, manifest ($(summary "$work/r.out"); ${t2} ms incl. bazel run)"
  else
    bad "containerd: reload wrote $n new blobs: $new"
  fi
  run_greets docker.io/e2e/with-files:latest files && ok "containerd: the reloaded image runs" || bad "containerd: reloaded image run"
else
  tail -10 "$work/r.out"; bad "containerd: reload"
fi
cp "$work/config.txt.orig" "$data"

# 3. One platform of an index.
arm_note=$(jq -r .digest "$(bazel cquery --output=files --output_groups=metadata //images:arm64_note 2>/dev/null | head -1)")
if bazel run //images:load_multiarch -- --platform linux/amd64 >"$work/r.out" 2>&1; then
  if $ctr content ls -q | grep -cx "$arm_note" >/dev/null; then bad "--platform linux/amd64 also wrote the arm64 layer"; else ok "--platform linux/amd64 wrote no arm64 blob ($(summary "$work/r.out"))"; fi
  run_greets docker.io/e2e/multiarch:latest multi && ok "containerd: the index runs" || bad "containerd: index run"
else
  tail -10 "$work/r.out"; bad "load one platform of the index"
fi

# 4. containerd goes away: during a load, and before one.
$ctr images rm docker.io/e2e/hello:latest >/dev/null 2>&1
for d in $($ctr content ls -q); do $ctr content rm "$d" >/dev/null 2>&1; done
bazel run //images:load_hello >"$work/r.out" 2>&1 &
runner=$!
sleep 0.3
"$services/containerd.sh" stop >/dev/null 2>&1
wait $runner; rc=$?
if [ "$rc" != 0 ]; then
  grep -qiE "containerd|connection|unavailable" "$work/r.out" && ok "containerd stopped during the load: clear error" || { bad "containerd stopped: unclear error"; tail -3 "$work/r.out"; }
else
  ok "containerd stopped during the load: the load had finished already"
fi
if bazel run //images:load_hello >"$work/r.out" 2>&1; then
  bad "no containerd: load succeeded"
else
  grep -q "$CONTAINERD_ADDRESS" "$work/r.out" && ok "no containerd: the error names the socket tried" || { bad "no containerd: unclear"; tail -3 "$work/r.out"; }
fi
eval "$("$services/containerd.sh" start 2>/dev/null)"
if bazel run //images:load_hello >"$work/r.out" 2>&1 && run_greets docker.io/e2e/hello:latest after; then
  ok "after a restart the next load completes and the image runs"
else
  bad "after restart"; tail -5 "$work/r.out"
fi
bazel run //images:load_hello -- --tag 'Invalid:Tag!' >"$work/r.out" 2>&1 && bad "invalid tag accepted" ||
  { grep -q 'Invalid:Tag!' "$work/r.out" && ok "invalid tag: error names it" || bad "invalid tag: unclear"; }
CONTAINERD_ADDRESS=$work/none.sock bazel run //images:load_hello >"$work/r.out" 2>&1 && bad "missing socket accepted" ||
  { grep -q "$work/none.sock" "$work/r.out" && ok "no daemon reachable: error lists the sockets tried" || { bad "no daemon: unclear"; tail -3 "$work/r.out"; }; }
"$services/containerd.sh" stop >/dev/null 2>&1

# 5. dockerd (no containerd image store): docker load, run. The launcher is
#    run directly (what `bazel run` runs): this machine's Bazel lives in its
#    own root, where the host's docker and podman binaries are not.
bazel build //images:load_hello_docker //images:load_hello_podman >"$work/b.out" 2>&1
eval "$("$services/dockerd.sh" start 2>/dev/null)"; export DOCKER_HOST
if bazel-bin/images/load_hello_docker >"$work/r.out" 2>&1; then
  grep -q "not incremental" "$work/r.out" && ok "docker: loaded with docker load, with the warning" || bad "docker: no warning"
  [ "$(docker run --rm --network=none e2e/hello:docker 2>&1)" = "Hello from rules_img!" ] && ok "docker: docker run prints the greeting" || bad "docker run"
else
  tail -10 "$work/r.out"; bad "docker load"
fi
"$services/dockerd.sh" stop >/dev/null 2>&1; unset DOCKER_HOST

# 6. podman.
eval "$("$services/podman.sh" start 2>/dev/null)"; export CONTAINERS_CONF CONTAINERS_STORAGE_CONF
if bazel-bin/images/load_hello_podman >"$work/r.out" 2>&1; then
  [ "$(podman run --rm e2e/hello:podman 2>&1 | tail -1)" = "Hello from rules_img!" ] && ok "podman: podman run prints the greeting" || bad "podman run: $(podman run --rm e2e/hello:podman 2>&1 | tail -2)"
else
  tail -10 "$work/r.out"; bad "podman load"
fi


# 7. Daemon tar (load_daemon=tar on targets whose daemon is auto): bazel run
#    writes the image to stdout as one tar, a docker save archive and an OCI
#    layout; nothing else reaches stdout (the tar ends with its two zero
#    blocks; names and progress are on stderr). dockerd loads it from the
#    file and from a pipe, containerd imports it, and the images run.
tarflag=--@rules_img//img/settings:load_daemon=tar
clean_tar() { # FILE: a whole tar and nothing after it
  local size; size=$(stat -c %s "$1")
  [ "$size" -gt 1024 ] && [ $((size % 512)) = 0 ] && [ -z "$(tail -c 1024 "$1" | tr -d '\0')" ] && tar -tf "$1" >/dev/null 2>&1
}
has_entries() { # FILE NAME...: tar -tf lists each NAME
  local f=$1 n; shift
  for n; do tar -tf "$f" | grep -cx "$n" >/dev/null || return 1; done
}
if bazel run $tarflag //images:load_hello_auto >"$work/hello.tar" 2>"$work/r.err"; then
  clean_tar "$work/hello.tar" && ok "tar: stdout holds the tar and nothing else ($(stat -c %s "$work/hello.tar") bytes)" || bad "tar: stdout is not just a tar"
  has_entries "$work/hello.tar" manifest.json index.json oci-layout && ok "tar: tar -tf lists manifest.json, index.json, oci-layout" || bad "tar: entries: $(tar -tf "$work/hello.tar" 2>&1 | head -5)"
  grep -qx "docker.io/e2e/hello:tar" "$work/r.err" && grep -q "^wrote docker.io/e2e/hello:tar to stdout: a docker-save and OCI layout tar" "$work/r.err" &&
    ok "tar: the name and the summary are on stderr" || { bad "tar: stderr"; tail -3 "$work/r.err"; }
  crane validate --tarball "$work/hello.tar" >/dev/null 2>&1 && ok "tar: crane validate --tarball" || bad "tar: crane validate: $(crane validate --tarball "$work/hello.tar" 2>&1 | tail -1)"
else
  tail -10 "$work/r.err"; bad "tar: bazel run //images:load_hello_auto"
fi
if bazel run $tarflag //images:load_multiarch_auto >"$work/multi.tar" 2>"$work/r.err"; then
  arm_manifest=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$(bazel cquery --output=files //images:multiarch 2>/dev/null | grep -m1 '\.json$')" 2>/dev/null)
  [ -n "$arm_manifest" ] && clean_tar "$work/multi.tar" && has_entries "$work/multi.tar" manifest.json index.json oci-layout "blobs/sha256/${arm_manifest#sha256:}" &&
    ok "tar of an index: one tar with every platform (the arm64 manifest too)" || bad "tar of an index: entries: $(tar -tf "$work/multi.tar" 2>&1 | head -5)"
  grep -q "its manifest.json, which docker load reads, lists linux/amd64" "$work/r.err" && ok "tar of an index: manifest.json lists the host's platform" || { bad "tar of an index: no note"; tail -3 "$work/r.err"; }
  crane validate --tarball "$work/multi.tar" >/dev/null 2>&1 && ok "tar of an index: crane validate --tarball" || bad "tar of an index: crane validate: $(crane validate --tarball "$work/multi.tar" 2>&1 | tail -1)"
else
  tail -10 "$work/r.err"; bad "tar: bazel run //images:load_multiarch_auto"
fi
eval "$("$services/dockerd.sh" start 2>/dev/null)"; export DOCKER_HOST
docker image rm e2e/hello:tar e2e/multiarch:tar >/dev/null 2>&1
if docker load -i "$work/hello.tar" >"$work/r.out" 2>&1; then
  [ "$(docker run --rm --network=none e2e/hello:tar 2>&1)" = "Hello from rules_img!" ] && ok "tar: docker load -i, docker run prints the greeting" || bad "tar: docker run e2e/hello:tar"
else
  bad "tar: docker load: $(tail -2 "$work/r.out")"
fi
# The pipe of the docs: bazel run ... | docker load (the launcher's stdout
# goes straight into docker load; Bazel's own output is on stderr).
if bazel run $tarflag //images:load_multiarch_auto 2>"$work/r.err" | docker load >"$work/r.out" 2>&1; then
  [ "$(docker run --rm --network=none e2e/multiarch:tar 2>&1)" = "Hello from rules_img!" ] && ok "tar: bazel run | docker load of the index, docker run prints the greeting" || bad "tar: docker run e2e/multiarch:tar"
else
  bad "tar: bazel run | docker load: $(tail -2 "$work/r.out") $(tail -2 "$work/r.err")"
fi
"$services/dockerd.sh" stop >/dev/null 2>&1; unset DOCKER_HOST
eval "$("$services/containerd.sh" start 2>/dev/null)"
$ctr images rm docker.io/e2e/multiarch:tar >/dev/null 2>&1
if $ctr images import "$work/multi.tar" >"$work/r.out" 2>&1; then
  run_greets docker.io/e2e/multiarch:tar tar && ok "tar: ctr images import of the index, ctr run prints the greeting" || bad "tar: ctr run e2e/multiarch:tar: $($ctr images ls -q 2>&1 | head -3)"
else
  bad "tar: ctr images import: $(tail -2 "$work/r.out")"
fi
"$services/containerd.sh" stop >/dev/null 2>&1

echo "load: $pass passed, $fail failed"
[ "$fail" = 0 ]
