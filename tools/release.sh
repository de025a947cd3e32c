#!/usr/bin/env bash
# Builds the assets of a rules_img release into OUTDIR.
#
# Usage: tools/release.sh VERSION OUTDIR
#
#   VERSION   the module version, e.g. 0.1.0 (the git tag is v0.1.0)
#   OUTDIR    created if missing; assets of the same name are replaced
#
# Assets:
#   img_<os>_<cpu>[.exe], pull_tool_<os>_<cpu>[.exe]
#       for linux, darwin, windows x amd64, arm64; static (CGO_ENABLED=0)
#   prebuilt_lockfile.json, pull_tool_lockfile.json
#       JSON lists of {version, integrity, os, cpu, url_templates}, the
#       format the img_tool extension's from_file tag reads
#   rules_img-VERSION.tar.gz
#       the module at the released commit with both lockfiles at its root
#       and `version = "VERSION"` in MODULE.bazel; no top-level directory;
#       e2e/, docs/, tools/ and CI files are left out
#
# Everything is built from the released commit (RELEASE_REF, default HEAD),
# never from the working tree: uncommitted changes are not released. The
# same VERSION, commit, RELEASE_URL_PREFIX and Go version give byte-identical
# assets; the caller's GOFLAGS, GOAMD64, go.work, `go env -w` settings and
# umask do not change them.
#
# Environment:
#   RELEASE_URL_PREFIX  where the binaries will be downloadable; the lockfiles'
#                       url_templates are PREFIX/<tool>_{os}_{cpu}{dot}{extension}.
#                       {version} in it is expanded by Bazel with the entry's
#                       version (vVERSION). Default:
#                       https://github.com/rules-img/rules_img/releases/download/{version}
#                       e.g. file:///tmp/out to consume a local release.
#   RELEASE_REF         commit to release (default HEAD)
#   GO                  the go command (default: go on PATH)
#
# Prints each asset's sha256 and SRI, and an archive_override snippet, on
# stdout; progress and warnings go to stderr.

set -euo pipefail

die() {
    echo "release.sh: error: $*" >&2
    exit 1
}

warn() {
    echo "release.sh: warning: $*" >&2
}

usage() {
    echo "usage: tools/release.sh VERSION OUTDIR    (e.g. tools/release.sh 0.1.0 dist)" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
VERSION=$1
OUTDIR=$2

# Bazel module versions; the tag adds a leading v.
VERSION_RE='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
if [[ $VERSION == v* && ${VERSION#v} =~ $VERSION_RE ]]; then
    die "VERSION is the module version without the tag's v: use ${VERSION#v}, not $VERSION"
fi
if ! [[ $VERSION =~ $VERSION_RE ]]; then
    die "VERSION $(printf '%q' "$VERSION") is not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. 0.1.0 or 0.2.0-rc.1"
fi
[[ -n $OUTDIR ]] || usage
TAG=v$VERSION

URL_PREFIX=${RELEASE_URL_PREFIX:-https://github.com/rules-img/rules_img/releases/download/\{version\}}
URL_PREFIX=${URL_PREFIX%/}
if ! [[ $URL_PREFIX =~ ^[A-Za-z][A-Za-z0-9+.-]*://[^[:space:]\"\\]+$ ]]; then
    die "RELEASE_URL_PREFIX $(printf '%q' "$URL_PREFIX") is not a URL (scheme://...) without spaces, quotes or backslashes"
fi

# GOOS/GOARCH pairs, in the order the lockfiles list them.
PLATFORMS="darwin/amd64 darwin/arm64 linux/amd64 linux/arm64 windows/amd64 windows/arm64"
TOOLS="img pull_tool"
# Paths of the module that stay out of the source archive.
EXCLUDE=(e2e .github .bcr .ci docs tools)

# --- checks -----------------------------------------------------------------

command -v git >/dev/null || die "git is not on PATH"
command -v gzip >/dev/null || die "gzip is not on PATH"
command -v base64 >/dev/null || die "base64 is not on PATH"
if command -v sha256sum >/dev/null; then
    sha256_hex() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null; then
    sha256_hex() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
    die "neither sha256sum nor shasum is on PATH"
fi

# A GO given as a relative path stays valid after the cd below.
GO=${GO:-go}
if [[ $GO == */* && $GO != /* && -d $(dirname "$GO") ]]; then
    GO=$(cd "$(dirname "$GO")" && pwd)/$(basename "$GO")
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && git rev-parse --show-toplevel 2>/dev/null) ||
    die "$(dirname "${BASH_SOURCE[0]}")/.. is not in a git work tree: release.sh archives a commit"
cd "$ROOT"

REF=${RELEASE_REF:-HEAD}
COMMIT=$(git rev-parse --verify --quiet "$REF^{commit}") || die "RELEASE_REF $REF is not a commit"
for f in MODULE.bazel img_tool/go.mod pull_tool/go.mod; do
    git cat-file -e "$COMMIT:$f" 2>/dev/null || die "$f is missing at $COMMIT"
done
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    warn "the work tree has uncommitted changes; they are not released: binaries and archive come from $COMMIT"
fi

NEED_GO=$(git show "$COMMIT:img_tool/go.mod" | awk '$1 == "go" { print $2; exit }')
if ! command -v "$GO" >/dev/null; then
    die "no Go: '$GO' is not on PATH. Install Go >= ${NEED_GO:-?} (https://go.dev/dl/) or set GO=/path/to/go/bin/go"
fi

# version_lt A B: whether Go version A (1.26.0, 1.26rc1) is older than B.
version_lt() {
    local -a a b
    local i x y
    IFS=. read -r -a a <<<"$1"
    IFS=. read -r -a b <<<"$2"
    for ((i = 0; i < 3; i++)); do
        x=${a[i]:-0}
        y=${b[i]:-0}
        x=${x%%[!0-9]*}
        y=${y%%[!0-9]*}
        ((10#${x:-0} < 10#${y:-0})) && return 0
        ((10#${x:-0} > 10#${y:-0})) && return 1
    done
    return 1
}

GOVERSION=$(GOTOOLCHAIN=local "$GO" env GOVERSION) || die "'$GO env GOVERSION' failed"
if [[ $GOVERSION == go[0-9]* && -n $NEED_GO ]] && version_lt "${GOVERSION#go}" "$NEED_GO"; then
    die "$GO is $GOVERSION; img_tool/go.mod needs go >= $NEED_GO (GOTOOLCHAIN=local: no download). Install a newer Go or set GO=/path/to/go/bin/go"
fi

# --- Go environment -----------------------------------------------------------
#
# Keep only where modules come from and where caches live (they do not change
# the output), then ignore the caller's `go env -w` file and set everything
# that reaches the binaries explicitly.

GOSETTINGS=(GOPROXY GOSUMDB GONOSUMDB GONOPROXY GOPRIVATE GOINSECURE GOMODCACHE GOCACHE GOCACHEPROG GOPATH GOAUTH)
GOVALUES=$(GOTOOLCHAIN=local "$GO" env "${GOSETTINGS[@]}") || die "'$GO env' failed"
i=0
for name in "${GOSETTINGS[@]}"; do
    i=$((i + 1))
    export "$name=$(printf '%s\n' "$GOVALUES" | sed -n "${i}p")"
done
export GOENV=off GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=readonly
export CGO_ENABLED=0 GOAMD64=v1 GOARM64=v8.0 GOFIPS140=off
unset GOEXPERIMENT GOOS GOARCH GO386 GOARM GOMIPS GOMIPS64 GOPPC64 GORISCV64 GOWASM

# --- work areas -----------------------------------------------------------------

mkdir -p "$OUTDIR" || die "cannot create OUTDIR $OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rules_img_release.XXXXXX")
STAGE=$(mktemp -d "$OUTDIR/.release.XXXXXX")
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT
umask 022

asset_name() { # tool os cpu
    local ext=""
    [[ $2 == windows ]] && ext=.exe
    echo "$1_$2_$3$ext"
}

# sri HEX: the Subresource Integrity value of a sha256 given in hex.
sri() {
    # The inner printf's format is the digest as \xHH escapes: its bytes.
    # shellcheck disable=SC2059
    printf 'sha256-%s' "$(printf "$(printf '%s' "$1" | sed 's/../\\x&/g')" | base64 | tr -d '\n')"
}

# --- binaries -------------------------------------------------------------------

echo "release.sh: rules_img $VERSION from $COMMIT with $GOVERSION" >&2
SRC=$WORK/src
mkdir -p "$SRC"
git archive --format=tar "$COMMIT" -- img_tool pull_tool | tar -xf - -C "$SRC" ||
    die "cannot export img_tool/ and pull_tool/ of $COMMIT"

build() { # tool os cpu
    local tool=$1 goos=$2 goarch=$3 dir pkg out
    case $tool in
    img) dir=$SRC/img_tool pkg=./cmd/img ;;
    pull_tool) dir=$SRC/pull_tool pkg=. ;;
    esac
    out=$STAGE/$(asset_name "$tool" "$goos" "$goarch")
    echo "release.sh: building $(basename "$out")" >&2
    # -trimpath and -buildvcs=false keep paths and VCS state out; -buildid=
    # drops the build ID; -s -w drop the symbol table and DWARF. The output
    # name is final: the linker uses it in darwin/arm64 code signatures.
    (cd "$dir" && GOOS=$goos GOARCH=$goarch "$GO" build -trimpath -buildvcs=false \
        -ldflags="-s -w -buildid=" -o "$out" "$pkg") ||
        die "building $tool for $goos/$goarch failed"
    chmod 0755 "$out"
}

for tool in $TOOLS; do
    for p in $PLATFORMS; do
        build "$tool" "${p%/*}" "${p#*/}"
    done
done

# --- lockfiles ------------------------------------------------------------------

write_lockfile() { # tool out
    local tool=$1 sep="" p os cpu f
    {
        echo "["
        for p in $PLATFORMS; do
            os=${p%/*} cpu=${p#*/}
            f=$STAGE/$(asset_name "$tool" "$os" "$cpu")
            printf '%s  {\n' "$sep"
            printf '    "version": "%s",\n' "$TAG"
            printf '    "integrity": "%s",\n' "$(sri "$(sha256_hex "$f")")"
            printf '    "os": "%s",\n' "$os"
            printf '    "cpu": "%s",\n' "$cpu"
            printf '    "url_templates": [\n      "%s/%s_{os}_{cpu}{dot}{extension}"\n    ]\n' "$URL_PREFIX" "$tool"
            printf '  }'
            sep=$',\n'
        done
        printf '\n]\n'
    } >"$2"
}

write_lockfile img "$STAGE/prebuilt_lockfile.json"
write_lockfile pull_tool "$STAGE/pull_tool_lockfile.json"

# --- source archive -------------------------------------------------------------
#
# The archive is `git archive` of a commit made in a private object store:
# the released tree minus EXCLUDE, plus the lockfiles and the versioned
# MODULE.bazel. Its author, committer and dates are fixed (the released
# commit's time), so the commit, and with it the tar (entries in tree order,
# every mtime the same, modes 0644/0755), depends only on the content.

ARCHIVE=rules_img-$VERSION.tar.gz
GITDIR=$WORK/git
mkdir -p "$GITDIR/objects"
OBJECTS=$(git rev-parse --git-path objects)
[[ $OBJECTS == /* ]] || OBJECTS=$ROOT/$OBJECTS
g() {
    GIT_INDEX_FILE=$GITDIR/index GIT_OBJECT_DIRECTORY=$GITDIR/objects \
        GIT_ALTERNATE_OBJECT_DIRECTORIES=$OBJECTS GIT_ATTR_NOSYSTEM=1 \
        git -c core.autocrlf=false -c core.eol=lf -c core.attributesFile=/dev/null \
        -c tar.umask=022 -c commit.gpgsign=false -c i18n.commitEncoding=UTF-8 "$@"
}
put() { # file path-in-archive
    local blob
    blob=$(g hash-object -w --no-filters "$1") &&
        g update-index --add --cacheinfo "100644,$blob,$2"
}

git show "$COMMIT:MODULE.bazel" | awk -v v="$VERSION" '
    /^module\(/ { inmod = 1 }
    inmod && !done && /^[[:space:]]*version[[:space:]]*=/ { sub(/"[^"]*"/, "\"" v "\""); done = 1 }
    inmod && /^\)/ { inmod = 0 }
    { print }
    END { if (!done) exit 3 }' >"$WORK/MODULE.bazel" ||
    die "MODULE.bazel at $COMMIT has no 'version = \"...\"' line inside module(...) to set"

g read-tree "$COMMIT"
g ls-files -z -- "${EXCLUDE[@]}" | g update-index -z --force-remove --stdin
put "$WORK/MODULE.bazel" MODULE.bazel
put "$STAGE/prebuilt_lockfile.json" prebuilt_lockfile.json
put "$STAGE/pull_tool_lockfile.json" pull_tool_lockfile.json
TREE=$(g write-tree)
WHEN="$(git show -s --format=%ct "$COMMIT") +0000"
RELEASE_COMMIT=$(GIT_AUTHOR_NAME=rules_img GIT_AUTHOR_EMAIL=release@rules_img.invalid \
    GIT_COMMITTER_NAME=rules_img GIT_COMMITTER_EMAIL=release@rules_img.invalid \
    GIT_AUTHOR_DATE=$WHEN GIT_COMMITTER_DATE=$WHEN \
    g commit-tree "$TREE" -m "rules_img $VERSION from $COMMIT") ||
    die "cannot make the archive's commit"
g archive --format=tar "$RELEASE_COMMIT" | gzip -n -9 >"$STAGE/$ARCHIVE" ||
    die "cannot write $ARCHIVE"

# --- publish into OUTDIR --------------------------------------------------------

ASSETS=()
for tool in $TOOLS; do
    for p in $PLATFORMS; do
        ASSETS+=("$(asset_name "$tool" "${p%/*}" "${p#*/}")")
    done
done
ASSETS+=(prebuilt_lockfile.json pull_tool_lockfile.json "$ARCHIVE")
for a in "${ASSETS[@]}"; do
    mv -f "$STAGE/$a" "$OUTDIR/$a" || die "cannot move $a into $OUTDIR"
done

echo "release.sh: wrote ${#ASSETS[@]} assets to $OUTDIR" >&2
echo "rules_img $VERSION (tag $TAG) from $COMMIT, built with $GOVERSION"
for a in "${ASSETS[@]}"; do
    hex=$(sha256_hex "$OUTDIR/$a")
    printf '%-28s sha256:%s %s\n' "$a" "$hex" "$(sri "$hex")"
done
ARCHIVE_URL=$(printf '%s' "$URL_PREFIX" | sed "s/{version}/$TAG/g")/$ARCHIVE
cat <<EOF

archive_override(
    module_name = "rules_img",
    integrity = "$(sri "$(sha256_hex "$OUTDIR/$ARCHIVE")")",
    urls = ["$ARCHIVE_URL"],
)
EOF
