#!/usr/bin/env bash
# Checks every layer of this workspace with tools that share no code with
# rules_img: GNU tar and bsdtar list the entries (compared with golden/),
# sha256sum recomputes digest and diff_id, gzip and zstd test the streams,
# and layercheck opens eStargz TOCs with the estargz library's reader.
#
# Usage: check_layers.sh LAYERCHECK BLOB METADATA GOLDEN [BLOB METADATA GOLDEN ...]
# With UPDATE_GOLDEN=DIR the listings are written to DIR instead of compared.
set -euo pipefail
export TZ=UTC LC_ALL=C
layercheck=$1; shift
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# listing BLOB: "mode owner size date time name [link]" per entry, from GNU tar. The
# size of the compiled binary depends on the C toolchain, so it is masked.
listing() {
  tar --numeric-owner -tvf "$1" |
    awk '{ size = $3; if ($6 ~ /(^|\/)hello$/ && $1 ~ /^-/) size = "BINARY";
           rest = ""; for (i = 7; i <= NF; i++) rest = rest " " $i;
           print $1, $2, size, $4, $5, $6 rest }'
}

while [ $# -gt 0 ]; do
  blob=$1 md=$2 golden=$3; shift 3
  name=$(basename "$golden" .txt)
  media=$(field "$md" mediaType)
  tmp=$(mktemp)
  case $media in
    *+gzip) gzip -t "$blob" && gzip -dc "$blob" >"$tmp" || { bad "$name: gzip cannot decompress"; continue; } ;;
    *+zstd) zstd -q -t <"$blob" && zstd -q -dc <"$blob" >"$tmp" || { bad "$name: zstd cannot decompress"; continue; } ;;
    *) cp "$blob" "$tmp" ;;
  esac
  digest="sha256:$(sha256sum "$blob" | cut -d' ' -f1)"
  diff_id="sha256:$(sha256sum "$tmp" | cut -d' ' -f1)"
  size=$(stat -L -c %s "$blob")
  [ "$digest" = "$(field "$md" digest)" ] && ok "$name: digest $digest" || bad "$name: digest $digest != $(field "$md" digest)"
  [ "$diff_id" = "$(field "$md" diff_id)" ] && ok "$name: diff_id" || bad "$name: diff_id $diff_id != $(field "$md" diff_id)"
  [ "$size" = "$(field "$md" size)" ] && ok "$name: size $size" || bad "$name: size $size != $(field "$md" size)"
  if [ -n "${UPDATE_GOLDEN:-}" ]; then
    listing "$tmp" >"$UPDATE_GOLDEN/$name.txt"
  elif diff -u "$golden" <(listing "$tmp"); then
    ok "$name: GNU tar listing matches golden"
  else
    bad "$name: GNU tar listing differs from $golden"
  fi
  # bsdtar reads the compressed blob itself and must see the same names.
  if diff <(tar -tf "$tmp") <(bsdtar -tf "$blob") >/dev/null; then
    ok "$name: bsdtar agrees"
  else
    bad "$name: bsdtar lists other entries than GNU tar"
  fi
  "$layercheck" "$blob" "$md" >/dev/null && ok "$name: layercheck" || bad "$name: layercheck"
  rm -f "$tmp"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
