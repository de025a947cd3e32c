#!/usr/bin/env bash
# bench.sh: rules_img at scale. For each N, generates the workspace of
# generate.sh (N services) twice, once on a baseline rules_img tree (a git
# worktree of REV under /tmp) and once on this working tree (uncommitted
# changes included), measures each with a fresh Bazel output base and prints
# a table per N: baseline, current, ratio current/baseline. README.md says
# what each number means.
#
# Usage: bench.sh [-n "100 1000"] [-r RUNS] [--baseline REV] [--current REV]
#                 [--out DIR] [--keep]
#   -n LIST        service counts, in order (default "100 1000")
#   -r RUNS        runs per tree and N, alternating baseline and current
#                  (default 1); the tables give the median of each number
#   --baseline REV the baseline commit (default `git merge-base HEAD
#                  origin/main`, else HEAD)
#   --current REV  measure a worktree of REV as "current" instead of the
#                  working tree (e.g. while the working tree does not build)
#   --out DIR      also write each tree's results, profiles and the tables
#                  (tables.md) to DIR
#   --keep         keep the scratch directory (workspaces, logs, profiles)
# Env: RULES_IMG_BAZEL_LOCK (/tmp/rules_img_bazel.lock): every Bazel call
# holds this lock (flock), so only one Bazel runs at a time; it is released
# between calls. BAZEL (bazel).
#
# Not part of the e2e suite (e2e/run.sh) or tools/test.sh: a full run at
# N=1000 takes several minutes per tree.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel) || exit 1
ns="100 1000" runs=1 rev="" current_rev="" out="" keep=0
usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ns=${2:?-n needs a list}; shift 2 ;;
    -r) runs=${2:?-r needs a number}; shift 2 ;;
    --baseline) rev=${2:?--baseline needs a revision}; shift 2 ;;
    --current) current_rev=${2:?--current needs a revision}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in $ns; do
  case "$n" in '' | *[!0-9]* | 0) echo "bench.sh: -n: $n is not a positive integer" >&2; exit 2 ;; esac
done
case "$runs" in '' | *[!0-9]* | 0) echo "bench.sh: -r: $runs is not a positive integer" >&2; exit 2 ;; esac
if [ -z "$rev" ]; then
  rev=$(git -C "$repo" merge-base HEAD origin/main 2>/dev/null) || rev=HEAD
fi
commit=$(git -C "$repo" rev-parse --verify --quiet "$rev^{commit}") || { echo "bench.sh: $rev: no such commit" >&2; exit 2; }
if [ -n "$current_rev" ]; then
  current_commit=$(git -C "$repo" rev-parse --verify --quiet "$current_rev^{commit}") ||
    { echo "bench.sh: $current_rev: no such commit" >&2; exit 2; }
fi

bazel=${BAZEL:-bazel}
lock=${RULES_IMG_BAZEL_LOCK:-/tmp/rules_img_bazel.lock}
work=$(mktemp -d /tmp/rules_img_scale.XXXXXX)
baseline=$work/baseline
current=$repo
[ -n "$current_rev" ] && current=$work/current
live=() # output bases whose server may still run
status=0

# The Bazel wrapper of the development machine shares only some host
# directories with Bazel; a workspace under /tmp needs the trees shared too.
export BAZEL_SID_BINDS="${BAZEL_SID_BINDS:+$BAZEL_SID_BINDS:}$repo"

# locked CMD...: runs CMD holding the Bazel lock (not passed on to CMD).
locked() {
  exec 9>>"$lock"
  flock 9
  "$@" 9>&-
  local rc=$?
  flock -u 9
  exec 9>&-
  return $rc
}
# shutdown_ob OB: stops the server of output base OB and deletes OB.
shutdown_ob() {
  if [ -d "$1" ]; then
    # From its workspace: a client in another directory may not reach it.
    (cd "$(dirname "$1")/ws" 2>/dev/null || cd /; locked "$bazel" --output_base="$1" shutdown) >/dev/null 2>&1
    chmod -R u+w "$1" 2>/dev/null
    rm -rf "$1"
  fi
  local keep_obs=() o
  for o in "${live[@]}"; do [ "$o" = "$1" ] || keep_obs+=("$o"); done
  live=("${keep_obs[@]}")
}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  local o
  for o in "${live[@]}"; do shutdown_ob "$o"; done
  for o in "$baseline" "$work/current"; do
    [ -d "$o" ] || continue
    git -C "$repo" worktree remove --force "$o" >/dev/null 2>&1 || rm -rf "$o"
  done
  if [ "$keep" = 1 ]; then
    echo "bench: kept $work"
  else
    find "$work" -depth -type d ! -perm -u+w -exec chmod u+w {} + 2>/dev/null
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Common flags of every build: no disk cache, plain output. Equal on every
# call, so no call discards the analysis cache of the one before.
flags=(--disk_cache= --color=no --curses=no)

hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
# server_cpu: CPU time in ms of the Bazel server ($server_pid) and of the
# children it has reaped (the sandboxed actions); 0 without a server pid.
server_cpu() {
  local stat rest
  if [ -z "${server_pid:-}" ] || ! stat=$(cat "/proc/$server_pid/stat" 2>/dev/null); then
    echo 0
    return
  fi
  rest=${stat##*) }
  # shellcheck disable=SC2086 # fields 3.. of stat; utime stime cutime cstime are 14-17
  set -- $rest
  echo $(((${12} + ${13} + ${14} + ${15}) * 1000 / hz))
}
# bz LOG ARGS...: one timed Bazel call (in $ws, output base $ob) holding the
# lock; its output goes to LOG, its wall time in ms (lock wait excluded) to
# $ms, the CPU time of the server and its actions meanwhile to $cpu.
bz() {
  local log=$1 t0 c0 rc
  shift
  exec 9>>"$lock"
  flock 9
  c0=$(server_cpu)
  t0=$(date +%s%N)
  (cd "$ws" && "$bazel" --output_base="$ob" "$@") >"$log" 2>&1 9>&-
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  cpu=$(($(server_cpu) - c0))
  flock -u 9
  exec 9>&-
  return $rc
}
# fail_step WHAT LOG: reports a failed step.
fail_step() {
  echo "FAIL $name N=$n: $1 (last lines of $2):" >&2
  tail -15 "$2" | sed 's/^/     /' >&2
  status=1
}
# total_actions LOG: N of "N total actions".
total_actions() { sed -n 's/.* \([0-9][0-9]*\) total actions.*/\1/p' "$1" | tail -1; }
# spawns LOG: processes that were not internal ("N processes: I internal, ...").
spawns() {
  local line total internal
  line=$(grep -E '^INFO: [0-9]+ processes?' "$1" | tail -1)
  total=$(sed -n 's/^INFO: \([0-9]*\) process.*/\1/p' <<<"$line")
  internal=$(grep -oE '[0-9]+ internal' <<<"$line" | cut -d' ' -f1)
  echo $((${total:-0} - ${internal:-0}))
}

# measure NAME TREE N RUN: one run of one column of the table for N;
# results to $res.
measure() {
  name=$1 tree=$2 n=$3
  local run=$4
  local dir=$work/$name-$n-$run
  ws=$dir/ws ob=$dir/output_base res=$dir/results.txt
  mkdir -p "$dir"
  local desc
  desc="$(git -C "$tree" rev-parse --short HEAD)"
  [ -n "$(git -C "$tree" status --porcelain --untracked-files=no 2>/dev/null)" ] && desc="$desc+changes"
  printf 'tree\t%s\n' "$desc" >"$res"
  "$here/generate.sh" "$n" "$ws" "$tree" || { echo "FAIL $name N=$n: generate.sh" >&2; status=1; return 1; }
  live+=("$ob")
  echo "bench: N=$n $name ($desc) run $run: warm-up" >&2

  # 1. Warm-up: module resolution, the img toolchain (built from source),
  #    rules_img's .bzl files, one layer.
  server_pid=""
  bz "$dir/warmup.log" build "${flags[@]}" //:warmup || { fail_step "warm-up build" "$dir/warmup.log"; shutdown_ob "$ob"; return 1; }
  printf 'warmup_ms\t%s\n' "$ms" >>"$res"
  bz "$dir/pid.log" info "${flags[@]}" server_pid || { fail_step "info server_pid" "$dir/pid.log"; shutdown_ob "$ob"; return 1; }
  server_pid=$(grep -E '^[0-9]+$' "$dir/pid.log" | tail -1)
  [ -r "/proc/${server_pid:-none}/stat" ] || { echo "bench: N=$n $name: no /proc entry of the server (pid ${server_pid:-?}): no CPU times" >&2; server_pid=""; }

  # 2. Cold analysis of everything on the warm server.
  echo "bench: N=$n $name: analysis" >&2
  bz "$dir/analysis.log" build "${flags[@]}" --nobuild //... || { fail_step "analysis" "$dir/analysis.log"; shutdown_ob "$ob"; return 1; }
  printf 'analysis_ms\t%s\nanalysis_cpu_ms\t%s\n' "$ms" "$cpu" >>"$res"
  printf 'targets_configured\t%s\n' "$(sed -n 's/.*, \([0-9]*\) targets\{0,1\} configured).*/\1/p' "$dir/analysis.log" | tail -1)" >>"$res"
  bz "$dir/heap.log" info "${flags[@]}" used-heap-size-after-gc || { fail_step "info" "$dir/heap.log"; shutdown_ob "$ob"; return 1; }
  printf 'heap_mb\t%s\n' "$(grep -oE '^[0-9]+MB' "$dir/heap.log" | tail -1 | tr -d MB)" >>"$res"

  # 3. The full build, profiled.
  echo "bench: N=$n $name: full build" >&2
  bz "$dir/build.log" build "${flags[@]}" --noslim_profile --profile="$dir/build.profile.json.gz" //... || { fail_step "full build" "$dir/build.log"; shutdown_ob "$ob"; return 1; }
  printf 'build_ms\t%s\nbuild_cpu_ms\t%s\n' "$ms" "$cpu" >>"$res"
  if grep -q 'discarding analysis cache' "$dir/build.log"; then
    echo "bench: N=$n $name: the full build discarded the analysis cache (its time includes analysis)" >&2
  fi
  printf 'build_actions\t%s\n' "$(total_actions "$dir/build.log")" >>"$res"
  printf 'build_spawns\t%s\n' "$(spawns "$dir/build.log")" >>"$res"
  python3 "$here/report.py" mnemonics "$dir/build.profile.json.gz" >"$dir/mnemonics.tsv" || status=1
  awk -F'\t' '{ c += $2; s += $3 } END { printf "action_sum_ms\t%.0f\nprofile_actions\t%d\n", s, c }' "$dir/mnemonics.tsv" >>"$res"
  if [ "$(sed -n 's/^profile_actions\t//p' "$res")" != "$(total_actions "$dir/build.log")" ]; then
    echo "bench: N=$n $name: the profile lists $(sed -n 's/^profile_actions\t//p' "$res") actions, the build $(total_actions "$dir/build.log")" >&2
  fi
  sed 's/^/mnemonic./' "$dir/mnemonics.tsv" >>"$res"

  # 4. No-op rebuild, then one changed source file of service 0.
  echo "bench: N=$n $name: rebuilds" >&2
  bz "$dir/noop.log" build "${flags[@]}" //... || { fail_step "no-op build" "$dir/noop.log"; shutdown_ob "$ob"; return 1; }
  printf 'noop_ms\t%s\nnoop_cpu_ms\t%s\n' "$ms" "$cpu" >>"$res"
  printf '# changed by bench.sh\n' >>"$ws/services/svc0/run.sh"
  bz "$dir/onefile.log" build "${flags[@]}" //... || { fail_step "one-file build" "$dir/onefile.log"; shutdown_ob "$ob"; return 1; }
  printf 'onefile_ms\t%s\nonefile_cpu_ms\t%s\n' "$ms" "$cpu" >>"$res"
  printf 'onefile_actions\t%s\n' "$(total_actions "$dir/onefile.log")" >>"$res"

  shutdown_ob "$ob"
  if [ -n "$out" ]; then
    mkdir -p "$out"
    cp "$res" "$out/$name-$n-$run.txt"
    cp "$dir/build.profile.json.gz" "$out/$name-$n-$run.profile.json.gz"
  fi
}

echo "bench: baseline $rev ($(git -C "$repo" rev-parse --short "$commit")), current ${current_rev:-$repo}" >&2
git -C "$repo" worktree add --detach "$baseline" "$commit" >"$work/worktree.log" 2>&1 ||
  { cat "$work/worktree.log" >&2; exit 1; }
if [ -n "$current_rev" ]; then
  git -C "$repo" worktree add --detach "$current" "$current_commit" >"$work/worktree.log" 2>&1 ||
    { cat "$work/worktree.log" >&2; exit 1; }
fi

tables=""
for n in $ns; do
  bres="" cres=""
  for run in $(seq 1 "$runs"); do
    # Alternating order: neither tree always runs first (on a colder machine).
    if [ $((run % 2)) = 1 ]; then
      measure baseline "$baseline" "$n" "$run"
      measure current "$current" "$n" "$run"
    else
      measure current "$current" "$n" "$run"
      measure baseline "$baseline" "$n" "$run"
    fi
    # Only complete runs count.
    f=$work/baseline-$n-$run/results.txt
    grep -q '^onefile_actions' "$f" 2>/dev/null && bres="$bres${bres:+,}$f"
    f=$work/current-$n-$run/results.txt
    grep -q '^onefile_actions' "$f" 2>/dev/null && cres="$cres${cres:+,}$f"
  done
  if [ -n "$bres" ] && [ -n "$cres" ]; then
    t=$(python3 "$here/report.py" table "$n" "$bres" "$cres")
    printf '\n%s\n\n' "$t"
    tables="$tables$t"$'\n\n'
  fi
done
if [ -n "$out" ] && [ -n "$tables" ]; then
  mkdir -p "$out"
  printf '%s' "$tables" >"$out/tables.md"
fi
exit $status
