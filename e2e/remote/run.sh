#!/usr/bin/env bash
# End-to-end checks of the remote-cache push strategies against real
# servers: Bazel 7.7.1 builds with --remote_cache (Bazel's own remote worker)
# and --remote_download_minimal, so layer blobs never reach this machine;
#   - lazy: `bazel run` streams them from the remote cache to the real
#     distribution registry (plain worker, worker with a token from a
#     credential helper, worker over TLS, and buildbox-casd);
#   - cas_registry: `img registry` serves them from the remote cache,
#     the push sends manifests only;
#   - bes: `img bes` receives Bazel's build events and pushes the
#     image_push targets of the build; a failed target is not pushed.
# Every pushed image is read back with crane and one runs in containerd.
# Usage: run.sh   (needs bazel, crane, ctr and tools/services)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
services=$root/tools/services
export PATH="$(go env GOPATH)/bin:/usr/local/go/bin:$PATH"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_remote.XXXXXX)
export BAZEL_SID_BINDS=$work
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  (cd "$here" && bazel shutdown >/dev/null 2>&1)
  "$services/registry.sh" clean plain 5200 >/dev/null 2>&1
  for m in worker worker-auth worker-tls casd; do "$services/reapi.sh" clean "$m" >/dev/null 2>&1; done
  "$services/containerd.sh" stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
cd "$here" || exit 1

# start_reapi MODE PREFIX: start a REAPI server, its KEY=VALUE lines as PREFIX_KEY.
start_reapi() {
  local k v
  "$services/reapi.sh" clean "$1" >/dev/null 2>&1
  while IFS='=' read -r k v; do declare -g "$2_$k=$v"; done < <("$services/reapi.sh" start "$1" 2>"$work/reapi-$1.err")
}
start_reapi worker W
[ -n "${W_REAPI_ENDPOINT:-}" ] || { cat "$work/reapi-worker.err"; bad "start Bazel's remote worker"; exit 1; }
eval "$("$services/registry.sh" start plain 5200 2>/dev/null)"
reg=127.0.0.1:5200
reglog=$REGISTRY_LOG
eval "$("$services/containerd.sh" start 2>/dev/null)"
ctr="ctr -a $CONTAINERD_ADDRESS -n rules_img_remote"

(cd "$root/img_tool" && go build -o "$work/img" ./cmd/img) ||
  { bad "go build cmd/img"; exit 1; }

# The helper of worker-auth: Bazel's credential helper protocol, counting its runs.
cat >"$work/helper.sh" <<HELPER
#!/bin/sh
[ "\$1" = get ] || exit 2
cat >>"$work/helper.stdin"
echo run >>"$work/helper.runs"
printf '{"headers":{"Authorization":["Bearer %s"]}}\n' "\$(cat "$work/token")"
HELPER
chmod +x "$work/helper.sh"

# digest_of TARGET: the digest the build wrote for an image (downloaded).
digest_of() { bazel build "${rc[@]}" --remote_download_toplevel --output_groups=digest "$1" >/dev/null 2>&1 && cat "bazel-bin/${1#//:}_digest"; }
# blob_path TARGET: the exec path of a layer blob.
blob_path() { bazel cquery "${rc[@]}" --output=files "$1" 2>/dev/null | grep -v '\.json$' | head -1; }
# registry_tag REPO TAG: the digest a tag points to, empty when none.
registry_tag() { crane digest --insecure "$reg/$1:$2" 2>/dev/null; }

# 1. lazy against the plain worker.
rc=(--remote_cache="$W_REAPI_ENDPOINT" --remote_download_minimal)
# The first build runs the actions here and fills the cache (as CI would);
# after `bazel clean` the second one only hits the cache, as on a developer's
# machine, and downloads nothing it does not need.
bazel clean >/dev/null 2>&1
bazel build "${rc[@]}" //:push_lazy //:push_bes >"$work/build.out" 2>&1 || { tail -20 "$work/build.out"; bad "build //:push_lazy"; }
bazel clean >/dev/null 2>&1
if bazel build "${rc[@]}" //:push_lazy >"$work/build.out" 2>&1; then
  ok "build //:push_lazy with --remote_cache --remote_download_minimal: $(grep -o '[0-9]* remote cache hit' "$work/build.out")"
else
  tail -20 "$work/build.out"; bad "build //:push_lazy"
fi
execroot=$(bazel info "${rc[@]}" execution_root 2>/dev/null)
data_blob=$(blob_path //:data_layer)
app_blob=$(blob_path //:app_layer)
[ -n "$data_blob" ] && [ ! -e "$execroot/$data_blob" ] && [ ! -e "$execroot/$app_blob" ] &&
  ok "no layer blob in the local output tree ($data_blob, $app_blob)" || bad "layer blobs were downloaded: $data_blob $app_blob"
want=$(digest_of //:app)
if bazel run "${rc[@]}" --@rules_img//img/settings:remote_cache="$W_REAPI_ENDPOINT" //:push_lazy >"$work/lazy.out" 2>"$work/lazy.err"; then
  ok "bazel run //:push_lazy (remote_cache setting)"
  grep '^pushed' "$work/lazy.err" | sed 's/^/     /'
else
  tail -20 "$work/lazy.err"; bad "bazel run //:push_lazy"
fi
[ ! -e "$execroot/$data_blob" ] && ok "still no layer blob in the output tree after the push" || bad "bazel run downloaded the layer"
[ "$(grep -c '^cached ' "$work/lazy.err")" = 2 ] && ok "both layers came from the remote cache" || { cat "$work/lazy.err"; bad "not 2 'cached' lines"; }
got=$(registry_tag e2e/lazy latest)
[ -n "$want" ] && [ "$got" = "$want" ] && ok "crane: $reg/e2e/lazy:latest is the built $want" || bad "crane: e2e/lazy:latest is '$got', built '$want'"
$ctr images rm "$reg/e2e/lazy:latest" >/dev/null 2>&1
if $ctr images pull --plain-http "$reg/e2e/lazy:latest" >/dev/null 2>&1; then
  out=$($ctr run --rm "$reg/e2e/lazy:latest" "remote-lazy-$$" 2>&1)
  [ "$out" = "Hello from rules_img!" ] && ok "containerd pulls e2e/lazy from the registry and runs it" || bad "ctr run printed: $out"
else
  bad "ctr pull $reg/e2e/lazy:latest"
fi

# 2. lazy with the default strategy setting, through multi_deploy, env endpoint.
if IMG_REAPI_ENDPOINT=$W_REAPI_ENDPOINT bazel run "${rc[@]}" --@rules_img//img/settings:push_strategy=lazy //:deploy_all_lazy >"$work/multi.out" 2>"$work/multi.err" &&
  [ "$(registry_tag e2e/remote latest)" = "$want" ]; then
  ok "multi_deploy with push_strategy=lazy (IMG_REAPI_ENDPOINT from the environment)"
else
  tail -10 "$work/multi.err"; bad "multi_deploy lazy"
fi

# 2b. lazy load: containerd receives the layers it lacks from the remote cache.
$ctr images rm docker.io/e2e/remote-lazy:latest >/dev/null 2>&1
for d in $($ctr content ls -q 2>/dev/null); do $ctr content rm "$d" >/dev/null 2>&1; done
if CONTAINERD_ADDRESS=$CONTAINERD_ADDRESS CONTAINERD_NAMESPACE=rules_img_remote IMG_REAPI_ENDPOINT=$W_REAPI_ENDPOINT bazel run "${rc[@]}" //:load_lazy >"$work/load.out" 2>"$work/load.err" &&
  [ ! -e "$execroot/$data_blob" ] &&
  [ "$($ctr run --rm docker.io/e2e/remote-lazy:latest "remote-load-$$" 2>&1)" = "Hello from rules_img!" ]; then
  ok "lazy load into containerd from the remote cache, no layer in the output tree; ctr run prints the greeting: $(grep '^loaded' "$work/load.err" | sed 's/ into containerd.*:/:/')"
else
  tail -5 "$work/load.err"; bad "lazy load into containerd"
fi

# 3. Bad input: unreachable cache, evicted blob. Neither leaves a tag.
fresh_repo() { echo "e2e/bad-$1"; }
if IMG_REAPI_ENDPOINT=grpc://127.0.0.1:1 bazel run "${rc[@]}" //:push_lazy -- --repository "$(fresh_repo unreachable)" >/dev/null 2>"$work/unreach.err"; then
  bad "push with an unreachable cache succeeded"
else
  grep -q "remote cache grpc://127.0.0.1:1" "$work/unreach.err" && ok "unreachable cache: $(grep -o 'remote cache grpc://127.0.0.1:1[^(]*' "$work/unreach.err" | head -1)" || { tail -3 "$work/unreach.err"; bad "unreachable cache: unclear error"; }
fi
[ -z "$(registry_tag "$(fresh_repo unreachable)" latest)" ] && ok "unreachable cache: no tag" || bad "unreachable cache: a tag was written"
data_hash=$(jq -r '.layers[1].digest' <(crane manifest --insecure "$reg/e2e/lazy:latest") | sed 's/sha256://')
rm -f "$W_REAPI_CAS_DIR"/*/"$data_hash" "$W_REAPI_CAS_DIR/$data_hash" 2>/dev/null
find "$W_REAPI_CAS_DIR" -name "$data_hash" -delete
if IMG_REAPI_ENDPOINT=$W_REAPI_ENDPOINT bazel run "${rc[@]}" //:push_lazy -- --repository "$(fresh_repo evicted)" >/dev/null 2>"$work/evicted.err"; then
  bad "push of an evicted blob succeeded"
else
  grep -q "sha256:$data_hash" "$work/evicted.err" && grep -q "written by //:data_layer," "$work/evicted.err" && grep -q -- "--remote_upload_local_results" "$work/evicted.err" &&
    ok "evicted blob: the error names the digest, //:data_layer and the fix" || { tail -3 "$work/evicted.err"; bad "evicted blob: unclear error"; }
fi
[ -z "$(registry_tag "$(fresh_repo evicted)" latest)" ] && ok "evicted blob: no tag" || bad "evicted blob: a tag was written"
sed -n 's/^img: /     /p' "$work/evicted.err" | head -1 | cut -c1-400

# 4. worker-auth: Bazel sends the token as a header; the push gets it from
#    the credential helper (run once per push), and a wrong one is refused.
start_reapi worker-auth A
echo "$A_REAPI_TOKEN" >"$work/token"
rc_auth=(--remote_cache="$A_REAPI_ENDPOINT" --remote_header="Authorization=Bearer $A_REAPI_TOKEN" --remote_download_minimal)
cache_fill() { # cache_fill FLAGS...: build with a new cache, then only from it
  bazel clean >/dev/null 2>&1
  bazel "$@" //:push_lazy >"$work/fill.out" 2>&1 || { tail -5 "$work/fill.out"; return 1; }
  bazel clean >/dev/null 2>&1
  bazel "$@" //:push_lazy >"$work/fill.out" 2>&1
}
cache_fill build "${rc_auth[@]}" || bad "build against worker-auth"
rm -f "$work/helper.runs"
if bazel run "${rc_auth[@]}" --@rules_img//img/settings:remote_cache="$A_REAPI_ENDPOINT" \
  --@rules_img//img/settings:credential_helper="$work/helper.sh" //:push_lazy -- --repository e2e/auth >/dev/null 2>"$work/auth.err" &&
  [ "$(registry_tag e2e/auth latest)" = "$want" ]; then
  ok "worker-auth: lazy push with the token from the credential helper (helper ran $(wc -l <"$work/helper.runs") time(s), asked for $(jq -r .uri "$work/helper.stdin" | head -1))"
else
  tail -5 "$work/auth.err"; bad "worker-auth: lazy push"
fi
echo wrong-token >"$work/token"
if IMG_CREDENTIAL_HELPER=$work/helper.sh IMG_REAPI_ENDPOINT=$A_REAPI_ENDPOINT bazel run "${rc_auth[@]}" //:push_lazy -- --repository e2e/bad-token >/dev/null 2>"$work/token.err"; then
  bad "worker-auth: a wrong token was accepted"
else
  grep -q "PERMISSION_DENIED\|UNAUTHENTICATED" "$work/token.err" && grep -q "IMG_CREDENTIAL_HELPER" "$work/token.err" &&
    ok "worker-auth: a wrong token is refused" || { tail -3 "$work/token.err"; bad "worker-auth: unclear error for a wrong token"; }
  sed -n 's/^img: /     /p' "$work/token.err" | head -1 | cut -c1-300
fi
[ -z "$(registry_tag e2e/bad-token latest)" ] && ok "worker-auth: no tag after the refused push" || bad "worker-auth: a tag was written"

# 5. worker-tls: grpcs:// with the worker's CA, for Bazel and for the push.
start_reapi worker-tls T
tls_jvm=--host_jvm_args=-Djava.library.path=/usr/share/bazel:/usr/java/packages/lib
rc_tls=(--remote_cache="$T_REAPI_ENDPOINT" --tls_certificate="$T_REAPI_CA" --remote_download_minimal)
if cache_fill "$tls_jvm" build "${rc_tls[@]}" &&
  IMG_REAPI_ENDPOINT=$T_REAPI_ENDPOINT IMG_REAPI_CA_FILE=$T_REAPI_CA bazel "$tls_jvm" run "${rc_tls[@]}" //:push_lazy -- --repository e2e/tls >/dev/null 2>"$work/tls.err" &&
  [ "$(registry_tag e2e/tls latest)" = "$want" ] && [ "$(grep -c '^cached ' "$work/tls.err")" = 2 ]; then
  ok "worker-tls: lazy push over grpcs:// ($T_REAPI_ENDPOINT)"
else
  tail -5 "$work/fill.out" "$work/tls.err"; bad "worker-tls: lazy push"
fi
bazel shutdown >/dev/null 2>&1

# 6. buildbox-casd (Bazel 7 cannot use it): the layers uploaded with
#    buildbox's casupload, then read by the push.
start_reapi casd C
# The worker-auth cache holds both layers (the plain worker lost one above).
for d in $(crane manifest --insecure "$reg/e2e/lazy:latest" | jq -r '.layers[].digest' | sed 's/sha256://'); do
  cp "$(find "$A_REAPI_CAS_DIR" -name "$d" -type f | head -1)" "$work/layer-$d"
done
if BAZEL_SID_EXEC=1 BAZEL_SID_BINDS="$work" bazel casupload --remote="http://$C_REAPI_ADDR" "$work"/layer-* >"$work/casupload.out" 2>&1 &&
  IMG_REAPI_ENDPOINT=$C_REAPI_ENDPOINT bazel run "${rc[@]}" //:push_lazy -- --repository e2e/casd >/dev/null 2>"$work/casd.err" &&
  [ "$(registry_tag e2e/casd latest)" = "$want" ] && [ "$(grep -c '^cached ' "$work/casd.err")" = 2 ]; then
  ok "buildbox-casd: lazy push reads both layers from casd"
else
  tail -5 "$work/casupload.out" "$work/casd.err"; bad "buildbox-casd: lazy push"
fi

# 7. cas_registry: `img registry` over the worker; the push commits the blobs
#    and sends the manifest only.
"$work/img" registry --reapi-endpoint "$A_REAPI_ENDPOINT" --remote-header "Authorization=Bearer $A_REAPI_TOKEN" \
  --port 5300 --grpc-port 5301 2>"$work/casreg.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "blob cache" "$work/casreg.log" && break; sleep 0.1; done
if IMG_BLOB_CACHE_ENDPOINT=grpc://127.0.0.1:5301 bazel run "${rc_auth[@]}" --@rules_img//img/settings:push_strategy=cas_registry \
  //:push -- --registry 127.0.0.1:5300 --repository e2e/cas >/dev/null 2>"$work/cas.err"; then
  ok "cas_registry push: $(grep '^pushed' "$work/cas.err")"
else
  tail -5 "$work/cas.err" "$work/casreg.log"; bad "cas_registry push"
fi
writes=$(grep -E '^(PUT|POST|PATCH) ' "$work/casreg.log")
if [ -n "$writes" ] && ! echo "$writes" | grep -qv ' /v2/e2e/cas/manifests/'; then
  ok "cas_registry: the registry received manifest PUTs only: $(echo "$writes" | awk '{printf "%s %s %s bytes; ", $1, $2, $4}')"
else
  echo "$writes"; bad "cas_registry: the registry received blob uploads"
fi
[ "$(crane digest --insecure 127.0.0.1:5300/e2e/cas:latest 2>/dev/null)" = "$want" ] && ok "crane: 127.0.0.1:5300/e2e/cas:latest is the built digest" || bad "crane digest of the cas_registry image"
# Every blob, read back through the cas registry with crane, has its digest.
blobs_ok=1
for d in $(crane manifest --insecure 127.0.0.1:5300/e2e/cas:latest | jq -r '.config.digest, .layers[].digest'); do
  [ "sha256:$(crane blob --insecure "127.0.0.1:5300/e2e/cas@$d" | sha256sum | cut -d' ' -f1)" = "$d" ] || { blobs_ok=0; echo "     blob $d differs"; }
done
[ "$blobs_ok" = 1 ] && ok "crane blob: config and layers served by the cas registry match their digests" || bad "cas registry blobs"
$ctr images rm 127.0.0.1:5300/e2e/cas:latest >/dev/null 2>&1
if $ctr images pull --plain-http 127.0.0.1:5300/e2e/cas:latest >/dev/null 2>&1 &&
  [ "$($ctr run --rm 127.0.0.1:5300/e2e/cas:latest "remote-cas-$$" 2>&1)" = "Hello from rules_img!" ]; then
  ok "containerd pulls the image from the cas registry and runs it"
else
  bad "containerd run from the cas registry"
fi

# 8. bes: Bazel streams its build events to `img bes`, which pushes the
#    image_push targets (strategy bes) of the build; the broken one fails.
"$work/img" bes --port 5400 --cas-endpoint "$A_REAPI_ENDPOINT" --remote-header "Authorization=Bearer $A_REAPI_TOKEN" \
  --commit-mode per-stream 2>"$work/bes.log" &
pids+=($!)
for _ in $(seq 50); do grep -q "listening" "$work/bes.log" && break; sleep 0.1; done
bazel build "${rc_auth[@]}" --bes_backend=grpc://127.0.0.1:5400 --keep_going \
  //:push_bes //:push_bes_second //:push_bes_broken >"$work/besbuild.out" 2>&1
[ $? != 0 ] && grep -q "this build step fails on purpose" "$work/besbuild.out" && ok "the build with --bes_backend fails for //:push_bes_broken only" || { tail -5 "$work/besbuild.out"; bad "bes build"; }
for _ in $(seq 100); do [ "$(grep -c '^pushed //' "$work/bes.log")" -ge 2 ] && break; sleep 0.2; done
[ "$(registry_tag e2e/bes latest)" = "$want" ] && [ "$(registry_tag e2e/bes-second v2)" = "$want" ] &&
  ok "bes: the backend pushed //:push_bes and //:push_bes_second; crane reads the built digest" || { cat "$work/bes.log"; bad "bes: pushes"; }
grep -q "not pushing //:push_bes_broken" "$work/bes.log" && [ -z "$(registry_tag e2e/bes-broken latest)" ] &&
  ok "bes: the failed target is not pushed ($(grep -o 'not pushing //:push_bes_broken.*' "$work/bes.log" | head -1))" || { cat "$work/bes.log"; bad "bes: the failed target"; }
# A stream cut mid-way: the Bazel server dies while //:push_bes_slow builds.
server_pid=$(bazel info "${rc_auth[@]}" server_pid 2>/dev/null)
bazel build "${rc_auth[@]}" --bes_backend=grpc://127.0.0.1:5400 //:push_bes_slow >"$work/slow.out" 2>&1 &
slow_build=$!
for _ in $(seq 300); do grep -q "seen image target //:push_bes_slow" "$work/bes.log" && break; sleep 0.1; done
sleep 2
kill -9 "$server_pid" 2>/dev/null
wait "$slow_build"
for _ in $(seq 50); do grep -q "ended before the build finished" "$work/bes.log" && break; sleep 0.1; done
if grep -q "ended before the build finished" "$work/bes.log" && [ -z "$(registry_tag e2e/bes-slow latest)" ]; then
  ok "bes: a stream cut mid-way pushes nothing of the unfinished target: $(grep -o 'stream .* ended before the build finished' "$work/bes.log" | head -1 | cut -c1-120)"
else
  tail -5 "$work/bes.log"; bad "bes: stream cut mid-way"
fi
if bazel run "${rc_auth[@]}" //:push_bes >"$work/besrun.out" 2>&1 && grep -q "Build Event Service" "$work/besrun.out"; then
  ok "bazel run of a bes target pushes nothing and says why"
else
  tail -3 "$work/besrun.out"; bad "bazel run of a bes target"
fi

echo "remote: $pass passed, $fail failed"
[ "$fail" = 0 ]
