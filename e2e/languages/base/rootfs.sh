#!/usr/bin/env bash
# A minimal Debian bookworm root file system with Python, as a tar, for the
# base image of e2e/languages: python3-minimal and the standard library
# (libpython3-stdlib; py_binary's stub imports shutil), bash, dash (/bin/sh),
# coreutils (env, cat), debianutils (which: the Python toolchain's wrapper
# looks for python3 with it), grep, sed and mawk (the bash runfiles library),
# and what they depend on; no docs, man pages or locales.
#
# The packages are only extracted (mmdebstrap --variant=extract), never
# configured: no maintainer script runs, so a foreign architecture needs no
# emulation. The two links that update-alternatives would make in a
# configured system (awk, which) are made by hand.
#
# Usage: rootfs.sh ARCH   (amd64 | arm64) prints the path of the tar.
# The tar is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/rules_img/e2e-languages/
# under a key of everything that goes into it (suite, architecture, mirror,
# packages, what is dropped); delete the directory to rebuild. Older
# recipes' tars are deleted when a new one is built. Packages come
# from the mirror as it is when the cache is cold, and every mtime is
# clamped to SOURCE_DATE_EPOCH, so two cold builds from the same mirror
# state give the same bytes.
# Env: DEBIAN_MIRROR (http://deb.debian.org/debian).
set -euo pipefail
arch=${1:?usage: rootfs.sh amd64|arm64}
case $arch in amd64 | arm64) ;; *) echo "rootfs.sh: unknown architecture $arch (amd64 | arm64)" >&2; exit 2 ;; esac
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
packages=python3-minimal,libpython3-stdlib,bash,dash,coreutils,debianutils,grep,sed,mawk
# Build date of the file system (2023-11-14T22:13:20Z): mtimes past it are
# clamped to it.
export SOURCE_DATE_EPOCH=1700000000
# Parts of packages that no program here reads.
drop="usr/share/doc usr/share/man usr/share/info usr/share/locale usr/share/lintian
  usr/share/common-licenses var/cache/apt var/lib/apt/lists"
# Run after extraction, in the root: drop those, make the alternatives' links.
hook="rm -rf $(echo $drop) && cd usr/bin && test -x mawk && test -x which.debianutils &&
  ln -s mawk awk && ln -s which.debianutils which"

# The cache key: every input of the file system but the mirror's state.
recipe="$suite $arch $mirror extract $packages $SOURCE_DATE_EPOCH $hook"
key=$(echo "$recipe" | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/rules_img/e2e-languages
out=$cache/rootfs-$suite-$arch-$key.tar
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
tmp=$cache/.rootfs-$arch-$$.tar
trap 'rm -f "$tmp"' EXIT
mmdebstrap --quiet --format=tar --variant=extract --arch="$arch" --include="$packages" \
  --aptopt='APT::Install-Recommends "false"' \
  --extract-hook='cd "$1" && '"$hook" \
  "$suite" "$tmp" "$mirror" >&2 ||
  { echo "rootfs.sh: mmdebstrap $suite $arch from $mirror failed" >&2; exit 1; }
mv "$tmp" "$out"
trap - EXIT
# File systems of older recipes are not needed any more.
find "$cache" -maxdepth 1 -name "rootfs-$suite-$arch-*.tar" ! -name "${out##*/}" -delete
echo "$out"
