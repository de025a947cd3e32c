#!/usr/bin/env bash
# create_parent_directories in a real containerd: e2e/basic/parents builds
# a base whose /tmp is 1777 (a tar written by GNU tar) and, on top, a layer
# that lists only /tmp/somefile and /app/bin/x, its parents written by
# rules_img. The OCI layout tarball is imported with `ctr`; the unpacked
# rootfs is stat'ed twice, inside the running container (the host's static
# busybox, bind-mounted) and on the host through `ctr images mount` (GNU
# stat): /tmp stays 1777, /app and /app/bin are 755, the base's file is
# still there. The control image forces /tmp to 0755 with file_metadata and
# must come out as 755, so the check can fail.
# Prints "ok"/"FAIL" lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../tools/services
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_parents.XXXXXX)
cd "$here/basic" || exit 1

busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  busybox=""
fi

if ! bazel build --output_groups=+oci_tarball //parents:image //parents:image_tmp_0755 >"$work/build.out" 2>&1; then
  tail -30 "$work/build.out"; bad "bazel build //parents:image //parents:image_tmp_0755"
  echo "parents: $pass passed, $fail failed"; exit 1
fi
ok "bazel build //parents:image //parents:image_tmp_0755"

eval "$("$services/containerd.sh" start 2>/dev/null)"
ctr="ctr -a $CONTAINERD_ADDRESS -n rules_img_e2e"

# check IMAGE WANT_TMP: import, run, stat inside and on the host.
check() {
  local img=$1 want_tmp=$2 ref="e2e/parents_$1:latest" got
  local tarball
  tarball=$(bazel cquery --output=files --output_groups=oci_tarball "//parents:$img" 2>/dev/null)
  $ctr images rm "$ref" >/dev/null 2>&1
  if ! $ctr images import --index-name "$ref" "$tarball" >"$work/import.out" 2>&1; then
    bad "$img: ctr images import: $(tail -2 "$work/import.out")"; return
  fi
  ok "$img: ctr images import"
  got=$($ctr run --rm "$ref" "parents-$img-$$" 2>&1)
  [ "$got" = "Hello from rules_img!" ] && ok "$img: ctr run prints the greeting" || bad "$img: ctr run printed: $got"
  if [ -n "$busybox" ]; then
    got=$($ctr run --rm --mount "type=bind,src=$busybox,dst=/busybox,options=rbind:ro" "$ref" "parents-stat-$img-$$" \
      /busybox stat -c '%a %n' /tmp /app /app/bin /tmp/from_base 2>&1 | tr '\n' ' ')
    [ "$got" = "$want_tmp /tmp 755 /app 755 /app/bin 644 /tmp/from_base " ] &&
      ok "$img: in the container, stat -c %a: $got" || bad "$img: in the container, stat -c %a printed: $got"
  else
    bad "$img: no static busybox on the host (apt-get install busybox-static) to stat inside the container"
  fi
  mkdir -p "$work/mnt"
  if $ctr images mount "$ref" "$work/mnt" >"$work/mount.out" 2>&1; then
    got=$(cd "$work/mnt" && stat -c '%a %n' tmp app app/bin tmp/from_base tmp/somefile 2>&1 | tr '\n' ' ')
    [ "$got" = "$want_tmp tmp 755 app 755 app/bin 644 tmp/from_base 755 tmp/somefile " ] &&
      ok "$img: mounted rootfs, GNU stat -c %a: $got" || bad "$img: mounted rootfs, GNU stat -c %a printed: $got"
    $ctr images unmount --rm "$work/mnt" >/dev/null 2>&1
  else
    bad "$img: ctr images mount: $(tail -2 "$work/mount.out")"
  fi
  $ctr images rm "$ref" >/dev/null 2>&1
}
check image 1777
check image_tmp_0755 755
"$services/containerd.sh" stop >/dev/null 2>&1

rm -rf "$work"
echo "parents: $pass passed, $fail failed"
[ "$fail" = 0 ]
