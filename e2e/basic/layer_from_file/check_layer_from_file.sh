#!/usr/bin/env bash
# Checks a layer_from_file target with tools that share no code with
# rules_img: the layer blob is the source file (cmp); sha256sum recomputes
# the digest and, after gzip -d, the diff_id; python3's json reads the
# metadata and the manifest and config of an image that uses the layer.
# Usage: check_layer_from_file.sh SRC BLOB METADATA IMAGE_FILES...
set -euo pipefail
export LC_ALL=C
src=$1 blob=$2 md=$3; shift 3
manifest="" config=""
for f in "$@"; do
  case $f in *_manifest.json) manifest=$f ;; *_config.json) config=$f ;; esac
done
pass=0 fail=0
check() { local name=$1; shift; if "$@"; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi; }
# json FILE EXPR: a Python expression over the document j, printed.
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":")))' "$1" "$2"; }
field() { json "$md" "j['$1']"; }

digest="sha256:$(sha256sum "$src" | cut -d' ' -f1)"
diff_id="sha256:$(gzip -dc "$src" | sha256sum | cut -d' ' -f1)"
size=$(stat -L -c %s "$src")
echo "src $src: digest $digest diff_id $diff_id size $size"
cat "$md"

check "the blob is the source file, byte for byte" cmp "$src" "$blob"
check "digest = sha256sum of the file" test "$(field digest)" = "$digest"
check "size = stat of the file" test "$(field size)" = "$size"
check "diff_id = sha256sum of gzip -dc" test "$(field diff_id)" = "$diff_id"
check "mediaType as declared" test "$(field mediaType)" = application/vnd.docker.image.rootfs.diff.tar.gzip
check "name is the label" test "$(field name)" = //layer_from_file:vendor
check "annotations: explicit, base name, diff_id" test "$(field annotations)" = \
  "{\"org.example.diff_id\":\"$diff_id\",\"org.example.vendor\":\"yes\",\"org.opencontainers.image.title\":\"vendor.layer\"}"
check "GNU tar reads the blob" test "$(tar --numeric-owner -tzvf "$src" | awk '{print $1, $2, $6}' | tr '\n' ' ')" = \
  "drwxr-xr-x 0/0 opt/ drwxr-xr-x 0/0 opt/vendor/ -rw-r--r-- 0/0 opt/vendor/config.txt "
check "manifest: second layer descriptor" test "$(json "$manifest" "[j['layers'][1][k] for k in ('mediaType', 'digest', 'size')]")" = \
  "[\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"$digest\",$size]"
check "config: second diff_id" test "$(json "$config" "j['rootfs']['diff_ids'][1]")" = "$diff_id"
echo "layer_from_file: $pass passed, $fail failed"
[ "$fail" = 0 ]
