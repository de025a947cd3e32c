#!/usr/bin/env bash
# End-to-end checks of the base image rules (img/base_images.bzl) with
# e2e/basic/base_images: a distroless-style base built from nothing
# (linux_skeleton, etc_passwd with the user app 1000:1000, etc_hosts,
# etc_release, etc_environment, trust_store of a committed test CA), no pull
# anywhere, checked with independent tools and a real containerd:
#   1. the base layer blob with GNU tar: modes of /tmp, /var/tmp, /root,
#      /proc, the merged-/usr symlinks, /etc/passwd, /etc/group, the home
#      directory owned by 1000:1000, os-release via its /usr/lib symlink;
#      the trust store: the PEM bundle is the test CA (openssl), the hash
#      link is the name `openssl x509 -hash` gives, keytool reads the Java
#      truststore;
#   2. a static C program on the base, `ctr run` as user "app" (resolved by
#      containerd through the base's /etc/passwd): uid=1000 gid=1000, /tmp
#      writable, /root denied;
#   3. a static Go program making an HTTPS GET to a loopback `openssl
#      s_server` whose certificate the test CA signed: 200 on the base with
#      the trust store, a certificate error on the same base without it;
#   3b. a dynamically linked C program with libc and the loader placed by
#      system_libraries in /usr/lib64 (off the loader's default path): it
#      runs with ldso_cache (the generated /etc/ld.so.cache), and cannot
#      find libc.so.6 without;
#   4. a bad PEM and a duplicate uid fail the build, naming the target;
#      usr_merged disagreeing between skeleton and libraries fails the
#      layer, naming both rules; a
#      trust_store from a package made by dpkg-deb (gzip) holds the CA, an
#      xz package is refused, naming target, package and compression;
#   5. the base's manifest digest (and the layer's) identical across
#      `bazel clean --expunge`.
# Usage: base_images.sh   (needs bazel, GNU tar, jq, openssl, ctr and the
# services of tools/services; keytool if present). Env:
# BASE_IMAGES_TLS_PORT (5061), the port of the loopback HTTPS server.
# Prints ok/FAIL lines, ends with "base_images: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../tools/services
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
start=$(date +%s%N)
finish() {
  echo "     base_images: $(($(ms "$start") / 1000)) s in all"
  echo "base_images: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
}
port=${BASE_IMAGES_TLS_PORT:-5061}
work=$(mktemp -d /tmp/rules_img_base_images.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" >/dev/null 2>&1
  "$services/containerd.sh" stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
cd "$here/basic" || exit 1
testdata=$here/basic/base_images/testdata

out() { bazel cquery --output=files "$@" 2>/dev/null; }
targets=(//base_images:base //base_images:base_layer //base_images:base_layer_no_trust //base_images:whoami_image //base_images:https_image //base_images:https_image_no_trust //base_images:dyn_image //base_images:dyn_image_no_cache)
build() { bazel build --output_groups=+oci_tarball,+digest,+metadata "${targets[@]}"; }
s=$(date +%s%N)
if build >"$work/build.out" 2>&1; then
  ok "bazel build of the base and the images ($(ms "$s") ms)"
else
  tail -30 "$work/build.out"; bad "bazel build of the base and the images"; finish
fi

# 1. The base layer, read with GNU tar.
blob=$(out //base_images:base_layer | grep -E '\.tgz$')
tar -tvzf "$blob" >"$work/list" 2>&1 || bad "tar -tvzf the base layer: $(tail -2 "$work/list")"
# mode LISTING-PREFIX NAME: the entry NAME of `tar -tv` starts with PREFIX (mode and owner).
entry() { awk -v n="$2" '$6 == n || $6 == n"/" {print $1, $2}' "$work/list"; }
want_entry() { local got; got=$(entry "$work/list" "$1"); [ "$got" = "$2" ] && ok "base layer: /$1 is $2" || bad "base layer: /$1 is '$got', want $2"; }
want_entry tmp "drwxrwxrwt 0/0"
want_entry var/tmp "drwxrwxrwt 0/0"
want_entry run/lock "drwxrwxrwt 0/0"
want_entry root "drwx------ 0/0"
want_entry proc "dr-xr-xr-x 0/0"
want_entry etc "drwxr-xr-x 0/0"
want_entry etc/passwd "-rw-r--r-- 0/0"
want_entry etc/shadow "-rw-r----- 0/0"
want_entry home/app "drwxr-x--- 1000/1000"
want_entry etc/ssl/certs/ca-certificates.crt "-rw-r--r-- 0/0"
check "base layer: /bin -> usr/bin, /lib -> usr/lib (merged /usr)" grep -E ' bin -> usr/bin$' "$work/list"
grep -E ' lib -> usr/lib$' "$work/list" >/dev/null || bad "base layer: no /lib -> usr/lib"
check "base layer: /etc/os-release -> ../usr/lib/os-release" grep -E ' etc/os-release -> \.\./usr/lib/os-release$' "$work/list"
# Parents come before children, as unpacking needs.
first_etc=$(grep -n ' etc/$' "$work/list" | cut -d: -f1); first_passwd=$(grep -n ' etc/passwd$' "$work/list" | cut -d: -f1)
check "base layer: /etc listed before /etc/passwd" test "${first_etc:-9999}" -lt "${first_passwd:-0}"
# member NAME: the content of NAME in the base layer; a hardlink (the layer
# stores equal files once) is read through to its target.
member() {
  local target
  target=$(awk -v n="$1" '$6 == n && $7 == "link" {print $9}' "$work/list")
  tar -xzOf "$blob" "${target:-$1}" 2>/dev/null
}
passwd=$(member etc/passwd)
[ "$passwd" = "root:x:0:0::/root:/sbin/nologin
app:x:1000:1000:the application:/home/app:/sbin/nologin" ] && ok "base layer: /etc/passwd holds root and app (1000:1000)" || bad "base layer: /etc/passwd is: $passwd"
check "base layer: /etc/group lists app in group app (1000)" test "$(member etc/group | grep '^app:')" = "app:x:1000:app"
check "base layer: /etc/shadow locks app" test "$(member etc/shadow | grep '^app:' | cut -d: -f2)" = '!*'
check "base layer: /etc/hosts names app.local with localhost" test "$(member etc/hosts | head -1)" = "$(printf '127.0.0.1\tlocalhost app.local')"
check "base layer: /usr/lib/os-release" test "$(member usr/lib/os-release | grep ^ID=)" = 'ID="rules-img-e2e"'
check "base layer: os-release VERSION_ID from the build setting's default" test "$(member usr/lib/os-release | grep ^VERSION_ID=)" = 'VERSION_ID="1"'
check "base layer: /etc/environment" test "$(member etc/environment)" = 'LANG="C.UTF-8"'
# The trust store: the bundle is the CA, the hash link has OpenSSL's name.
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null; }
member etc/ssl/certs/ca-certificates.crt >"$work/bundle.pem"
check "trust store: the PEM bundle is the test CA (openssl fingerprint)" test "$(fp "$work/bundle.pem")" = "$(fp "$testdata/ca.pem")"
hash=$(openssl x509 -hash -noout -in "$testdata/ca.pem")
link=$(awk -v n="etc/ssl/certs/$hash.0" '$6 == n {print $8}' "$work/list")
check "trust store: /etc/ssl/certs/$hash.0 (openssl x509 -hash) links to a PEM of the CA" test -n "$link"
member "etc/ssl/certs/$link" >"$work/linked.pem"
check "trust store: $hash.0 -> $link is the test CA" test "$(fp "$work/linked.pem")" = "$(fp "$testdata/ca.pem")"
mkdir -p "$work/root" && tar -xzf "$blob" -C "$work/root" 2>/dev/null
check "trust store: openssl verify -CApath <layer>/etc/ssl/certs accepts the server certificate" \
  openssl verify -no-CAfile -no-CAstore -CApath "$work/root/etc/ssl/certs" "$testdata/server.pem"
if openssl verify -no-CAfile -no-CAstore -no-CApath "$testdata/server.pem" >/dev/null 2>&1; then
  bad "openssl verify accepts the server certificate without any CA"
fi
if ! command -v keytool >/dev/null; then
  bad "keytool is not installed (tools/setup.sh installs default-jre-headless)"
else
  member etc/ssl/certs/java/cacerts >"$work/cacerts"
  ks=$(keytool -list -v -keystore "$work/cacerts" -storepass changeit 2>&1)
  if echo "$ks" | grep -c "Your keystore contains 1 entry" >/dev/null && echo "$ks" | grep -c "trustedCertEntry" >/dev/null; then
    ok "trust store: keytool reads the Java truststore: 1 trusted certificate entry"
  else
    bad "trust store: keytool -list: $(echo "$ks" | head -5)"
  fi
fi
notrust=$(out //base_images:base_layer_no_trust | grep -E '\.tgz$')
check "base without trust_store: no /etc/ssl in the layer" test "$(tar -tzf "$notrust" | grep -c '^etc/ssl')" = 0

# 2, 3: containerd.
eval "$("$services/containerd.sh" start 2>/dev/null)"
ctr="ctr -a $CONTAINERD_ADDRESS -n rules_img_e2e_base_images"
import() {
  $ctr images rm "$2" >/dev/null 2>&1
  $ctr images import --index-name "$2" "$(out --output_groups=oci_tarball "$1")" >"$work/import.out" 2>&1 || { bad "ctr images import $1: $(tail -2 "$work/import.out")"; return 1; }
}
if import //base_images:whoami_image e2e/base-whoami:latest; then
  got=$($ctr run --rm e2e/base-whoami:latest "base-whoami-$$" 2>&1)
  [ "$got" = "uid=1000 gid=1000
tmp=writable
root=denied" ] && ok "ctr run as user app (by name, from the base's /etc/passwd): uid=1000 gid=1000, /tmp writable, /root denied" || bad "ctr run whoami printed: $got"
fi

openssl s_server -quiet -www -accept "127.0.0.1:$port" -cert "$testdata/server.pem" -key "$testdata/server.key" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
check "host: curl trusts the server with the test CA (the server is up)" curl -sf --cacert "$testdata/ca.pem" "https://127.0.0.1:$port/"
url="https://127.0.0.1:$port/"
if import //base_images:https_image e2e/base-https:latest; then
  got=$($ctr run --rm --net-host e2e/base-https:latest "base-https-$$" /usr/local/bin/https_get "$url" 2>&1)
  [ "$got" = "status: 200" ] && ok "ctr run --net-host: Go HTTPS GET with the trust_store succeeds ($got)" || bad "Go HTTPS GET with the trust_store printed: $got"
fi
if import //base_images:https_image_no_trust e2e/base-https-no-trust:latest; then
  got=$($ctr run --rm --net-host e2e/base-https-no-trust:latest "base-https-nt-$$" /usr/local/bin/https_get "$url" 2>&1)
  case $got in
  *"certificate signed by unknown authority"*) ok "ctr run --net-host: the same GET without the trust_store fails: certificate signed by unknown authority" ;;
  *) bad "Go HTTPS GET without the trust_store printed: $got" ;;
  esac
fi
kill "$server_pid" >/dev/null 2>&1; server_pid=
# A dynamic program whose libc system_libraries put in /usr/lib64, off the
# loader's default path: found through the generated /etc/ld.so.cache only.
if import //base_images:dyn_image e2e/base-dyn:latest; then
  got=$($ctr run --rm e2e/base-dyn:latest "base-dyn-$$" 2>&1)
  [ "$got" = "Hello from a dynamic binary!" ] && ok "ctr run: a dynamic program finds libc in /usr/lib64 through the generated /etc/ld.so.cache" || bad "dynamic program with ld.so.cache printed: $got"
fi
if import //base_images:dyn_image_no_cache e2e/base-dyn-no-cache:latest; then
  got=$($ctr run --rm e2e/base-dyn-no-cache:latest "base-dyn-nc-$$" 2>&1)
  case $got in
  *"libc.so.6: cannot open shared object file"*) ok "ctr run: without ldso_cache the same program cannot find libc.so.6" ;;
  *) bad "dynamic program without ld.so.cache printed: $got" ;;
  esac
fi
"$services/containerd.sh" stop >/dev/null 2>&1

# 4. Bad input fails the build, naming the target.
mkdir -p base_images_bad
trap 'rm -rf "$here/basic/base_images_bad"; cleanup' EXIT
printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' >base_images_bad/bad.pem
cat >base_images_bad/BUILD.bazel <<'EOF'
load("@rules_img//img:base_images.bzl", "base_image_layer", "etc_passwd", "linux_skeleton", "passwd_entry", "system_libraries", "trust_store")

# usr_merged disagrees: the skeleton makes /lib a symlink, the libraries
# go to a real /lib.
linux_skeleton(name = "skel")

system_libraries(name = "libs", libs = ["//base_images:toolchain_libc"], usr_merged = False)

base_image_layer(name = "mismatch_layer", srcs = [":skel", ":libs"])

trust_store(name = "bad_trust", certs = ["bad.pem"])

base_image_layer(name = "bad_trust_layer", srcs = [":bad_trust"])

etc_passwd(
    name = "dup_uid",
    users = [
        passwd_entry(username = "a", uid = 1000, gid = 1000),
        passwd_entry(username = "b", uid = 1000, gid = 1000),
    ],
)
EOF
if bazel build //base_images_bad:bad_trust_layer >"$work/bad.out" 2>&1; then
  bad "a bad PEM built"
else
  grep -c "//base_images_bad:bad_trust: base_images_bad/bad.pem: .*does not decode" "$work/bad.out" >/dev/null &&
    ok "a bad PEM fails the build, naming the target and the file" || bad "bad PEM error: $(grep -m2 'img base' "$work/bad.out")"
fi
if bazel build //base_images_bad:dup_uid >"$work/bad.out" 2>&1; then
  bad "a duplicate uid built"
else
  grep -c "//base_images_bad:dup_uid: users a and b have the same uid 1000" "$work/bad.out" >/dev/null &&
    ok "a duplicate uid fails the build, naming the target and both users" || bad "duplicate uid error: $(grep -m2 'img base' "$work/bad.out")"
fi
if bazel build //base_images_bad:mismatch_layer >"$work/bad.out" 2>&1; then
  bad "a usr_merged mismatch built"
else
  grep -c "//base_images_bad:libs places /lib/ld-linux-x86-64.so.2 underneath /lib, which //base_images_bad:skel describes as a symlink rather than a directory" "$work/bad.out" >/dev/null &&
    ok "usr_merged disagreeing between linux_skeleton and system_libraries fails the layer, naming both rules" || bad "usr_merged mismatch error: $(grep -m2 'img base' "$work/bad.out")"
fi

# Debian packages built by dpkg-deb as certificate sources: gzip is read,
# xz is refused with a message saying so.
if command -v dpkg-deb >/dev/null; then
  pkg=$work/pkg
  mkdir -p "$pkg/DEBIAN" "$pkg/usr/local/share/ca-certificates"
  printf 'Package: e2e-ca\nVersion: 1\nArchitecture: all\nMaintainer: e2e <e2e@example.com>\nDescription: test CA\n' >"$pkg/DEBIAN/control"
  cp "$testdata/ca.pem" "$pkg/usr/local/share/ca-certificates/e2e-ca.crt"
  dpkg-deb -Zgzip --root-owner-group --build "$pkg" base_images_bad/ca_gz.deb >/dev/null 2>&1
  dpkg-deb -Zxz --root-owner-group --build "$pkg" base_images_bad/ca_xz.deb >/dev/null 2>&1
  cat >>base_images_bad/BUILD.bazel <<'EOF'

trust_store(name = "deb_trust", debs = ["ca_gz.deb"])

base_image_layer(name = "deb_layer", srcs = [":deb_trust"])

trust_store(name = "deb_xz_trust", debs = ["ca_xz.deb"])
EOF
  if bazel build //base_images_bad:deb_layer >"$work/bad.out" 2>&1; then
    tar -xzOf "$(out //base_images_bad:deb_layer | grep -E '\.tgz$')" etc/ssl/certs/ca-certificates.crt >"$work/deb_bundle.pem" 2>/dev/null
    check "trust store from a dpkg-deb package (gzip): the bundle is the test CA" test "$(fp "$work/deb_bundle.pem")" = "$(fp "$testdata/ca.pem")"
  else
    bad "trust store from a dpkg-deb package: $(grep -m2 'img base' "$work/bad.out")"
  fi
  if bazel build //base_images_bad:deb_xz_trust >"$work/bad.out" 2>&1; then
    bad "an xz-compressed package built"
  else
    grep -c "//base_images_bad:deb_xz_trust: base_images_bad/ca_xz.deb: data.tar.xz: only gzip, zstd or uncompressed data tars are read" "$work/bad.out" >/dev/null &&
      ok "an xz-compressed package fails the build, naming the target, the package and the compression" || bad "xz package error: $(grep -m2 'img base' "$work/bad.out")"
  fi
else
  bad "dpkg-deb is not installed (tools/setup.sh installs dpkg)"
fi
rm -rf base_images_bad

# A build setting flows into os-release through the template.
if bazel build --//base_images:base_version=2.5 //base_images:base_layer >"$work/b.out" 2>&1; then
  v=$(tar -xzOf "$(out --//base_images:base_version=2.5 //base_images:base_layer | grep -E '\.tgz$')" usr/lib/os-release | grep ^VERSION_ID=)
  check "--//base_images:base_version=2.5 gives VERSION_ID=\"2.5\" in os-release" test "$v" = 'VERSION_ID="2.5"'
else
  tail -5 "$work/b.out"; bad "build with --//base_images:base_version=2.5"
fi

# 5. The same digests after `bazel clean --expunge`. (The flag above shares
#    the output directory: build the default configuration again first.)
build >"$work/build.out" 2>&1 || bad "rebuild in the default configuration"
digest_before=$(cat "$(out --output_groups=digest //base_images:base)")
layer_before=$(jq -r .digest "$(out --output_groups=metadata //base_images:base_layer)")
echo "     base manifest $digest_before, layer $layer_before"
bazel clean --expunge >/dev/null 2>&1
s=$(date +%s%N)
if build >"$work/build.out" 2>&1; then
  digest_after=$(cat "$(out --output_groups=digest //base_images:base)")
  layer_after=$(jq -r .digest "$(out --output_groups=metadata //base_images:base_layer)")
  check "after bazel clean --expunge: the same base manifest digest ($digest_after; rebuilt in $(ms "$s") ms)" test "$digest_before" = "$digest_after"
  check "after bazel clean --expunge: the same base layer digest" test "$layer_before" = "$layer_after"
else
  tail -20 "$work/build.out"; bad "rebuild after bazel clean --expunge"
fi
finish
