#!/usr/bin/env bash
# Prints what it read from its runfiles (through Bazel's bash runfiles
# library), its arguments and E2E_GREETING.
# --- begin runfiles.bash initialization v3 ---
set -uo pipefail; set +e; f=bazel_tools/tools/bash/runfiles/runfiles.bash
# shellcheck disable=SC1090
source "${RUNFILES_DIR:-/dev/null}/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "${RUNFILES_MANIFEST_FILE:-/dev/null}" | cut -f2- -d' ')" 2>/dev/null || \
  source "$0.runfiles/$f" 2>/dev/null || \
  source "$(grep -sm1 "^$f " "$0.runfiles_manifest" | cut -f2- -d' ')" 2>/dev/null || \
  { echo>&2 "ERROR: cannot find $f"; exit 1; }; f=; set -e
# --- end runfiles.bash initialization v3 ---
data=$(rlocation _main/sh/greeting.txt) || { echo "hello.sh: no runfile _main/sh/greeting.txt" >&2; exit 1; }
args=$(IFS=,; echo "$*")
echo "sh: runfiles=$(cat "$data") args=$args E2E_GREETING=${E2E_GREETING:-(unset)}"
