#!/usr/bin/env bash
# generate.sh N OUTDIR [RULES_IMG_PATH]: writes a bzlmod workspace of N
# services that consume the rules_img tree at RULES_IMG_PATH (default: the
# tree this script is in) through local_path_override. See README.md.
set -euo pipefail
exec python3 "$(cd "$(dirname "$0")" && pwd)/generate.py" "$@"
