#!/usr/bin/env bash
# End-to-end checks of images built by e2e/basic/images, with independent
# tools and real runtimes:
#   - manifest and config JSON of each image, field by field (jq);
#   - the OCI layout tarball imported into a real containerd and run with
#     `ctr run`; the index shows both platforms;
#   - the docker tarball loaded into a real dockerd and run with
#     `docker run --network=none`; `crane validate` accepts it;
#   - stamping: an unstamped image does not change with the workspace
#     status, a stamped one does; determinism across builds.
# Prints "ok"/"FAIL" lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../tools/services
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }
work=$(mktemp -d /tmp/rules_img_images.XXXXXX)
cd "$here/basic" || exit 1
export PATH="$(go env GOPATH)/bin:$PATH"

out() { bazel cquery --output=files "$@" 2>/dev/null; }
bazel build //images:all >"$work/build.out" 2>&1 || { tail -30 "$work/build.out"; bad "bazel build //images:all"; echo "images: $pass passed, $fail failed"; exit 1; }
ok "bazel build //images:all"
bazel build --stamp --output_groups=oci_tarball,tarball,digest //images:hello //images:hello_with_files //images:hello_stamped //images:hello_templated //images:multiarch >"$work/build.out" 2>&1 ||
  { tail -30 "$work/build.out"; bad "bazel build of the layout and tarball output groups"; }

manifest=$(out //images:hello | grep _manifest.json)
config=$(out //images:hello | grep _config.json)
m() { jq -r "$1" "$manifest"; }
c() { jq -r "$1" "$config"; }

# 1. Manifest and config, field by field.
check "manifest mediaType" test "$(m .mediaType)" = application/vnd.oci.image.manifest.v1+json
check "manifest config digest = sha256 of config" test "$(m .config.digest)" = "sha256:$(sha256sum "$config" | cut -d' ' -f1)"
check "manifest config size" test "$(m .config.size)" = "$(stat -c %s "$config")"
bazel build //:app_layer_metadata >/dev/null 2>&1
layer_md=bazel-bin/app_layer_metadata.json
check "layer descriptor from layer metadata" test "$(m '.layers[0] | "\(.mediaType) \(.digest) \(.size)"')" = "$(jq -r '"\(.mediaType) \(.digest) \(.size)"' "$layer_md")"
check "rootfs diff_ids" test "$(c '.rootfs.diff_ids | join(",")')" = "$(jq -r .diff_id "$layer_md")"
check "os/architecture" test "$(c '"\(.os)/\(.architecture)"')" = linux/amd64
check "entrypoint" test "$(c '.config.Entrypoint | join(" ")')" = /app/bin/hello
check "env" test "$(c '.config.Env | join(",")')" = GREETING_STYLE=plain
check "user, working dir, stop signal" test "$(c '"\(.config.User) \(.config.WorkingDir) \(.config.StopSignal)"')" = "0:0 /app SIGTERM"
check "labels" test "$(c '.config.Labels["org.example.name"]')" = hello
check "annotations" test "$(m '.annotations["org.opencontainers.image.title"]')" = hello
check "history" test "$(c '.history | map(.created_by) | join(",")')" = //:app_layer
check "digest output = sha256 of manifest" test "$(cat "$(out --output_groups=digest //images:hello)")" = "sha256:$(sha256sum "$manifest" | cut -d' ' -f1)"

manifest2=$(out //images:hello_with_files | grep _manifest.json)
config2=$(out //images:hello_with_files | grep _config.json)
check "base: layers first, then new ones (4 layers)" test "$(jq '.layers | length' "$manifest2")" = 4
check "base: first layer is the base's" test "$(jq -r '.layers[0].digest' "$manifest2")" = "$(m '.layers[0].digest')"
check "base: plain tar file as a layer" test "$(jq -r '.layers[3].mediaType' "$manifest2")" = application/vnd.oci.image.layer.v1.tar+gzip
check "base: entrypoint inherited, cmd set" test "$(jq -r '"\(.config.Entrypoint | join(" ")) \(.config.Cmd | join(" "))"' "$config2")" = "/app/bin/hello --verbose"
check "env: base value replaced in place, fragment values appended" test "$(jq -r '.config.Env | join(",")' "$config2")" = "GREETING_STYLE=fancy,FROM_FRAGMENT=yes,PATH=/app/bin:/usr/bin:/bin"
check "config fragment: exposed port and label" test "$(jq -r '"\(.config.ExposedPorts | keys | join(",")) \(.config.Labels["org.example.fragment"])"' "$config2")" = "8080/tcp true"
check "labels merged over the base's" test "$(jq -r '.config.Labels["org.example.name"]' "$config2")" = hello_with_files
check "history: base entry then one per new layer" test "$(jq '.history | length' "$config2")" = 4

index=$(out //images:multiarch | grep _index.json)
check "index: two platforms in platforms order" test "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | join(",")' "$index")" = linux/amd64,linux/arm64
check "index: annotation" test "$(jq -r '.annotations["org.opencontainers.image.title"]' "$index")" = multiarch

# 2. Stamping and templates.
stamped=$(out //images:hello_stamped | grep _config.json)
check "stamp: build setting and status key in labels" test "$(jq -r '"\(.config.Labels["org.example.release"]) \(.config.Labels["org.example.version"])"' "$stamped")" = "dev 1.0.0"
templated=$(out //images:hello_templated | grep _manifest.json)
t1=$(sha256sum "$templated" | cut -d' ' -f1); s1=$(sha256sum "$(out //images:hello_stamped | grep _manifest.json)" | cut -d' ' -f1)
EXAMPLE_VERSION=2.0.0 bazel build --stamp //images:hello_stamped //images:hello_templated >"$work/build.out" 2>&1 || bad "rebuild with another workspace status"
t2=$(sha256sum "$templated" | cut -d' ' -f1); s2=$(sha256sum "$(out //images:hello_stamped | grep _manifest.json)" | cut -d' ' -f1)
check "stamp: unstamped image unchanged when the status changes" test "$t1" = "$t2"
check "stamp: stamped image changes with the status" test "$s1" != "$s2"
check "stamp: new version in the label" test "$(jq -r '.config.Labels["org.example.version"]' "$stamped")" = 2.0.0
bazel build --//images:release=prod //images:hello_templated >"$work/build.out" 2>&1 &&
  check "build setting flag flows into the label" test "$(jq -r '.config.Labels["org.example.release"]' "$(out --//images:release=prod //images:hello_templated | grep _config.json)")" = prod
bazel build //images:all >/dev/null 2>&1

# 3. crane validates the docker tarball.
hello_tar=$(out --output_groups=tarball //images:hello)
check "crane validate --tarball (hello)" crane validate --tarball "$hello_tar"
# crane reads all layers of a docker tarball with the first one's compression,
# so for this image (gzip layers, and zstd ones written plain) only --fast.
check "crane validate --fast --tarball (hello_with_files)" crane validate --fast --tarball "$(out --output_groups=tarball //images:hello_with_files)"

# 4. containerd: import the OCI layout tarballs, run, list platforms.
eval "$("$services/containerd.sh" start 2>/dev/null)"
ctr="ctr -a $CONTAINERD_ADDRESS -n rules_img_e2e"
for img in hello hello_with_files hello_stamped hello_templated; do
  $ctr images rm "e2e/$img:latest" >/dev/null 2>&1
  check "containerd: import $img" $ctr images import --index-name "e2e/$img:latest" "$(out --output_groups=oci_tarball //images:$img)"
  got=$($ctr run --rm "e2e/$img:latest" "run-$img-$$" 2>&1)
  [ "$got" = "Hello from rules_img!" ] && ok "containerd: ctr run $img prints the greeting" || bad "containerd: ctr run $img printed: $got"
done
# --digests names the imported index by its digest, which must be the one
# the build wrote; `ctr images ls` then lists the platforms of that index.
index_digest=$(cat "$(out --output_groups=digest //images:multiarch)")
$ctr images rm "import-$(date +%F)@$index_digest" e2e/multiarch:latest >/dev/null 2>&1
check "containerd: import the index (all platforms)" $ctr images import --all-platforms --digests "$(out --output_groups=oci_tarball //images:multiarch)"
plat=$($ctr images ls | awk -v d="$index_digest" '$3 == d {print $(NF-1)}')
case $plat in linux/amd64,linux/arm64|linux/arm64,linux/amd64) ok "containerd: index $index_digest shows $plat" ;; *) bad "containerd: index platforms: '$plat'" ;; esac
$ctr images tag "$($ctr images ls -q | grep "@$index_digest" | head -1)" e2e/multiarch:latest >/dev/null 2>&1
got=$($ctr run --rm e2e/multiarch:latest "run-multi-$$" 2>&1)
[ "$got" = "Hello from rules_img!" ] && ok "containerd: the index runs (amd64 entry)" || bad "containerd: index run printed: $got"
"$services/containerd.sh" stop >/dev/null 2>&1

# 5. dockerd: docker load the tarball, run.
eval "$("$services/dockerd.sh" start 2>/dev/null)"; export DOCKER_HOST
for img in hello hello_with_files hello_stamped hello_templated; do
  id=$(docker load -i "$(out --output_groups=tarball //images:$img)" 2>&1 | sed -n 's/^Loaded image ID: //p')
  [ -n "$id" ] && ok "docker: load $img ($id)" || bad "docker: load $img"
  got=$(docker run --rm --network=none "$id" 2>&1)
  [ "$got" = "Hello from rules_img!" ] && ok "docker: docker run $img prints the greeting" || bad "docker: docker run $img printed: $got"
done
"$services/dockerd.sh" stop >/dev/null 2>&1; unset DOCKER_HOST

# 6. The tarball output group of an image_load over an index: one tar that
#    is an OCI layout of the whole index and a docker-save archive of its
#    first manifest (linux/amd64). containerd imports both platforms and
#    runs the amd64 one; dockerd loads the first manifest and runs it.
if bazel build --output_groups=tarball //images:load_multiarch >"$work/build.out" 2>&1; then
  ok "bazel build --output_groups=tarball //images:load_multiarch"
  multi_tar=$(out --output_groups=tarball //images:load_multiarch)
  multi_index=$(out //images:multiarch | grep _index.json)
  tar -tf "$multi_tar" >"$work/multi.list" 2>&1 && ok "index tarball: tar -tf lists it" || bad "index tarball: tar -tf: $(tail -2 "$work/multi.list")"
  for f in oci-layout index.json manifest.json "blobs/sha256/$(sha256sum "$multi_index" | cut -d' ' -f1)"; do
    grep -qx "$f" "$work/multi.list" && ok "index tarball: holds $f" || bad "index tarball: no $f"
  done
  check "index tarball: crane validate --tarball" crane validate --tarball "$multi_tar"
  tar -xOf "$multi_tar" index.json >"$work/multi.index.json" 2>/dev/null
  check "index tarball: index.json names the index, tagged" test "$(jq -r '.manifests[] | "\(.digest) \(.annotations["io.containerd.image.name"])"' "$work/multi.index.json")" = "sha256:$(sha256sum "$multi_index" | cut -d' ' -f1) docker.io/e2e/multiarch:latest"
  amd64_manifest=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$multi_index" | sed 's/^sha256://')
  amd64_config=$(tar -xOf "$multi_tar" "blobs/sha256/$amd64_manifest" 2>/dev/null | jq -r .config.digest | sed 's/^sha256:/blobs\/sha256\//')
  check "index tarball: manifest.json lists the amd64 image (the first)" test "$(tar -xOf "$multi_tar" manifest.json | jq -r '.[0].Config')" = "$amd64_config"

  eval "$("$services/containerd.sh" start 2>/dev/null)"
  ctr="ctr -a $CONTAINERD_ADDRESS -n rules_img_e2e"
  $ctr images rm docker.io/e2e/multiarch:latest >/dev/null 2>&1
  if $ctr images import --all-platforms "$multi_tar" >"$work/import.out" 2>&1; then
    ok "containerd: ctr images import of the index tarball"
    plat=$($ctr images ls | awk '$1 == "docker.io/e2e/multiarch:latest" {print $(NF-1)}')
    case $plat in linux/amd64,linux/arm64|linux/arm64,linux/amd64) ok "containerd: the index tarball shows $plat" ;; *) bad "containerd: index tarball platforms: '$plat'" ;; esac
    got=$($ctr run --rm docker.io/e2e/multiarch:latest "run-multi-tar-$$" 2>&1)
    [ "$got" = "Hello from rules_img!" ] && ok "containerd: the index tarball runs (amd64 entry)" || bad "containerd: index tarball run printed: $got"
  else
    bad "containerd: ctr images import of the index tarball: $(tail -2 "$work/import.out")"
  fi
  $ctr images rm docker.io/e2e/multiarch:latest >/dev/null 2>&1
  "$services/containerd.sh" stop >/dev/null 2>&1

  eval "$("$services/dockerd.sh" start 2>/dev/null)"; export DOCKER_HOST
  docker rmi e2e/multiarch:latest >/dev/null 2>&1
  if docker load -i "$multi_tar" >"$work/load.out" 2>&1; then
    grep -q "Loaded image: e2e/multiarch:latest" "$work/load.out" && ok "docker: load the index tarball as e2e/multiarch:latest" || bad "docker: load printed: $(tail -2 "$work/load.out")"
    got=$(docker run --rm --network=none e2e/multiarch:latest 2>&1)
    [ "$got" = "Hello from rules_img!" ] && ok "docker: docker run of the index tarball prints the greeting" || bad "docker: index tarball run printed: $got"
    check "docker: the loaded image is linux/amd64" test "$(docker image inspect -f '{{.Os}}/{{.Architecture}}' e2e/multiarch:latest)" = linux/amd64
  else
    bad "docker: docker load of the index tarball: $(tail -2 "$work/load.out")"
  fi
  docker rmi e2e/multiarch:latest >/dev/null 2>&1
  "$services/dockerd.sh" stop >/dev/null 2>&1; unset DOCKER_HOST
else
  tail -30 "$work/build.out"; bad "bazel build --output_groups=tarball //images:load_multiarch"
fi

# 5. create_parent_directories over a base with a sticky /tmp (see parents.sh).
"$here/parents.sh" && ok "parents (see above)" || bad "parents"

rm -rf "$work"
echo "images: $pass passed, $fail failed"
[ "$fail" = 0 ]
