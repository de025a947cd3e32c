#!/usr/bin/env bash
# Resolves the img toolchain of a workspace for each of the six execution
# platforms of a release and checks, with file(1), that each resolves to a
# binary of that OS and architecture (ELF, Mach-O or PE; x86-64 or ARM64).
#
# Usage: exec_platforms.sh WORKSPACE_DIR MODE [BAZEL_FLAGS...]
#   MODE   "prebuilt" (each binary must come from the lockfile) or "source"
#          (each must be built from source); read from the tool repository's
#          BUILD file, which says where its binary came from.
# Writes a temporary package exec_platforms/ into the workspace. $BAZEL is
# the Bazel command (word-split; default bazel), e.g. with --output_base.
set -uo pipefail
ws=${1:?usage: exec_platforms.sh WORKSPACE_DIR MODE [BAZEL_FLAGS...]}
mode=${2:?usage: exec_platforms.sh WORKSPACE_DIR MODE [BAZEL_FLAGS...]}
shift 2
cd "$ws" || exit 1
read -r -a bazel <<<"${BAZEL:-bazel}"
fails=0
say() { echo "  $*"; }
pkg=exec_platforms
[ -e "$pkg" ] && { echo "exec_platforms.sh: $ws/$pkg exists" >&2; exit 1; }
trap 'rm -rf "$ws/$pkg"' EXIT
mkdir "$pkg"
{
  echo '# Execution platforms for the toolchain resolution check (temporary).'
  for os in linux darwin windows; do
    for cpu in amd64 arm64; do
      c_os=$os; [ "$os" = darwin ] && c_os=macos
      c_cpu=x86_64; [ "$cpu" = arm64 ] && c_cpu=aarch64
      printf 'platform(name = "%s_%s", constraint_values = ["@platforms//os:%s", "@platforms//cpu:%s"])\n' "$os" "$cpu" "$c_os" "$c_cpu"
    done
  done
} >"$pkg/BUILD.bazel"

# What file(1) says of each platform's binary.
want() {
  case $1 in
    linux_amd64) echo 'ELF 64-bit LSB executable, x86-64' ;;
    linux_arm64) echo 'ELF 64-bit LSB executable, ARM aarch64' ;;
    darwin_amd64) echo 'Mach-O 64-bit x86_64 executable' ;;
    darwin_arm64) echo 'Mach-O 64-bit arm64 executable' ;;
    windows_amd64) echo 'PE32\+ executable \(console\) x86-64' ;;
    windows_arm64) echo 'PE32\+ executable \(console\) Aarch64' ;;
  esac
}

ob=$("${bazel[@]}" info output_base "$@" 2>/dev/null)
for key in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64; do
  out=$("${bazel[@]}" cquery "$@" --extra_execution_platforms="//$pkg:$key" --output=files @rules_img//img:resolved_toolchain 2>"$ws/$pkg/err")
  f=$(printf '%s\n' "$out" | grep -m1 'img\.exe$')
  if [ -z "$f" ]; then
    say "FAIL $key: no toolchain resolved"; tail -5 "$ws/$pkg/err"; fails=$((fails + 1)); continue
  fi
  path=$ob/$f
  case $f in external/*) ;; *) path=$("${bazel[@]}" info execution_root "$@" 2>/dev/null)/$f ;; esac
  kind=$(file -bL "$path")
  repo_build=$(dirname "$path")/BUILD.bazel
  origin=$(head -1 "$repo_build" 2>/dev/null | sed 's/^# //')
  case $mode in
    prebuilt) grep -q 'lockfile' <<<"$origin" && ! grep -q 'from source' <<<"$origin" ;;
    source) grep -q 'built from source' <<<"$origin" ;;
  esac
  mode_ok=$?
  if grep -qE "^$(want "$key")" <<<"$kind" && [ "$mode_ok" = 0 ]; then
    say "ok: exec platform $key -> $(basename "$(dirname "$f")")/img.exe: $(cut -d, -f1,2 <<<"$kind"); ${origin#*: }"
  else
    say "FAIL $key ($mode): $f is \"$kind\" (want $(want "$key")); $origin"; fails=$((fails + 1))
  fi
done
[ "$fails" = 0 ]
