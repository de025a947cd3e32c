#!/usr/bin/env bash
# Lists a layer made with create_parent_directories by GNU tar and checks
# the mode of each directory entry: drwxrwxrwt for tmp/, drwxr-xr-x for
# every other one, owner 0/0 and mtime 0 for all; app/, app/bin/ and tmp/
# must be among them.
# Usage: check_modes.sh BLOB
set -euo pipefail
export TZ=UTC LC_ALL=C
listing=$(tar --numeric-owner -tvf "$1")
echo "$listing"
dirs=$(echo "$listing" | awk '$1 ~ /^d/ { print $1, $2, $4, $5, $6 }')
fail=0
while read -r mode owner date time name; do
  want=drwxr-xr-x
  [ "$name" = tmp/ ] && want=drwxrwxrwt
  if [ "$mode $owner $date $time" = "$want 0/0 1970-01-01 00:00" ]; then
    echo "ok   $name: $mode $owner $date $time"
  else
    echo "FAIL $name: $mode $owner $date $time, want $want 0/0 1970-01-01 00:00"; fail=1
  fi
done <<<"$dirs"
for name in app/ app/bin/ tmp/; do
  echo "$dirs" | awk -v n="$name" '$5 == n { found = 1 } END { exit !found }' || { echo "FAIL no directory entry $name"; fail=1; }
done
exit "$fail"
