#!/usr/bin/env bash
# A workspace written from upstream rules_img's README and docs, built with
# this rules_img, in bzlmod and in WORKSPACE mode, against a real registry
# and containerd:
#   - the README's .bazelrc settings block (readme.bazelrc) is accepted;
#   - `bazel build //...` without --stamp builds a stamped tag; its push
#     fails at run time naming the key, the target and --stamp, and leaves
#     no tag; with --stamp it pushes;
#   - image_push with registry and repository given at run time; --tag adds
#     a tag (crane lists both); no registry anywhere is a clear error;
#   - an index of two platforms on a shallow-pulled base is pushed (the base
#     layers move registry to registry) and loaded into containerd, where
#     the script added as a plain srcs entry runs;
#   - an index with two manifests of one platform; image_load without a tag;
#   - a rule of the workspace wraps image_manifest and reads rules_img's
#     platform and stamp settings; an unknown load_daemon is refused.
# Prints ok/FAIL lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../../tools/services
export PATH="$(go env GOPATH)/bin:$PATH"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_compat.XXXXXX)
port=5030
cleanup() {
  [ -n "${COMPAT_KEEP:-}" ] && return  # keep the registry and files for debugging
  (cd "$here" && bazel shutdown >/dev/null 2>&1)
  "$services/registry.sh" clean plain "$port" >/dev/null 2>&1
  "$services/containerd.sh" stop >/dev/null 2>&1
  rm -rf "$work" "$here/MODULE.bazel" "$here/WORKSPACE" "$here/WORKSPACE.bazel" "$here/user.bazelrc"
}
trap cleanup EXIT

# 1. A base index (linux/amd64 + linux/arm64) with a static busybox shell,
#    made with GNU tar and crane, in a loopback registry.
"$services/registry.sh" clean plain "$port" >/dev/null 2>&1
while IFS='=' read -r k v; do declare "R_$k=$v"; done < <("$services/registry.sh" start plain "$port" 2>/dev/null)
reg=$R_REGISTRY
mkdir -p "$work/root/bin"
cp "$(command -v busybox)" "$work/root/bin/busybox"
for applet in sh echo uname; do ln -s busybox "$work/root/bin/$applet"; done
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/root" -cf "$work/base.tar" bin
seed() {
  for arch in amd64 arm64; do
    crane append --insecure -f "$work/base.tar" -t "$reg/compat/base:$arch" &&
      crane mutate --insecure --set-platform "linux/$arch" -t "$reg/compat/base:$arch" "$reg/compat/base:$arch" || return 1
  done
  crane index append --insecure -m "$reg/compat/base:amd64" -m "$reg/compat/base:arm64" -t "$reg/compat/base:1"
} >"$work/seed.out" 2>&1
if seed; then
  digest=$(crane digest --insecure "$reg/compat/base:1")
  ok "crane pushed the base index $digest to $reg/compat/base"
else
  tail -5 "$work/seed.out"; bad "seed the registry"; exit 1
fi
sed -e "s|@DIGEST@|$digest|g" -e "s|@REGISTRY@|$reg|g" "$here/MODULE.bazel.in" >"$here/MODULE.bazel"
sed -e "s|@DIGEST@|$digest|g" -e "s|@REGISTRY@|$reg|g" "$here/WORKSPACE.in" >"$here/WORKSPACE"
echo "build --workspace_status_command=$here/status.sh" >"$here/user.bazelrc"

eval "$("$services/containerd.sh" start 2>/dev/null)"
export CONTAINERD_ADDRESS CONTAINERD_NAMESPACE=rules_img_e2e_compat
ctr="ctr -a $CONTAINERD_ADDRESS -n $CONTAINERD_NAMESPACE"

cd "$here" || exit 1
base_layer=$(crane manifest --insecure "$reg/compat/base:amd64" | jq -r '.layers[0].digest')
blob_gets() { grep -c "\"GET /v2/$1/blobs/$2" "$R_REGISTRY_LOG"; }

# checks MODE FLAGS...: the whole list, once per mode.
checks() {
  local mode=$1; shift
  local bz=("$@") repo="compat/$mode"
  local R=$work/$mode.out
  # README settings block; no --stamp.
  if bazel build "${bz[@]}" //... >"$R" 2>&1; then
    ok "$mode: bazel build //... with the README's .bazelrc block, without --stamp"
  else
    tail -20 "$R"; bad "$mode: bazel build //..."; return
  fi
  grep -q "built for linux/amd64 (stamping: off, pushes: eager)" "$(bazel info "${bz[@]}" bazel-bin 2>/dev/null)/app_note.txt" &&
    ok "$mode: a rule of the workspace read @rules_img//img/private/config:target_os_cpu and //img/private/settings:stamp and :push" || bad "$mode: platform note"

  # A stamped tag without --stamp: the push refuses, names key, target, --stamp.
  if bazel run "${bz[@]}" //:push_stamped -- --registry "$reg" --repository "$repo" >"$R" 2>&1; then
    bad "$mode: push of an unstamped template tag succeeded"
  else
    if grep -q "STABLE_GIT_COMMIT" "$R" && grep -q "(//:push_stamped)" "$R" && grep -q -- "--stamp" "$R"; then
      ok "$mode: unstamped push fails: $(grep -m1 '^img: ' "$R" | cut -c1-200)"
    else
      tail -5 "$R"; bad "$mode: unstamped push error does not name the key, the target and --stamp"
    fi
  fi
  tags=$(crane ls --insecure "$reg/$repo" 2>/dev/null)
  [ -z "$tags" ] && ok "$mode: no tag written by the failed push" || bad "$mode: tags after the failed push: $tags"
  if bazel run "${bz[@]}" --stamp //:push_stamped -- --registry "$reg" --repository "$repo" >"$R" 2>&1 &&
    crane ls --insecure "$reg/$repo" 2>/dev/null | grep -cx c0ffee1 >/dev/null; then
    ok "$mode: with --stamp the push writes tag c0ffee1"
  else
    tail -10 "$R"; bad "$mode: stamped push"
  fi
  label=$(crane config --insecure "$reg/$repo:c0ffee1" | jq -r '.config.Labels["org.opencontainers.image.revision"]')
  [ "$label" = c0ffee1 ] && ok "$mode: stamped label in the config" || bad "$mode: stamped label is '$label'"

  # Registry and repository at run time; --tag adds to the target's tags.
  if bazel run "${bz[@]}" //:push_latest -- --registry "$reg" --repository "$repo/app" --tag extra >"$R" 2>&1; then
    got=$(crane ls --insecure "$reg/$repo/app" | sort | tr '\n' ' ')
    [ "$got" = "extra latest " ] && ok "$mode: --tag added to the target's tag: crane ls lists $got" || bad "$mode: tags are $got"
    grep -q "$reg/$repo/app:extra" "$R" && grep -q "$reg/$repo/app:latest" "$R" && ok "$mode: stdout names both pushed tags" || { cat "$R" | tail -5; bad "$mode: stdout does not name both tags"; }
  else
    tail -10 "$R"; bad "$mode: run-time registry and repository"
  fi
  # No registry anywhere (the README's destination_registry cleared).
  if bazel run "${bz[@]}" --@rules_img//img/settings:destination_registry= //:push_latest >"$R" 2>&1; then
    bad "$mode: push without any registry succeeded"
  else
    grep -q "(//:push_latest)" "$R" && grep -q -- "--registry" "$R" && ok "$mode: no registry: $(grep -m1 '^img: ' "$R" | cut -c1-150)" || { tail -5 "$R"; bad "$mode: no-registry error"; }
  fi

  # The index on the shallow base: base layers move registry to registry.
  before=$(blob_gets compat/base "$base_layer")
  if bazel run "${bz[@]}" //:push_index -- --registry "$reg" --repository "$repo/index" --tag v1 >"$R" 2>&1; then
    want=$(cat "$(bazel cquery "${bz[@]}" --output=files --output_groups=digest //:app_index 2>/dev/null)")
    got=$(crane digest --insecure "$reg/$repo/index:v1")
    [ "$got" = "$want" ] && ok "$mode: index on the shallow base pushed: $got" || bad "$mode: pushed $got, built $want"
    crane validate --insecure --fast --remote "$reg/$repo/index:v1" >"$work/validate.out" 2>&1 && ok "$mode: crane validate --remote --fast: both platforms and every layer, base layers included, are in $repo/index" || { cat "$work/validate.out"; bad "$mode: crane validate"; }
    mounts=$(grep -cE "\"POST /v2/$repo/index/blobs/uploads/\?.*mount=sha256(:|%3A)${base_layer#sha256:}" "$R_REGISTRY_LOG")
    [ "$mounts" -ge 1 ] && ok "$mode: the base layer was mounted from compat/base into $repo/index" || bad "$mode: no mount of the base layer in the registry log"
    [ "$(blob_gets compat/base "$base_layer")" = "$before" ] && ok "$mode: the build and the push never downloaded the base layer" || bad "$mode: base layer downloaded"
  else
    tail -10 "$R"; bad "$mode: push the index"
  fi

  # Load the index into containerd (all platforms) and run the script.
  $ctr images rm docker.io/compat/app:index >/dev/null 2>&1
  if bazel run "${bz[@]}" --@rules_img//img/settings:load_daemon=containerd //:load_index >"$R" 2>&1; then
    plats=$($ctr images ls name==docker.io/compat/app:index 2>/dev/null | awk 'NR==2 {print $(NF-1)}')
    echo "$plats" | grep -q "linux/arm64" && ok "$mode: loaded both platforms of the index into containerd ($plats)" || bad "$mode: platforms loaded: $plats"
    got=$($ctr run --rm docker.io/compat/app:index "compat-$mode-$$" 2>&1)
    [ "$got" = "Hello from a script in x86_64 with a friendly greeting" ] && ok "$mode: ctr run: $got" || bad "$mode: ctr run printed: $got"
  else
    tail -10 "$R"; bad "$mode: load the index"
  fi

  # A load without a tag, by digest; --tag adds a name.
  if bazel run "${bz[@]}" --@rules_img//img/settings:load_daemon=containerd //:load >"$R" 2>&1; then
    want=$(cat "$(bazel cquery "${bz[@]}" --output=files --output_groups=digest //:app 2>/dev/null)")
    $ctr content ls -q | grep -cx "$want" >/dev/null && ok "$mode: image_load without a tag put $want into containerd ($(tail -1 "$R"))" || bad "$mode: manifest $want not in containerd"
  else
    tail -10 "$R"; bad "$mode: load without a tag"
  fi
  if bazel run "${bz[@]}" --@rules_img//img/settings:load_daemon=containerd //:load -- --tag compat/app:named >"$R" 2>&1 &&
    [ "$($ctr run --rm docker.io/compat/app:named "compat-named-$mode-$$" 2>&1)" = "Hello from a script in x86_64 with a friendly greeting" ]; then
    ok "$mode: --tag names the untagged load; it runs"
  else
    tail -10 "$R"; bad "$mode: load with a run-time tag"
  fi

  # Two manifests of one platform.
  if bazel run "${bz[@]}" //:push_flavours -- --registry "$reg" --repository "$repo/flavours" >"$R" 2>&1; then
    plats=$(crane manifest --insecure "$reg/$repo/flavours:flavours" | jq -r '[.manifests[] | .platform.os + "/" + .platform.architecture] | join(" ")')
    [ "$plats" = "linux/amd64 linux/amd64" ] && ok "$mode: index with two manifests of linux/amd64 pushed" || bad "$mode: index platforms: $plats"
  else
    tail -10 "$R"; bad "$mode: push the two-flavour index"
  fi

  # An unknown load_daemon is refused, by name.
  if bazel build "${bz[@]}" --@rules_img//img/settings:load_daemon=dockerd //:load >"$R" 2>&1; then
    bad "$mode: load_daemon=dockerd accepted"
  else
    grep -q "load_daemon" "$R" && grep -q "dockerd" "$R" && ok "$mode: load_daemon=dockerd refused: $(grep -m1 -o "invalid value 'dockerd'.*" "$R" | cut -c1-120)" || { tail -5 "$R"; bad "$mode: unknown load_daemon message"; }
  fi
}

# COMPAT_MODES picks modes (default both), e.g. COMPAT_MODES=bzlmod.
for mode in ${COMPAT_MODES:-bzlmod workspace}; do
  case $mode in
    bzlmod) checks bzlmod ;;
    # Offline, Bazel's own platforms module stands in for the http_archive
    # that rules_img_dependencies() declares.
    workspace) checks workspace --noenable_bzlmod --enable_workspace --noincompatible_disable_native_repo_rules --override_repository=platforms=/usr/share/bazel/platforms/platforms ;;
  esac
  bazel shutdown >/dev/null 2>&1
done

echo "compat: $pass passed, $fail failed"
[ "$fail" = 0 ]
