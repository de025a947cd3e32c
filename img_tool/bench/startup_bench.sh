#!/usr/bin/env bash
# startup_bench.sh: how long the img tool takes to start and exit, against a
# Go hello-world binary built and run in the same invocation.
#
# Every build action is one run of the tool, so at a thousand images the
# start-up is paid thousands of times. This measures it as a whole process:
# fork, exec, the Go runtime, every package's init, flag parsing, exit.
#
# What it builds (CGO_ENABLED=0, -trimpath, -ldflags "-s -w", as toolchains do)
#   hello       a Go program that prints one line (the floor for any Go tool)
#   img_build   ./cmd/img with the tag img_build_actions: the build actions' tool
#   img         ./cmd/img: the full tool (deploy launcher, servers)
#   IMG_COMPARE (optional) another img binary, e.g. an older commit's, run as is
# What it runs, each ROUNDS times in turn (so that load spreads over all rows),
# each time RUNS processes, timing each process from spawn to exit:
#   hello; img_build and img with no command (usage, exit 2) and with
#   `layer --help` (a command's flag set).
# What it prints
#   per row the median over all runs in milliseconds, and the ratio to hello.
#   Compare rows of one invocation only; a loaded machine stretches all rows.
#
# Environment: RUNS (default 30), ROUNDS (default 3), IMG_COMPARE, GO (go).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
module=$(cd "$here/.." && pwd)
runs=${RUNS:-30}
rounds=${ROUNDS:-3}
go=${GO:-go}
work=$(mktemp -d "${TMPDIR:-/tmp}/img_startup.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/hello"
cat >"$work/hello/main.go" <<'EOF'
package main

import "fmt"

func main() { fmt.Println("hello") }
EOF
printf 'module hello\n\ngo 1.24\n' >"$work/hello/go.mod"

build() { # OUT DIR PKG [TAGS]
  (cd "$2" && CGO_ENABLED=0 GOFLAGS=-mod=mod "$go" build -trimpath -ldflags "-s -w -buildid=" -tags "${4:-}" -o "$1" "$3")
}
build "$work/hello_bin" "$work/hello" .
build "$work/img_build" "$module" ./cmd/img img_build_actions
build "$work/img" "$module" ./cmd/img

rows=(
  "hello|$work/hello_bin"
  "img_build (no command)|$work/img_build"
  "img_build layer --help|$work/img_build layer --help"
  "img (no command)|$work/img"
  "img layer --help|$work/img layer --help"
)
if [ -n "${IMG_COMPARE:-}" ]; then
  rows+=("IMG_COMPARE (no command)|$IMG_COMPARE" "IMG_COMPARE layer --help|$IMG_COMPARE layer --help")
fi
for row in "${rows[@]}"; do
  printf '%s\t%s\n' "${row%%|*}" "${row#*|}"
done >"$work/rows.tsv"
ls -l "$work/hello_bin" "$work/img_build" "$work/img" | awk '{printf "%-10s %6.1f MB\n", $NF, $5 / 1e6}' | sed "s#$work/##"

python3 - "$work/rows.tsv" "$runs" "$rounds" <<'EOF'
import shlex, statistics, subprocess, sys, time

path, runs, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [line.rstrip("\n").split("\t") for line in open(path)]
times = {name: [] for name, _ in rows}
for _ in range(rounds):
    for name, cmd in rows:
        argv = shlex.split(cmd)
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - start) * 1000)
hello = statistics.median(times["hello"])
print(f"{'process':<28} {'median ms':>10} {'vs hello':>9}   ({rounds} x {runs} runs each)")
for name, _ in rows:
    m = statistics.median(times[name])
    print(f"{name:<28} {m:>10.2f} {m / hello:>8.2f}x")
EOF
