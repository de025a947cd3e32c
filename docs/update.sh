#!/usr/bin/env bash
# Copies the generated reference pages into docs/ of the source tree.
# Run as `bazel run //docs:update`; arguments are GENERATED DEST pairs.
set -euo pipefail
runfiles=$PWD
cd "$BUILD_WORKSPACE_DIRECTORY/docs"
while [ $# -ge 2 ]; do
  cp -f "$runfiles/$1" "$2"
  chmod 644 "$2"
  echo "updated docs/$2"
  shift 2
done
