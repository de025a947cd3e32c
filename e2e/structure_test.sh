#!/usr/bin/env bash
# image_structure_test in the e2e/basic workspace (package structure_test):
#  1. the passing tests (hello, an image with files and symlinks, one with a
#     whiteout and an opaque directory, a two-platform index, and hello and
#     the whiteout image given as OCI layout directories) pass under
#     `bazel test`;
#  2. a test's runfiles hold the listings and image configs and no layer
#     blob (no file with gzip, zstd or tar magic);
#  3. each deliberately failing (manual) test fails, and its test log names
#     the config, the test and the path or field; the commandTests and
#     fileContentTests config fails as unsupported;
#  4. the listing (<layer>.mtree) of every e2e/basic layer equals bsdtar's
#     listing of the layer blob (`--format=mtree`), after normalising both.
# Needs no server. Prints "ok"/"FAIL" lines; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
work=$(mktemp -d /tmp/rules_img_structure_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$here/basic" || exit 1
finish() {
  echo "structure_test: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
}

# 1. The passing tests.
start=$SECONDS
if bazel test //structure_test:all >"$work/test.out" 2>&1; then
  ok "bazel test //structure_test:all ($(grep -c ' PASSED' "$work/test.out") tests, $((SECONDS - start)) s)"
else
  tail -30 "$work/test.out"
  bad "bazel test //structure_test:all"
fi
testlogs=$(bazel info bazel-testlogs 2>/dev/null)
bin=$(bazel info bazel-bin 2>/dev/null)
log=$(cat "$testlogs/structure_test/deleted_test/test.log" 2>/dev/null)
for want in 'PASS  structure_test/deleted.yaml fileExistenceTests "whiteout deletes the secret"' \
  'PASS  structure_test/deleted.yaml fileExistenceTests "opaque directory hides the lower file"' \
  'Summary: 5 passed, 0 failed'; do
  [[ $log == *"$want"* ]] && ok "deleted_test log: $want" || bad "deleted_test log lacks: $want"
done
log=$(cat "$testlogs/structure_test/multiarch_test/test.log" 2>/dev/null)
for want in "=== image //images:multiarch linux/amd64" "=== image //images:multiarch linux/arm64"; do
  [[ $log == *"$want"* ]] && ok "multiarch_test checks $want" || bad "multiarch_test log lacks: $want"
done

log=$(cat "$testlogs/structure_test/tar_absent_test/test.log" 2>/dev/null)
want='PASS  structure_test/tar_absent.yaml fileExistenceTests "no perl"'
[[ $log == *"$want"* ]] && ok "tar_absent_test: a plain tar layer is listed, absence decided" || bad "tar_absent_test log lacks: $want"

log=$(cat "$testlogs/structure_test/hello_layout_test/test.log" 2>/dev/null)
for want in "=== image //structure_test:hello_layout linux/amd64 sha256:" 'Summary: 5 passed, 0 failed'; do
  [[ $log == *"$want"* ]] && ok "hello_layout_test log: $want" || bad "hello_layout_test log lacks: $want"
done

# 2. What the tests read: listings and configs, never a layer blob.
for t in hello_test hello_layout_test; do
rf=$bin/structure_test/$t/image-structure-test.runfiles/image_structure_test
if [ -d "$rf" ]; then
  blobs=0 listings=0
  while IFS= read -r f; do
    magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
    ustar=$(dd if="$f" bs=1 skip=257 count=5 2>/dev/null)
    case $magic in 1f8b*|28b52ffd) blobs=$((blobs + 1)); echo "  blob-like runfile: $f" ;; esac
    [ "$ustar" = ustar ] && { blobs=$((blobs + 1)); echo "  tar runfile: $f"; }
    [[ $f == *.mtree ]] && [ "$(head -n 1 "$f")" = "#mtree" ] && listings=$((listings + 1))
  done < <(find -L "$rf" -type f)
  [ "$blobs" = 0 ] && ok "$t runfiles hold no layer blob" || bad "$t runfiles hold $blobs blob-like files"
  [ "$listings" = 1 ] && ok "$t runfiles hold the listing of hello's one layer" ||
    bad "$t runfiles hold $listings listings, want 1 (hello has one layer)"
else
  bad "no runfiles directory $rf"
fi
done

# 3. Failing tests: TARGET, then strings its log must hold.
expect_failure() {
  local target=$1 out
  shift
  if bazel test "//structure_test:$target" >"$work/$target.out" 2>&1; then
    bad "$target passed; it must fail"
    return
  fi
  out=$(cat "$testlogs/structure_test/$target/test.log" 2>/dev/null)
  if [ -z "$out" ]; then
    tail -20 "$work/$target.out"
    bad "$target: no test log (did it build?)"
    return
  fi
  ok "$target fails"
  for want in "$@"; do
    [[ $out == *"$want"* ]] && ok "$target: $want" || bad "$target log lacks: $want"
  done
}
expect_failure fail_exists_test \
  'structure_test/fail_exists.yaml: fileExistenceTests "no hello binary": path /app/bin/hello: should not exist, but does (-rwxr-xr-x)' \
  'structure_test/fail_exists.yaml: fileExistenceTests "world-writable hello": path /app/bin/hello: permissions: got -rwxr-xr-x, want -rwxrwxrwx' \
  'Summary: 0 passed, 2 failed'
expect_failure fail_metadata_test \
  'structure_test/fail_metadata.yaml: metadataTest "metadataTest": entrypoint: got ["/app/bin/hello"], want ["/bin/sh","-c"]' \
  'structure_test/fail_metadata.yaml: metadataTest "metadataTest": labels org.example.name: got "hello", want "goodbye"'
expect_failure fail_deleted_test \
  'structure_test/fail_deleted.yaml: fileExistenceTests "secret survives": path /etc/app/secret.txt: should exist, but does not'
expect_failure fail_command_test \
  'FAIL  (unsupported)  structure_test/fail_command.yaml commandTests "says hello"' \
  'structure_test/fail_command.yaml: commandTests "says hello": unsupported: commandTests run a container' \
  'structure_test/fail_command.yaml: fileContentTests "repo mapping content": path /app/bin/hello.runfiles/_repo_mapping: unsupported'

# 4. Every layer's listing against bsdtar's listing of its blob.
if ! command -v bsdtar >/dev/null; then
  bad "bsdtar is not installed (apt-get install libarchive-tools)"
  finish
fi
layers=$(sed -n '/^LAYERS = \[/,/^\]/s/^ *"\(:[a-z_0-9]*\)",.*/\1/p' BUILD.bazel | tr '\n' ' ')
# shellcheck disable=SC2086
if ! bazel build --output_groups=+mtree,+layer $layers >"$work/build.out" 2>&1; then
  tail -20 "$work/build.out"
  bad "bazel build the layers of e2e/basic"
  finish
fi
execroot=$(bazel info execution_root 2>/dev/null)
# shellcheck disable=SC2086 # one word per layer label
query=$(printf '%s + ' $layers)
bazel cquery "${query% + }" --output=starlark \
  --starlark:expr='target.label.name + " " + providers(target)["OutputGroupInfo"].layer.to_list()[0].path + " " + providers(target)["OutputGroupInfo"].mtree.to_list()[0].path' \
  >"$work/pairs" 2>"$work/cquery.err" || { cat "$work/cquery.err"; bad "cquery of the layers' blobs and listings"; }
# normalize LISTING HARDLINKS: path type mode uid gid size link, sorted; no
# root; hardlinks (the paths in HARDLINKS) without size and link.
normalize() {
  python3 - "$1" "$2" <<'EOF'
import re, sys
def unescape(s):
    return re.sub(rb'\\([0-3][0-7]{2})', lambda m: bytes([int(m.group(1), 8)]), s.encode()).decode('utf-8', 'surrogateescape')
hard = set(l.strip() for l in open(sys.argv[2]))
out = []
for line in open(sys.argv[1], encoding='utf-8', errors='surrogateescape'):
    f = line.split()
    if not f or f[0].startswith('#'):
        continue
    p = unescape(f[0]).lstrip('/').removeprefix('./').rstrip('/')
    if p in ('', '.'):
        continue
    kw = dict(x.split('=', 1) for x in f[1:] if '=' in x)
    t = kw.get('type')
    size = kw.get('size', '') if t == 'file' and p not in hard else ''
    link = unescape(kw['link']) if t == 'link' else ''
    out.append(f"{p!r} {t} {int(kw.get('mode', '0'), 8):o} {kw.get('uid')} {kw.get('gid')} {size} {link!r}")
print('\n'.join(sorted(out)))
EOF
}
n=0
while read -r name blob listing; do
  [ -n "$name" ] || continue
  n=$((n + 1))
  grep -o '^[^ ]* type=file .* link=[^ ]*' "$execroot/$listing" | cut -d' ' -f1 |
    python3 -c 'import re,sys
for l in sys.stdin: print(re.sub(rb"\\([0-3][0-7]{2})", lambda m: bytes([int(m.group(1), 8)]), l.strip().encode()).decode("utf-8","surrogateescape").removeprefix("./"))' >"$work/hard"
  if ! bsdtar -cf - --format=mtree --options='!all,type,mode,uid,gid,size,link' "@$execroot/$blob" >"$work/bsdtar.mtree" 2>"$work/bsdtar.err"; then
    bad "$name: bsdtar cannot list $blob: $(head -2 "$work/bsdtar.err")"
    continue
  fi
  normalize "$execroot/$listing" "$work/hard" >"$work/ours"
  normalize "$work/bsdtar.mtree" "$work/hard" >"$work/theirs"
  if [ -s "$work/ours" ] && diff -u "$work/theirs" "$work/ours" >"$work/diff"; then
    ok "$name: listing matches bsdtar ($(wc -l <"$work/ours") entries)"
  else
    bad "$name: listing differs from bsdtar's (- bsdtar, + ours):"
    head -20 "$work/diff"
  fi
done <"$work/pairs"
[ "$n" -ge 15 ] && ok "compared the listings of $n layers" || bad "compared only $n layers"
finish
