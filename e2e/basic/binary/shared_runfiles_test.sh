#!/usr/bin/env bash
# Two binaries with shared runfiles: their @bazel_tools layers are the same
# bytes (one blob for registries and runtimes), their main layers differ,
# and GNU tar finds the runfiles library in the shared tree and each
# binary's runfiles directory as symlinks into it.
# Usage: shared_runfiles_test.sh GREET_TOOLS GREET_MAIN FAREWELL_TOOLS FAREWELL_MAIN
set -euo pipefail
[ $# = 4 ] || { echo "want 4 layer blobs, got $#: $*"; exit 1; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
fail=0
if [ "$(sum "$1")" = "$(sum "$3")" ]; then echo "ok   @bazel_tools layers are one blob: $(sum "$1")"
else echo "FAIL @bazel_tools layers differ: $(sum "$1") $(sum "$3")"; fail=1; fi
if [ "$(sum "$2")" != "$(sum "$4")" ]; then echo "ok   main layers differ"
else echo "FAIL main layers are equal"; fail=1; fi
# Listings are read whole first: `grep -q` in a pipefail pipe could stop
# tar early and fail the pipe although the line was found.
tools=$(tar -tvf "$1")
main=$(tar -tvf "$2")
if grep -q ' \.shared_runfiles/bazel_tools/tools/bash/runfiles/runfiles.bash$' <<<"$tools"; then echo "ok   runfiles.bash in the shared tree"
else echo "FAIL no runfiles.bash in the shared tree:"; echo "$tools"; fail=1; fi
if grep -q 'runfiles/_main' <<<"$tools"; then echo "FAIL the @bazel_tools layer holds main-repository files"; fail=1; fi
for want in "usr/local/bin/greet.runfiles/bazel_tools -> ../../../../.shared_runfiles/bazel_tools" \
            "usr/local/bin/greet.runfiles/_main -> ../../../../.shared_runfiles/_main" \
            ".shared_runfiles/_main/binary/message.txt"; do
  if grep -qF "$want" <<<"$main"; then echo "ok   main layer: $want"
  else echo "FAIL main layer lacks $want:"; echo "$main"; fail=1; fi
done
exit $fail
