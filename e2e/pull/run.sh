#!/usr/bin/env bash
# End-to-end checks of `pull` against the real distribution registry in
# plain, htpasswd and TLS modes. The base image (a linux/amd64 + linux/arm64
# index, three layers, a few MB, built by e2e/basic) is pushed with crane;
# this workspace pulls it and builds images on top, and so does
# e2e/workspace/run.sh in WORKSPACE mode. The registry's access log tells
# which blobs were fetched.
# Usage: run.sh   (needs bazel, crane, the registries of tools/services)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../../tools/services
export PATH="$(go env GOPATH)/bin:$PATH"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_pull.XXXXXX)
# Sandboxed actions get a private /tmp (Bazel 7's hermetic /tmp): the config
# file of the DownloadBlob check lives outside it.
action_creds=$(mkdir -p "$HOME/.cache" && mktemp -d "$HOME/.cache/rules_img_pull_creds.XXXXXX")
cleanup() {
  rm -rf "$action_creds"
  (cd "$here" && bazel shutdown >/dev/null 2>&1)
  for m in plain auth tls; do "$services/registry.sh" clean "$m" >/dev/null 2>&1; done
  rm -rf "$work" "$here/MODULE.bazel"
}
trap cleanup EXIT

# 1. The base image, pushed to every registry and repository the pulls use.
(cd "$here/../basic" && bazel build //images:base --output_groups=+oci_layout,+digest >"$work/seed.out" 2>&1) ||
  { tail -20 "$work/seed.out"; bad "build the base image"; exit 1; }
layout=$here/../basic/bazel-bin/images/base_oci_layout
digest=$(cat "$here/../basic/bazel-bin/images/base_digest")
total=$(find "$layout/blobs" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
for m in plain auth tls; do "$services/registry.sh" clean "$m" >/dev/null 2>&1; done
declare -A log
for m in plain auth tls; do
  while IFS='=' read -r k v; do declare "R_${m}_$k=$v"; done < <("$services/registry.sh" start "$m" 2>/dev/null)
done
log[plain]=$R_plain_REGISTRY_LOG
push() { # push MODE REPO
  local reg="R_$1_REGISTRY" cfg="R_$1_REGISTRY_DOCKER_CONFIG" ca="R_$1_REGISTRY_CA"
  local envs=(DOCKER_CONFIG="${!cfg:-$work/no-auth}") flags=(--insecure)
  if [ -n "${!ca:-}" ]; then envs+=(SSL_CERT_FILE="${!ca}"); flags=(); fi
  env "${envs[@]}" crane push "${flags[@]}" "$layout" "${!reg}/$2" >>"$work/seed.out" 2>&1
}
seeded=1
for repo in base/app:v1 base/eager:v1 base/lazy:v1 base/mirror:v1 base/workspace:v1 base/blobs:v1; do push plain "$repo" || seeded=0; done
push auth base/app:v1 || seeded=0
push tls base/app:v1 || seeded=0
[ "$seeded" = 1 ] && ok "crane pushed the base ($digest, $total bytes) to plain, auth and tls registries" || { tail -5 "$work/seed.out"; bad "seeding the registries"; exit 1; }
# A docker config file (any name) with the htpasswd registry's credentials,
# for docker_config_path; DOCKER_CONFIG=$work/empty-docker keeps ~/.docker out.
mkdir -p "$work/creds" "$work/empty-docker"
auth_config=$work/creds/registry-auth.json
printf '{"auths":{"127.0.0.1:5001":{"auth":"%s"}}}\n' "$(printf '%s:%s' "$R_auth_REGISTRY_USER" "$R_auth_REGISTRY_PASSWORD" | base64 -w0)" >"$auth_config"
sed -e "s|@DIGEST@|$digest|g" -e "s|@AUTH_CONFIG@|$auth_config|g" "$here/MODULE.bazel.in" >"$here/MODULE.bazel"

# The base for the INHERIT_FROM_BASE checks (section 2b): its linux/amd64
# image with entrypoint, cmd, user and working dir set by crane mutate.
cfg_ref=127.0.0.1:5000/base/config
if crane push --insecure "$layout" "$cfg_ref:v1" >>"$work/seed.out" 2>&1 &&
  crane mutate --insecure --platform linux/amd64 --entrypoint /app/bin/hello,--plain --cmd --greeting,world \
    --user 1000:1000 --workdir /app -t "$cfg_ref:mutated" "$cfg_ref:v1" >>"$work/seed.out" 2>&1; then
  sed -i "s|@CONFIG_DIGEST@|$(crane digest --insecure "$cfg_ref:mutated")|g" "$here/MODULE.bazel"
else
  tail -5 "$work/seed.out"; bad "crane mutate: a base with entrypoint, cmd, user and working dir"
fi

cd "$here" || exit 1
# blob_gets LOG REPO: digests of blobs fetched from REPO (GET, not HEAD).
blob_gets() { grep -o "\"GET /v2/$2/blobs/sha256:[0-9a-f]*" "$1" | sed 's/.*blobs\///' | sort -u; }
layers() { jq -r '.manifests[].layers[].digest' "$(bazel info output_base 2>/dev/null)/external/+_repo_rules+$1/image/pull.json" | sort -u; }

# 2. Shallow: manifests and configs only, then an image on top.
if bazel build //:app_on_base >"$work/b.out" 2>&1; then
  ok "shallow pull + image_manifest on top builds"
  fetched=$(blob_gets "${log[plain]}" base/app)
  layer_hits=$(comm -12 <(echo "$fetched") <(layers base) | wc -l)
  [ "$layer_hits" = 0 ] && ok "shallow: the registry log shows no layer blob GET ($(echo "$fetched" | grep -c .) config blobs fetched)" || bad "shallow: $layer_hits layer blobs fetched"
  line=$(grep -o 'fetched [0-9]* bytes of [0-9]*[^"]*' "$work/b.out" | head -1)
  echo "     base: $line"
  jq -e --arg d "$digest" '.root.digest == $d and (.manifests | length) == 2' "$(bazel info output_base 2>/dev/null)/external/+_repo_rules+base/image/pull.json" >/dev/null &&
    ok "shallow: pull.json has the pinned index and both platforms" || bad "shallow: pull.json"
  mf=$(bazel cquery --output=files //:app_on_base 2>/dev/null | grep _manifest.json)
  [ "$(jq '.layers | length' "$mf")" = 4 ] && ok "image on the shallow base: 3 base layers + 1" || bad "image on the shallow base: $(jq '.layers | length' "$mf") layers"
else
  tail -20 "$work/b.out"; bad "shallow pull"
fi
# 2b. INHERIT_FROM_BASE on the pulled base/config: config fields left alone
#     equal the base's (read with crane), "" and [] unset them, an
#     INHERIT_FROM_BASE item splices the base's list in; created_timestamp.
if bazel build //:config_inherit //:config_unset //:config_append >"$work/b.out" 2>&1; then
  crane config --insecure "$cfg_ref:mutated" >"$work/base_config.json"
  # cfg TARGET JQ-ARGS...: jq over the config the target built.
  cfg() { local t=$1; shift; jq "$@" "$(bazel cquery --output=files "//:$t" 2>/dev/null | grep _config.json)"; }
  fields='.config | {Entrypoint, Cmd, User, WorkingDir}'
  want='{"Entrypoint":["/app/bin/hello","--plain"],"Cmd":["--greeting","world"],"User":"1000:1000","WorkingDir":"/app"}'
  jq -e --argjson w "$want" "($fields) == \$w" "$work/base_config.json" >/dev/null || bad "base/config: crane mutate did not set $want"
  [ "$(cfg config_inherit "$fields")" = "$(jq "$fields" "$work/base_config.json")" ] &&
    ok "INHERIT_FROM_BASE (default): entrypoint, cmd, user, working dir equal the pulled base's" ||
    bad "inherit: $(cfg config_inherit -c "$fields" 2>&1)"
  cfg config_unset -e '(.config | has("Cmd") or has("User") | not) and .config.Entrypoint == ["/app/bin/hello","--plain"] and .config.WorkingDir == "/app"' >/dev/null &&
    ok "cmd = [], user = \"\": both absent from the config, the rest inherited" || bad "unset: $(cfg config_unset -c .config)"
  cfg config_append -e --slurpfile b "$work/base_config.json" '.config.Entrypoint == $b[0].config.Entrypoint + ["--verbose"] and .config.Cmd == $b[0].config.Cmd' >/dev/null &&
    ok "entrypoint = [INHERIT_FROM_BASE, \"--verbose\"]: the base's entrypoint + --verbose" || bad "append: $(cfg config_append -c .config.Entrypoint)"
  [ "$(cfg config_append -r .created)" = 2023-11-14T22:13:20Z ] && [ "$(cfg config_inherit -r .created)" = 1970-01-01T00:00:00Z ] &&
    ok "created_timestamp = \"1700000000\": created 2023-11-14T22:13:20Z; without it the epoch" || bad "created: $(cfg config_append -r .created)"
else
  tail -20 "$work/b.out"; bad "images on base/config"
fi

# The layout of an image on a shallow base cannot be complete.
if bazel build --output_groups=oci_layout //:app_on_base >"$work/b.out" 2>&1; then
  bad "shallow: oci_layout without base blobs was allowed"
else
  grep -q "shallow_oci_layout=i_know_what_i_am_doing" "$work/b.out" && ok "shallow: oci_layout fails and names the setting" || { bad "shallow: oci_layout error"; grep -E 'ERROR|img' "$work/b.out" | head -3; }
fi
bazel build --output_groups=oci_layout --@rules_img//img/settings:shallow_oci_layout=i_know_what_i_am_doing //:app_on_base >"$work/b.out" 2>&1 &&
  ok "shallow: oci_layout allowed with i_know_what_i_am_doing" || bad "shallow: incomplete layout"

# 3. Eager: every layer, and the image on top runs in containerd.
if bazel build --output_groups=+oci_tarball //:app_on_base_eager >"$work/b.out" 2>&1; then
  n=$(comm -12 <(blob_gets "${log[plain]}" base/eager) <(layers base_eager) | wc -l)
  [ "$n" = "$(layers base_eager | wc -l)" ] && ok "eager: all $n layers fetched" || bad "eager: $n layers fetched"
  eval "$("$services/containerd.sh" start 2>/dev/null)"
  ctr="ctr -a $CONTAINERD_ADDRESS -n rules_img_e2e_pull"
  tarball=$(bazel cquery --output=files --output_groups=oci_tarball //:app_on_base_eager 2>/dev/null)
  $ctr images rm e2e/pull:eager >/dev/null 2>&1
  if $ctr images import --index-name e2e/pull:eager "$tarball" >/dev/null 2>&1; then
    got=$($ctr run --rm e2e/pull:eager "pull-$$" 2>&1)
    [ "$got" = "Hello from rules_img!" ] && ok "eager: the image on the pulled base runs in containerd" || bad "eager: ctr run printed: $got"
  else
    bad "eager: ctr import"
  fi
  "$services/containerd.sh" stop >/dev/null 2>&1
else
  tail -20 "$work/b.out"; bad "eager pull"
fi

# 4. Lazy: nothing at fetch time; layers when the layers target is built.
if bazel build //:app_on_base_lazy >"$work/b.out" 2>&1; then
  n=$(comm -12 <(blob_gets "${log[plain]}" base/lazy) <(layers base_lazy) | wc -l)
  [ "$n" = 0 ] && ok "lazy: no layer fetched by the pull" || bad "lazy: $n layers fetched by the pull"
  bazel build @base_lazy//:layers >"$work/b.out" 2>&1 || { tail -10 "$work/b.out"; bad "lazy: build @base_lazy//:layers"; }
  n=$(comm -12 <(blob_gets "${log[plain]}" base/lazy) <(layers base_lazy) | wc -l)
  [ "$n" = "$(layers base_lazy | wc -l)" ] && ok "lazy: building @base_lazy//:layers fetched all $n layers" || bad "lazy: $n layers after building :layers"
  bazel build --output_groups=oci_layout //:app_on_base_lazy >"$work/b.out" 2>&1 && ok "lazy: complete oci_layout from downloaded layers" || { bad "lazy: oci_layout"; grep ERROR "$work/b.out" | head -3; }
else
  tail -20 "$work/b.out"; bad "lazy pull"
fi

# 5. Mirror fallback and Bazel's downloader.
bazel build //:app_on_base_mirror >"$work/b.out" 2>&1 && ok "mirror: the first mirror 127.0.0.1:1 is down, the second 127.0.0.1:5000 served" || { tail -10 "$work/b.out"; bad "mirror"; }
regs=$(bazel query --output=build @base_mirror//:image 2>/dev/null | tr -d ' \n' | grep -o 'registries=\[[^]]*\]')
[ "$regs" = 'registries=["127.0.0.1:1","127.0.0.1:5000","127.0.0.1:2"]' ] && ok "mirror: PullInfo lists the mirrors, then the registry" || bad "mirror: PullInfo registries $regs"
if bazel build @docker_hub_default//:image >"$work/b.out" 2>&1; then
  bad "docker hub default: a zero digest was accepted"
else
  grep -q "library/busybox@sha256:0000.* from index.docker.io" "$work/b.out" && ok "no registry: Docker Hub (index.docker.io) is asked" || { bad "no registry: Docker Hub not named"; grep ERROR "$work/b.out" | head -3; }
fi
bazel build //:app_on_base_bazel_downloader >"$work/b.out" 2>&1 && ok "downloader = bazel" || { tail -10 "$work/b.out"; bad "downloader = bazel"; }

# 6. htpasswd and TLS registries.
if bazel build --repo_env=IMG_DOCKER_CONFIG="$R_auth_REGISTRY_DOCKER_CONFIG" //:app_on_base_auth >"$work/b.out" 2>&1; then
  ok "auth: pulled with docker config credentials"
else
  tail -10 "$work/b.out"; bad "auth pull"
fi
bazel build --repo_env=IMG_REGISTRY_CA_FILE="$R_tls_REGISTRY_CA" //:app_on_base_tls >"$work/b.out" 2>&1 && ok "tls: pulled with the registry's CA" || { tail -10 "$work/b.out"; bad "tls pull"; }

# 7. Pushing an image on the shallow base: to another registry the base
#    layers are streamed from this one; to another repository of this
#    registry they are mounted.
while IFS='=' read -r k v; do declare "B_$k=$v"; done < <("$services/registry.sh" start plain 5005 2>/dev/null)
base_layers=$(layers base)
if bazel run //:push_to_other_registry >"$work/b.out" 2>&1 &&
   [ "$(crane digest --insecure 127.0.0.1:5005/e2e/on-base:latest 2>&1)" = "$(cat "$(bazel cquery --output=files --output_groups=digest //:app_on_base 2>/dev/null)")" ]; then
  streamed=$(comm -12 <(blob_gets "${log[plain]}" base/app) <(echo "$base_layers") | wc -l)
  landed=$(for d in $base_layers; do crane blob --insecure "127.0.0.1:5005/e2e/on-base@$d" >/dev/null 2>&1 && echo "$d"; done | wc -l)
  [ "$streamed" -ge 1 ] && [ "$landed" = "$(echo "$base_layers" | wc -l)" ] &&
    ok "push to registry B: $landed base layers moved A -> B (A's log shows the GETs); crane reads the built digest" ||
    bad "push to registry B: streamed=$streamed landed=$landed"
  grep -E 'streamed|pushed' "$work/b.out" | sed 's/^/     /' | tail -2
else
  tail -10 "$work/b.out"; bad "push to another registry"
fi
if bazel run //:push_to_same_registry >"$work/b.out" 2>&1; then
  mounts=$(grep -cE '"POST /v2/e2e/on-base/blobs/uploads/[^"]*mount=[^"]*" 201' "${log[plain]}")
  [ "$mounts" -ge 1 ] && ok "push to another repository of A: base layers mounted ($mounts mount requests answered 201)" || bad "push to the same registry: no mount in the log"
else
  tail -10 "$work/b.out"; bad "push to the same registry"
fi
"$services/registry.sh" clean plain 5005 >/dev/null 2>&1

# 8. WORKSPACE mode (e2e/workspace): a shallow pull, single blobs, the pull
#    tool and prebuilt toolchain macros under upstream's names.
bazel shutdown >/dev/null 2>&1
blob() { jq -r "$2" "$layout/blobs/sha256/${1#sha256:}"; }
first=$(blob "$digest" '.manifests[0].digest')
if E2E_REGISTRY=127.0.0.1:5000 E2E_BASE_DIGEST=$digest E2E_REGISTRY_LOG=${log[plain]} \
   E2E_CONFIG_DIGEST=$(blob "$first" .config.digest) E2E_LAYER_DIGEST=$(blob "$first" '.layers[0].digest') \
   E2E_BASE_LAYERS="$(for m in $(blob "$digest" '.manifests[].digest'); do blob "$m" '.layers[].digest'; done | sort -u | tr '\n' ' ')" \
   "$here/../workspace/run.sh" "$work"; then
  ok "WORKSPACE mode: pull, pull_blob_file, pull_blob_archive, prebuilt macros (see above)"
else
  bad "WORKSPACE mode (see above)"
fi

# 9. Bad input: no credentials, wrong digest, no digest.
bazel clean --expunge >/dev/null 2>&1
if bazel build --repo_env=IMG_DOCKER_CONFIG="$work/empty-config" @base_auth//:image >"$work/b.out" 2>&1; then
  bad "auth: pull without credentials succeeded"
elif grep -q "127.0.0.1:5001" "$work/b.out" && grep -q "base/app" "$work/b.out" && grep -qi "401\|unauthorized\|authentication required" "$work/b.out"; then
  grep -q testpassword "$work/b.out" && bad "auth: the error prints the password" || ok "auth: clear 401 naming registry and repository, no secret printed"
else
  bad "auth: unclear error"; grep -E 'ERROR|rror' "$work/b.out" | head -3
fi
if bazel build @wrong_digest//:image >"$work/b.out" 2>&1; then
  bad "wrong digest accepted"
else
  grep -q "sha256:0000000000000000000000000000000000000000000000000000000000000000" "$work/b.out" && ok "wrong digest: clear error naming the pinned digest" || { bad "wrong digest: unclear error"; grep ERROR "$work/b.out" | head -3; }
  [ ! -e "$(bazel info output_base 2>/dev/null)/external/+_repo_rules+wrong_digest/image" ] && ok "wrong digest: nothing cached" || bad "wrong digest: blobs left in the repository"
fi
if bazel build @no_digest//:image >"$work/b.out" 2>&1; then
  bad "pull without digest accepted"
else
  grep -q "digest = \"$digest\"" "$work/b.out" && ok "no digest: the error prints the digest to pin" || { bad "no digest: no digest printed"; grep -A3 ERROR "$work/b.out" | head -5; }
fi

# 10. docker_config_path: the pull attribute, and the setting for the
#     DownloadBlob actions of the layers; no credentials in ~/.docker (DOCKER_CONFIG
#     is an empty directory), no credential helper.
nohelper=(--repo_env=DOCKER_CONFIG="$work/empty-docker" --repo_env=IMG_DOCKER_CONFIG= --repo_env=IMG_CREDENTIAL_HELPER= --repo_env=IMG_CREDENTIAL_HELPER_OCI_REGISTRY=)
if bazel build "${nohelper[@]}" @base_auth_config//:image >"$work/b.out" 2>&1 &&
  jq -e --arg d "$digest" '.root.digest == $d' "$(bazel info output_base 2>/dev/null)/external/+_repo_rules+base_auth_config/image/pull.json" >/dev/null; then
  ok "docker_config_path: pulled $digest from the htpasswd registry with credentials only in $auth_config"
else
  tail -10 "$work/b.out"; bad "docker_config_path pull"
fi
if bazel build "${nohelper[@]}" @base_auth//:image >"$work/b.out" 2>&1; then
  bad "without docker_config_path the pull from the htpasswd registry succeeded"
elif grep -q "127.0.0.1:5001" "$work/b.out" && grep -qi "401\|authentication required" "$work/b.out"; then
  grep -q "$R_auth_REGISTRY_PASSWORD" "$work/b.out" && bad "without docker_config_path: the error prints the password" || ok "without docker_config_path: clear 401 naming 127.0.0.1:5001: $(grep -o 'registry 127.0.0.1:5001[^;]*' "$work/b.out" | head -1)"
else
  bad "without docker_config_path: unclear error"; grep -E 'ERROR|rror' "$work/b.out" | head -3
fi
if bazel build "${nohelper[@]}" @base_auth_config//:layers >"$work/b.out" 2>&1; then
  bad "DownloadBlob without the docker_config_path setting succeeded"
else
  grep -q "127.0.0.1:5001" "$work/b.out" && ok "DownloadBlob without the setting: fails naming 127.0.0.1:5001" || { bad "DownloadBlob without the setting: unclear"; grep ERROR "$work/b.out" | head -3; }
fi
cp "$auth_config" "$action_creds/registry-auth.json"
with_setting=(--@rules_img//img/settings:docker_config_path="$action_creds/registry-auth.json")
if bazel build "${nohelper[@]}" "${with_setting[@]}" @base_auth_config//:layers >"$work/b.out" 2>&1; then
  n=0
  for f in $(bazel cquery "${nohelper[@]}" "${with_setting[@]}" --output=files @base_auth_config//:layers 2>/dev/null); do
    [ "sha256:$(sha256sum "$f" | cut -d' ' -f1)" = "sha256:$(basename "$f")" ] && n=$((n + 1))
  done
  [ "$n" = "$(layers base_auth_config | wc -l)" ] && ok "docker_config_path setting: DownloadBlob actions fetched all $n layers from the htpasswd registry, digests verified with sha256sum" || bad "DownloadBlob with the setting: $n layers verified"
else
  tail -10 "$work/b.out"; bad "DownloadBlob with the docker_config_path setting"
fi

echo "pull: $pass passed, $fail failed"
[ "$fail" = 0 ]
