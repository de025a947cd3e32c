#!/usr/bin/env bash
# End-to-end checks of image_push and multi_deploy (eager) against the real
# distribution registry in plain, htpasswd and TLS mode: `bazel run` pushes,
# crane reads back the digests the build wrote, containerd pulls the image
# back and runs it, the registry's access log shows what moved.
# Prints ok/FAIL lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../tools/services
export PATH="$(go env GOPATH)/bin:$PATH"
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_push.XXXXXX)
cleanup() {
  for m in plain auth tls; do "$services/registry.sh" clean "$m" >/dev/null 2>&1; done
  "$services/containerd.sh" stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
for m in plain auth tls; do "$services/registry.sh" clean "$m" >/dev/null 2>&1; done
for m in plain auth tls; do
  while IFS='=' read -r k v; do declare "R_${m}_$k=$v"; done < <("$services/registry.sh" start "$m" 2>/dev/null)
done
plain_log=$R_plain_REGISTRY_LOG
cd "$here/basic" || exit 1
digest_of() { cat "$(bazel cquery --output=files --output_groups=digest "$1" 2>/dev/null)"; }
blob_writes() { grep -cE "\"(PUT|PATCH|POST) /v2/$1/blobs/uploads" "$plain_log"; }

# 1. Push an image and an index; crane reads back the built digests.
if bazel run //images:push_hello >"$work/run.out" 2>&1; then
  ok "bazel run //images:push_hello"
  grep -E 'uploaded|pushed' "$work/run.out" | sed 's/^/     /' | tail -3
else
  tail -20 "$work/run.out"; bad "bazel run //images:push_hello"
fi
want=$(digest_of //images:hello)
got=$(crane digest --insecure 127.0.0.1:5000/e2e/hello:latest 2>&1)
[ "$got" = "$want" ] && ok "crane: e2e/hello:latest is $want" || bad "crane: e2e/hello:latest is $got, built $want"
crane validate --insecure --remote 127.0.0.1:5000/e2e/hello:latest >/dev/null 2>&1 && ok "crane validate --remote" || bad "crane validate --remote"
bazel run //images:push_multiarch >"$work/run.out" 2>&1 || { tail -10 "$work/run.out"; bad "push the index"; }
want=$(digest_of //images:multiarch)
for t in latest v1; do
  got=$(crane digest --insecure "127.0.0.1:5000/e2e/multiarch:$t" 2>&1)
  [ "$got" = "$want" ] && ok "crane: index e2e/multiarch:$t is $want" || bad "crane: e2e/multiarch:$t is $got, built $want"
done

# 2. The image pulled back from the registry runs in containerd.
eval "$("$services/containerd.sh" start 2>/dev/null)"
ctr="ctr -a $CONTAINERD_ADDRESS -n rules_img_e2e_push"
$ctr images rm 127.0.0.1:5000/e2e/hello:latest >/dev/null 2>&1
if $ctr images pull --plain-http 127.0.0.1:5000/e2e/hello:latest >/dev/null 2>&1; then
  got=$($ctr run --rm 127.0.0.1:5000/e2e/hello:latest "push-$$" 2>&1)
  [ "$got" = "Hello from rules_img!" ] && ok "containerd: pulled from the registry, ctr run prints the greeting" || bad "containerd: ctr run printed: $got"
else
  bad "containerd: pull from the registry"
fi
"$services/containerd.sh" stop >/dev/null 2>&1

# 3. A second push of the unchanged image uploads nothing.
before=$(blob_writes e2e/hello)
bazel run //images:push_hello >"$work/run.out" 2>&1 || bad "second push"
after=$(blob_writes e2e/hello)
[ "$before" = "$after" ] && ok "second push: no blob upload in the registry log ($(grep -o 'uploaded [0-9]* of [0-9]* blobs' "$work/run.out" | head -1))" || bad "second push: $((after - before)) blob upload requests"

# 4. Templated registry and tag, run-time --tag, digest-only push, multi_deploy.
# Without --stamp the status key is missing: the push refuses and tags nothing.
if bazel run //images:push_templated >"$work/run.out" 2>&1; then
  bad "templated push without --stamp succeeded"
else
  grep -q "needs key STABLE_EXAMPLE_VERSION" "$work/run.out" && [ -z "$(crane ls --insecure 127.0.0.1:5000/e2e/templated 2>/dev/null)" ] &&
    ok "templated push without --stamp: refused, names STABLE_EXAMPLE_VERSION, no tag" || { tail -3 "$work/run.out"; bad "templated push without --stamp: message or tags"; }
fi
bazel run --stamp //images:push_templated >"$work/run.out" 2>&1 && [ "$(crane digest --insecure 127.0.0.1:5000/e2e/templated:1.0.0 2>&1)" = "$(digest_of //images:hello_with_files)" ] &&
  ok "templated registry and stamped tag (e2e/templated:1.0.0)" || { tail -5 "$work/run.out"; bad "templated push"; }
bazel run //images:push_hello -- --tag run-time-tag >"$work/run.out" 2>&1 && [ "$(crane digest --insecure 127.0.0.1:5000/e2e/hello:run-time-tag 2>&1)" = "$(digest_of //images:hello)" ] &&
  ok "run-time --tag" || { tail -5 "$work/run.out"; bad "run-time --tag"; }
if bazel run //images:push_by_digest >"$work/run.out" 2>&1; then
  d=$(digest_of //images:hello_with_files)
  crane manifest --insecure "127.0.0.1:5000/e2e/by-digest@$d" >/dev/null 2>&1 && ok "digest-only push: @$d readable" || bad "digest-only push not readable"
  [ -z "$(crane ls --insecure 127.0.0.1:5000/e2e/by-digest 2>/dev/null)" ] && ok "digest-only push: no tag" || bad "digest-only push left tags"
else
  tail -5 "$work/run.out"; bad "digest-only push"
fi
crane delete --insecure "127.0.0.1:5000/e2e/hello@$(digest_of //images:hello)" >/dev/null 2>&1
if bazel run --stamp //images:push_both >"$work/run.out" 2>&1; then
  [ "$(crane digest --insecure 127.0.0.1:5000/e2e/hello:latest 2>&1)" = "$(digest_of //images:hello)" ] &&
    [ "$(crane digest --insecure 127.0.0.1:5000/e2e/templated:1.0.0 2>&1)" = "$(digest_of //images:hello_with_files)" ] &&
    ok "multi_deploy pushed two images in one bazel run" || bad "multi_deploy: digests"
else
  tail -10 "$work/run.out"; bad "multi_deploy"
fi

# 5. htpasswd and TLS registries.
DOCKER_CONFIG=$R_auth_REGISTRY_DOCKER_CONFIG bazel run //images:push_hello_auth >"$work/run.out" 2>&1 &&
  [ "$(DOCKER_CONFIG=$R_auth_REGISTRY_DOCKER_CONFIG crane digest 127.0.0.1:5001/e2e/hello:latest 2>&1)" = "$(digest_of //images:hello)" ] &&
  ok "auth: pushed with docker config credentials" || { tail -5 "$work/run.out"; bad "auth push"; }
IMG_REGISTRY_CA_FILE=$R_tls_REGISTRY_CA bazel run //images:push_hello_tls >"$work/run.out" 2>&1 &&
  [ "$(SSL_CERT_FILE=$R_tls_REGISTRY_CA crane digest 127.0.0.1:5002/e2e/hello:latest 2>&1)" = "$(digest_of //images:hello)" ] &&
  ok "tls: pushed with the registry's CA" || { tail -5 "$work/run.out"; bad "tls push"; }

# 6. Bad input.
if DOCKER_CONFIG=$work/none bazel run //images:push_hello_auth >"$work/run.out" 2>&1; then
  bad "401: push without credentials succeeded"
else
  grep -q "127.0.0.1:5001" "$work/run.out" && grep -q "e2e/hello" "$work/run.out" && grep -qi "401\|authentication" "$work/run.out" && ! grep -q testpassword "$work/run.out" &&
    ok "401: clear error naming registry and repository" || { bad "401: unclear"; tail -3 "$work/run.out"; }
fi
if bazel run //images:push_hello -- --registry 127.0.0.1:1 >"$work/run.out" 2>&1; then
  bad "unreachable registry: push succeeded"
else
  grep -q "127.0.0.1:1" "$work/run.out" && ok "unreachable registry: error names 127.0.0.1:1" || { bad "unreachable registry: unclear"; tail -3 "$work/run.out"; }
fi
if bazel build //bad:push_bad_repository >"$work/run.out" 2>&1; then
  bad "invalid repository accepted"
else
  grep -q "Bad/Repo" "$work/run.out" && ok "invalid repository name: error names Bad/Repo" || { bad "invalid repository: unclear"; grep ERROR "$work/run.out" | head -3; }
fi
if bazel build //bad:push_tag_and_tag_list >"$work/run.out" 2>&1; then
  bad "tag and tag_list accepted"
else
  grep -q "push_tag_and_tag_list: set tag or tag_list, not both" "$work/run.out" && ok "tag and tag_list: analysis error" || bad "tag and tag_list: unclear"
fi

# 7. Registry settings. docker_config_path: credentials only in a config
#    file of any name in a temp dir (DOCKER_CONFIG points at an empty
#    directory, so ~/.docker is not read either); a relative path is
#    relative to the workspace. insecure: the self-signed TLS registry
#    without its CA.
mkdir -p "$work/creds" "$work/empty-docker"
printf '{"auths":{"127.0.0.1:5001":{"auth":"%s"}}}\n' "$(printf '%s:%s' "$R_auth_REGISTRY_USER" "$R_auth_REGISTRY_PASSWORD" | base64 -w0)" >"$work/creds/registry-auth.json"
auth_digest() { DOCKER_CONFIG=$R_auth_REGISTRY_DOCKER_CONFIG crane digest "127.0.0.1:5001/e2e/hello:$1" 2>&1; }
if DOCKER_CONFIG=$work/empty-docker bazel run --@rules_img//img/settings:docker_config_path="$work/creds/registry-auth.json" \
  //images:push_hello_auth -- --tag via-config-path >"$work/run.out" 2>&1 &&
  [ "$(auth_digest via-config-path)" = "$(digest_of //images:hello)" ]; then
  ok "docker_config_path: pushed to the htpasswd registry with credentials only in $work/creds/registry-auth.json; crane reads $(digest_of //images:hello)"
else
  tail -5 "$work/run.out"; bad "docker_config_path push"
fi
grep -q "$R_auth_REGISTRY_PASSWORD" "$work/run.out" && bad "docker_config_path: the output shows the password" || ok "docker_config_path: no password in the output"
rel=$(realpath --relative-to="$here/basic" "$work/creds/registry-auth.json")
DOCKER_CONFIG=$work/empty-docker bazel run --@rules_img//img/settings:docker_config_path="$rel" \
  //images:push_hello_auth -- --tag via-relative-path >"$work/run.out" 2>&1 &&
  [ "$(auth_digest via-relative-path)" = "$(digest_of //images:hello)" ] &&
  ok "docker_config_path relative to the workspace ($rel)" || { tail -5 "$work/run.out"; bad "docker_config_path relative"; }
if DOCKER_CONFIG=$work/empty-docker bazel run //images:push_hello_auth -- --tag without-config >"$work/run.out" 2>&1; then
  bad "without docker_config_path the push to the htpasswd registry succeeded"
else
  grep -q "127.0.0.1:5001" "$work/run.out" && grep -qi "401\|authentication" "$work/run.out" &&
    ok "without docker_config_path: 401 naming 127.0.0.1:5001" || { tail -3 "$work/run.out"; bad "without docker_config_path: unclear error"; }
fi
if env -u SSL_CERT_FILE -u IMG_REGISTRY_CA_FILE bazel run //images:push_hello_tls -- --tag untrusted >"$work/run.out" 2>&1; then
  bad "tls: push without the CA and without insecure succeeded"
else
  ok "tls: without the CA and without insecure the push fails ($(grep -o 'x509[^"]*' "$work/run.out" | head -1 | cut -c1-60))"
fi
env -u SSL_CERT_FILE -u IMG_REGISTRY_CA_FILE bazel run --@rules_img//img/settings:insecure=enabled //images:push_hello_tls -- --tag insecure >"$work/run.out" 2>&1 &&
  [ "$(SSL_CERT_FILE=$R_tls_REGISTRY_CA crane digest 127.0.0.1:5002/e2e/hello:insecure 2>&1)" = "$(digest_of //images:hello)" ] &&
  ok "insecure=enabled: pushed to the self-signed TLS registry without its CA" || { tail -5 "$work/run.out"; bad "insecure push"; }

# credential_helper_oci_registry over credential_helper: the generic helper
# gives a wrong password, the registry helper the right one; DOCKER_CONFIG is
# empty. With the generic helper alone the push is refused.
helper() { # helper FILE USER:PASSWORD: a credential helper of Bazel's protocol
  printf '#!/bin/sh\n[ "$1" = get ] || exit 2\ncat >>%s.uris\nprintf %s\n' "$1" \
    "'{\"headers\":{\"Authorization\":[\"Basic $(printf '%s' "$2" | base64 -w0)\"]}}'" >"$1"
  chmod +x "$1"
}
helper "$work/creds/oci-helper" "$R_auth_REGISTRY_USER:$R_auth_REGISTRY_PASSWORD"
helper "$work/creds/generic-helper" "$R_auth_REGISTRY_USER:wrong-password"
if DOCKER_CONFIG=$work/empty-docker bazel run --@rules_img//img/settings:credential_helper="$work/creds/generic-helper" \
  --@rules_img//img/settings:credential_helper_oci_registry="$work/creds/oci-helper" \
  //images:push_hello_auth -- --tag via-helper >"$work/run.out" 2>&1 &&
  [ "$(auth_digest via-helper)" = "$(digest_of //images:hello)" ] && grep -q '"uri":"https://127.0.0.1:5001"' "$work/creds/oci-helper.uris" &&
  [ ! -e "$work/creds/generic-helper.uris" ]; then
  ok "credential_helper_oci_registry: pushed with its credentials (asked for https://127.0.0.1:5001), the generic helper not asked"
else
  tail -5 "$work/run.out"; bad "credential_helper_oci_registry push"
fi
if DOCKER_CONFIG=$work/empty-docker bazel run --@rules_img//img/settings:credential_helper="$work/creds/generic-helper" \
  //images:push_hello_auth -- --tag via-generic >"$work/run.out" 2>&1; then
  bad "the generic helper's wrong password was accepted"
else
  grep -q "127.0.0.1:5001" "$work/run.out" && grep -qi "401\|authentication" "$work/run.out" && ! grep -q "wrong-password\|$R_auth_REGISTRY_PASSWORD" "$work/run.out" &&
    [ -e "$work/creds/generic-helper.uris" ] && ok "credential_helper alone: asked for the registry, its wrong password refused (401 naming 127.0.0.1:5001, no secret printed)" ||
    { tail -3 "$work/run.out"; bad "credential_helper alone: unclear"; }
fi

echo "push: $pass passed, $fail failed"
[ "$fail" = 0 ]
