#!/usr/bin/env bash
# Tests tools/release.sh.
#
# Usage: tools/release_test.sh
#
# Runs release.sh twice for the same commit: once in this checkout, once in
# a clone at another path whose work tree has uncommitted edits (to Go
# sources too), from another directory, with a hostile Go environment
# (GOFLAGS, GOAMD64, GOARM64, CGO_ENABLED, GOWORK, a `go env -w` file) and
# umask 077. Then checks that
#   - both runs wrote byte-identical binaries, lockfiles and archive;
#   - each binary is for its OS and CPU (`file`), static, built with
#     -trimpath and without VCS stamps, and holds no path of this machine;
#   - each lockfile entry's integrity matches the file its url_templates
#     name (RELEASE_URL_PREFIX is file://<first run's OUTDIR>);
#   - the archive holds the commit's files minus e2e/, docs/, tools/ and CI
#     files, MODULE.bazel with the version set and nothing else changed, and
#     the two lockfiles at its root;
#   - the printed sha256/SRI values are those of the assets;
#   - a bad VERSION, a missing or too-old Go, and a bad RELEASE_URL_PREFIX
#     fail before anything is written.
# Prints one ok/FAIL line per check and "N passed, N failed"; exits 0 when
# all passed. Needs go, git, jq, file, tar, gzip and openssl or python3.
# With a warm Go build cache it takes well under a minute on 2 cores; a cold
# cache adds several minutes of compiling the dependencies for six targets.
# RELEASE_TEST_KEEP=1 keeps the temporary directory; RELEASE_TEST_DIR=DIR
# works in DIR (created, kept) instead, e.g. to consume the release of its
# first run from DIR/out1 (lockfile URLs file://DIR/out1/...).

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RELEASE=$ROOT/tools/release.sh
VERSION=0.9.1-test.1
TAG=v$VERSION
PLATFORMS="darwin/amd64 darwin/arm64 linux/amd64 linux/arm64 windows/amd64 windows/arm64"
TOOLS="img pull_tool"
EXCLUDED=(e2e .github .bcr .ci docs tools)
START=$SECONDS

PASSED=0
FAILED=0
ok() {
    echo "ok   $*"
    PASSED=$((PASSED + 1))
}
fail() {
    echo "FAIL $*"
    FAILED=$((FAILED + 1))
}
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else fail "$desc"; fi
}
finish() {
    echo "$PASSED passed, $FAILED failed ($((SECONDS - START))s)"
    [[ $FAILED -eq 0 ]]
    exit
}

for cmd in go git jq file tar gzip; do
    command -v "$cmd" >/dev/null || fail "$cmd is on PATH"
done
if command -v openssl >/dev/null; then
    sri_of() { printf 'sha256-%s' "$(openssl dgst -sha256 -binary "$1" | openssl base64 -A)"; }
elif command -v python3 >/dev/null; then
    sri_of() { python3 -c 'import base64, hashlib, sys; print("sha256-" + base64.b64encode(hashlib.sha256(open(sys.argv[1], "rb").read()).digest()).decode(), end="")' "$1"; }
else
    fail "openssl or python3 is on PATH"
fi
if command -v sha256sum >/dev/null; then
    sha256_hex() { sha256sum "$1" | cut -d' ' -f1; }
else
    sha256_hex() { shasum -a 256 "$1" | cut -d' ' -f1; }
fi
[[ $FAILED -eq 0 ]] || finish

if [[ -n ${RELEASE_TEST_DIR:-} ]]; then
    mkdir -p "$RELEASE_TEST_DIR" && TMP=$(cd "$RELEASE_TEST_DIR" && pwd) || exit 1
    [[ -z $(ls -A "$TMP") ]] || { echo "release_test.sh: RELEASE_TEST_DIR $TMP is not empty" >&2; exit 1; }
elif ! TMP=$(mktemp -d "${TMPDIR:-/tmp}/release_test.XXXXXX"); then
    exit 1
fi
if [[ ${RELEASE_TEST_KEEP:-} == 1 || -n ${RELEASE_TEST_DIR:-} ]]; then
    echo "# keeping $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi

COMMIT=$(git -C "$ROOT" rev-parse HEAD) || {
    fail "$ROOT is a git checkout"
    finish
}

asset_name() { # tool os cpu
    local ext=""
    [[ $2 == windows ]] && ext=.exe
    echo "$1_$2_$3$ext"
}
ASSETS=()
for tool in $TOOLS; do
    for p in $PLATFORMS; do
        ASSETS+=("$(asset_name "$tool" "${p%/*}" "${p#*/}")")
    done
done
ARCHIVE=rules_img-$VERSION.tar.gz
ASSETS+=(prebuilt_lockfile.json pull_tool_lockfile.json "$ARCHIVE")

# --- errors before any work -----------------------------------------------------

# rejects DESCRIPTION PATTERN ENV... -- ARGS...: release.sh fails, says
# PATTERN on stderr and leaves OUTDIR ($TMP/never) uncreated.
rejects() {
    local desc=$1 pattern=$2 envs=()
    shift 2
    while [[ $1 != -- ]]; do
        envs+=("$1")
        shift
    done
    shift
    rm -rf "$TMP/never"
    if env ${envs[@]+"${envs[@]}"} "$RELEASE" "$@" >"$TMP/err.out" 2>"$TMP/err.err"; then
        fail "$desc: release.sh succeeded"
    elif ! grep -q -- "$pattern" "$TMP/err.err"; then
        fail "$desc: stderr lacks '$pattern': $(head -c 300 "$TMP/err.err")"
    elif [[ -e $TMP/never ]]; then
        fail "$desc: OUTDIR was created"
    else
        ok "$desc"
    fi
}

mkdir -p "$TMP/oldgo"
printf '#!/bin/sh\necho go1.20.3\n' >"$TMP/oldgo/go"
chmod +x "$TMP/oldgo/go"
rejects "usage error without OUTDIR" "usage: tools/release.sh VERSION OUTDIR" -- 1.0.0
rejects "rejects VERSION with the tag's v" "without the tag's v: use 1.0.0" -- v1.0.0 "$TMP/never"
rejects "rejects VERSION 1.0" "is not MAJOR.MINOR.PATCH" -- 1.0 "$TMP/never"
rejects "rejects VERSION with a space" "is not MAJOR.MINOR.PATCH" -- "1.0.0 x" "$TMP/never"
rejects "names a missing go" "no Go: '$TMP/nowhere/go' is not on PATH" GO="$TMP/nowhere/go" -- 1.0.0 "$TMP/never"
rejects "names a too-old go" "is go1.20.3; img_tool/go.mod needs go >=" GO="$TMP/oldgo/go" -- 1.0.0 "$TMP/never"
rejects "rejects a RELEASE_URL_PREFIX without scheme" "is not a URL" RELEASE_URL_PREFIX=/tmp/out -- 1.0.0 "$TMP/never"
rejects "rejects a RELEASE_REF that is no commit" "RELEASE_REF no-such-ref is not a commit" RELEASE_REF=no-such-ref -- 1.0.0 "$TMP/never"

# --- two runs -------------------------------------------------------------------

OUT1=$TMP/out1
OUT2=$TMP/out2
PREFIX=file://$OUT1

t=$SECONDS
if RELEASE_URL_PREFIX=$PREFIX RELEASE_REF=$COMMIT "$RELEASE" "$VERSION" "$OUT1" >"$TMP/run1.out" 2>"$TMP/run1.err"; then
    ok "run 1 (this checkout) in $((SECONDS - t))s"
else
    fail "run 1 (this checkout): $(tail -n 5 "$TMP/run1.err")"
    finish
fi

# The second checkout: another path, a shared object store, edits in the
# work tree (Go sources included) that must not reach the release, and the
# release.sh under test.
CLONE=$TMP/elsewhere/rules_img
if ! {
    git clone -q --shared --no-checkout "$ROOT" "$CLONE" &&
        git -C "$CLONE" checkout -q --detach "$COMMIT" &&
        mkdir -p "$CLONE/tools" &&
        cp "$RELEASE" "$CLONE/tools/release.sh" &&
        echo "// not released" >>"$CLONE/img_tool/cmd/img/main.go" &&
        echo "not released" >>"$CLONE/README.md"
}; then
    fail "clone $ROOT at $COMMIT"
    finish
fi
cat >"$TMP/goenv" <<'EOF'
GOAMD64=v3
GOFLAGS=-tags=netgo
EOF
echo "go 1.26" >"$TMP/go.work"
t=$SECONDS
if (cd "$TMP" && umask 077 && env RELEASE_URL_PREFIX="$PREFIX" RELEASE_REF="$COMMIT" \
    GOENV="$TMP/goenv" GOFLAGS="-buildvcs=true -tags=osusergo" GOAMD64=v3 GOARM64=v9.0 \
    CGO_ENABLED=1 GOWORK="$TMP/go.work" GOOS=plan9 TZ=Pacific/Kiritimati \
    "$CLONE/tools/release.sh" "$VERSION" "$OUT2" >"$TMP/run2.out" 2>"$TMP/run2.err"); then
    ok "run 2 (clone at another path, dirty tree, hostile Go env, umask 077) in $((SECONDS - t))s"
else
    fail "run 2: $(tail -n 5 "$TMP/run2.err")"
    finish
fi
check "run 2 warns that uncommitted changes are not released" \
    grep -q "uncommitted changes; they are not released" "$TMP/run2.err"

# --- reproducibility ------------------------------------------------------------

expected_list=$(printf '%s\n' "${ASSETS[@]}" | LC_ALL=C sort)
check "run 1 wrote exactly the ${#ASSETS[@]} assets" \
    test "$(find "$OUT1" -mindepth 1 -maxdepth 1 -exec basename {} \; | LC_ALL=C sort)" = "$expected_list"
check "run 2 wrote exactly the ${#ASSETS[@]} assets" \
    test "$(find "$OUT2" -mindepth 1 -maxdepth 1 -exec basename {} \; | LC_ALL=C sort)" = "$expected_list"
for a in "${ASSETS[@]}"; do
    check "identical in both runs: $a" cmp -s "$OUT1/$a" "$OUT2/$a"
done

# --- binaries ---------------------------------------------------------------------

expected_type() { # os cpu -> ERE for `file -b`
    case $1/$2 in
    linux/amd64) echo '^ELF 64-bit LSB executable, x86-64,.*statically linked' ;;
    linux/arm64) echo '^ELF 64-bit LSB executable, ARM aarch64,.*statically linked' ;;
    darwin/amd64) echo '^Mach-O 64-bit x86_64 executable' ;;
    darwin/arm64) echo '^Mach-O 64-bit arm64 executable' ;;
    windows/amd64) echo '^PE32\+ executable \(console\) x86-64' ;;
    windows/arm64) echo '^PE32\+ executable \(console\) Aarch64' ;;
    esac
}

HOST_PATHS=("$ROOT" "$CLONE" "$TMP" "$(go env GOROOT)" "$(go env GOMODCACHE)" "$(go env GOCACHE)" "rules_img_release.")
[[ -n ${HOME:-} && $HOME != / ]] && HOST_PATHS+=("$HOME/")
for tool in $TOOLS; do
    for p in $PLATFORMS; do
        os=${p%/*} cpu=${p#*/}
        a=$(asset_name "$tool" "$os" "$cpu")
        f=$OUT1/$a
        type=$(file -b "$f")
        if [[ $type =~ $(expected_type "$os" "$cpu") ]]; then
            ok "$a is $os/$cpu: $type"
        else
            fail "$a is $os/$cpu: file says '$type'"
        fi

        # Line 1 is "<path of the file>: <go version>".
        info=$(go version -m "$f" 2>&1 | tail -n +2)
        problems=()
        grep -q $'\tbuild\t-trimpath=true$' <<<"$info" || problems+=("no -trimpath=true")
        grep -q $'\tbuild\tCGO_ENABLED=0$' <<<"$info" || problems+=("no CGO_ENABLED=0")
        grep -q $'\tbuild\tGOOS='"$os"'$' <<<"$info" || problems+=("no GOOS=$os")
        grep -q $'\tbuild\tGOARCH='"$cpu"'$' <<<"$info" || problems+=("no GOARCH=$cpu")
        grep -q $'\tbuild\tvcs' <<<"$info" && problems+=("vcs stamp")
        grep -q $'\tbuild\t-tags' <<<"$info" && problems+=("build tags")
        case $cpu in
        amd64) grep -q $'\tbuild\tGOAMD64=v1$' <<<"$info" || problems+=("not GOAMD64=v1") ;;
        arm64) grep -q $'\tbuild\tGOARM64=v8.0$' <<<"$info" || problems+=("not GOARM64=v8.0") ;;
        esac
        for path in "${HOST_PATHS[@]}"; do
            [[ -n $path ]] || continue
            grep -qF -- "$path" <<<"$info" && problems+=("go version -m names $path")
            LC_ALL=C grep -qaF -- "$path" "$f" && problems+=("binary holds $path")
        done
        if [[ ${#problems[@]} -eq 0 ]]; then
            ok "$a: -trimpath, CGO_ENABLED=0, no VCS stamp or build tags, no path of this machine"
        else
            fail "$a: $(IFS=';'; echo "${problems[*]}")"
        fi
    done
done

# --- lockfiles --------------------------------------------------------------------

for tool in $TOOLS; do
    case $tool in
    img) lock=prebuilt_lockfile.json ;;
    pull_tool) lock=pull_tool_lockfile.json ;;
    esac
    f=$OUT1/$lock
    if ! jq -e 'type == "array"' "$f" >/dev/null 2>&1; then
        fail "$lock is a JSON list"
        continue
    fi
    check "$lock lists each of the 6 platforms once, in order" \
        test "$(jq -r '.[] | "\(.os)/\(.cpu)"' "$f" | tr '\n' ' ')" = "$PLATFORMS "
    check "$lock entries have exactly version, integrity, os, cpu, url_templates" \
        test "$(jq -c '[.[] | keys_unsorted] | unique' "$f")" = '[["version","integrity","os","cpu","url_templates"]]'
    for p in $PLATFORMS; do
        os=${p%/*} cpu=${p#*/}
        entry=$(jq -c --arg os "$os" --arg cpu "$cpu" '.[] | select(.os == $os and .cpu == $cpu)' "$f")
        version=$(jq -r .version <<<"$entry")
        integrity=$(jq -r .integrity <<<"$entry")
        templates=$(jq -c .url_templates <<<"$entry")
        want_templates=$(jq -cn --arg t "$PREFIX/${tool}_{os}_{cpu}{dot}{extension}" '[$t]')
        problems=()
        [[ $version == "$TAG" ]] || problems+=("version $version, want $TAG")
        [[ $templates == "$want_templates" ]] || problems+=("url_templates $templates, want $want_templates")
        # Expand the template as Bazel would and verify the download.
        ext="" dot=""
        [[ $os == windows ]] && ext=exe dot=.
        url=$(jq -r '.url_templates[0]' <<<"$entry")
        url=${url//\{version\}/$version}
        url=${url//\{os\}/$os}
        url=${url//\{cpu\}/$cpu}
        url=${url//\{dot\}/$dot}
        url=${url//\{extension\}/$ext}
        target=${url#file://}
        if [[ $target != "$OUT1/$(asset_name "$tool" "$os" "$cpu")" ]]; then
            problems+=("URL $url is not the asset $(asset_name "$tool" "$os" "$cpu")")
        elif [[ ! -f $target ]]; then
            problems+=("URL $url names no file")
        else
            actual=$(sri_of "$target")
            [[ $integrity == "$actual" ]] || problems+=("integrity $integrity, the file has $actual")
        fi
        if [[ ${#problems[@]} -eq 0 ]]; then
            ok "$lock $os/$cpu: $TAG, integrity of $(basename "$target") matches"
        else
            fail "$lock $os/$cpu: $(IFS=';'; echo "${problems[*]}")"
        fi
    done
done

# --- archive ----------------------------------------------------------------------

A=$OUT1/$ARCHIVE
check "$ARCHIVE: gzip header without name or mtime" \
    test "$(od -An -tx1 -j3 -N5 "$A" | tr -d ' \n')" = 0000000000
listing=$(tar -tzf "$A") || fail "$ARCHIVE lists with tar"
for want in MODULE.bazel prebuilt_lockfile.json pull_tool_lockfile.json BUILD.bazel img/BUILD.bazel img_tool/go.mod pull_tool/go.mod; do
    check "$ARCHIVE holds $want at its root" grep -qxF -- "$want" <<<"$listing"
done
for dir in "${EXCLUDED[@]}"; do
    check "$ARCHIVE leaves out $dir/" test -z "$(grep -E "^(\./)?${dir//./\\.}(/|$)" <<<"$listing")"
done
check "$ARCHIVE has only modes 0644 and 0755" \
    test -z "$(tar -tvzf "$A" | awk '$1 !~ /^(-rw-r--r--|-rwxr-xr-x|drwxr-xr-x)$/')"

mkdir -p "$TMP/archive" "$TMP/commit"
tar -xzf "$A" -C "$TMP/archive" || fail "$ARCHIVE extracts"
git -C "$ROOT" archive --format=tar "$COMMIT" | tar -xf - -C "$TMP/commit" || fail "git archive $COMMIT extracts"
(cd "$TMP/commit" && rm -rf "${EXCLUDED[@]}")
check "$ARCHIVE: every other file is the commit's" \
    diff -r -q -x MODULE.bazel -x prebuilt_lockfile.json -x pull_tool_lockfile.json "$TMP/commit" "$TMP/archive"
module_diff=$(diff "$TMP/commit/MODULE.bazel" "$TMP/archive/MODULE.bazel")
module_version=$(awk '/^module\(/ { m = 1 } m && /^[[:space:]]*version[[:space:]]*=/ { print; exit }' "$TMP/archive/MODULE.bazel")
check "$ARCHIVE: MODULE.bazel's module() has version = \"$VERSION\"" \
    grep -qE "^[[:space:]]*version = \"$VERSION\",?$" <<<"$module_version"
check "$ARCHIVE: MODULE.bazel differs from the commit's in the version line only" \
    test "$(grep -c '^[<>]' <<<"$module_diff") $(grep -c '^> .*version = ' <<<"$module_diff")" = "2 1"
for lock in prebuilt_lockfile.json pull_tool_lockfile.json; do
    check "$ARCHIVE: $lock is the released one" cmp -s "$TMP/archive/$lock" "$OUT1/$lock"
done

# --- printed digests --------------------------------------------------------------

# prints NAME SHA256 SRI: run 1's table has the line "NAME sha256:SHA256 SRI".
# shellcheck disable=SC2317 # called through check
prints() {
    awk -v a="$1" -v h="sha256:$2" -v s="$3" '$1 == a && $2 == h && $3 == s { found = 1 } END { exit !found }' "$TMP/run1.out"
}
for a in "${ASSETS[@]}"; do
    check "run 1 prints sha256 and SRI of $a" prints "$a" "$(sha256_hex "$OUT1/$a")" "$(sri_of "$OUT1/$a")"
done
check "run 1 prints archive_override with the archive's integrity" \
    grep -qF "integrity = \"$(sri_of "$A")\"" "$TMP/run1.out"
check "run 1 prints archive_override with the archive's URL" \
    grep -qF "urls = [\"$PREFIX/$ARCHIVE\"]" "$TMP/run1.out"

finish
