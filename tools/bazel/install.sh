#!/bin/sh
# install.sh - (rules_img's copy, with zstd and bsdtar for the e2e checks) give this Debian bookworm host a working Bazel 7 (Debian sid's
# bazel-bootstrap 7.7.1) without touching the host's libc or packages.
#
# sid's Bazel needs glibc >= 2.38 and ~215 sid packages (JDK, jars, rules),
# so it lives in a minimal sid root ($BAZEL_SID_ROOT, made by mmdebstrap) and
# the `bazel` wrapper beside this script runs it transparently (see there).
#
# Offline: Debian's /etc/bazel/bazelrc already points --override_module at the
# packaged rulesets under /usr/share/bazel. This script adds, in the root's
# /etc/bazel.bazelrc (which that file try-imports), what else a plain
# workspace needs to resolve and build with no network and no flags: mock
# modules for the rest of bazel_tools' graph (as Debian's own autopkgtests
# do), WORKSPACE-mode repo overrides, local Java tools/JDK (for stardoc), and a
# build label so that `bazel info release` / native.bazel_version say 7.7.1.
#
# Idempotent: when installed it only rewrites small config files and the
# wrapper (about a second). Needs root and Debian's package mirror.
# Env: BAZEL_SID_ROOT (/opt/sid-bazel), BAZEL_WRAPPER (/usr/local/bin/bazel),
#      DEBIAN_MIRROR (http://deb.debian.org/debian).
set -eu
R=${BAZEL_SID_ROOT:-/opt/sid-bazel}
WRAPPER=${BAZEL_WRAPPER:-/usr/local/bin/bazel}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PKGS="bazel-bootstrap bazel-stardoc bazel-rules-shell bazel-java-tools zstd libarchive-tools"
HERE=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive BAZEL_SID_ROOT="$R"

if [ ! -x "$R/usr/bin/bazel" ]; then
  command -v mmdebstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq --no-install-recommends mmdebstrap; }
  # Build beside the target so that an interrupted run never leaves half a root.
  # The mirror's sid Release file can be past its Valid-Until date; both aptopts
  # also stay in the root's apt config.
  rm -rf "$R.partial"
  mmdebstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
    --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='APT::Install-Recommends "false"' \
    sid "$R.partial" "$MIRROR"
  mv "$R.partial" "$R"
  echo "$PKGS" > "$R/.bazel-sid-pkgs"
elif [ "$(cat "$R/.bazel-sid-pkgs" 2>/dev/null)" != "$PKGS" ]; then
  # Root exists but the package list changed: install the rest in place.
  BAZEL_SID_EXEC=1 "$HERE/bazel" sh -c "apt-get update -qq && apt-get install -y -qq $PKGS && apt-get clean"
  echo "$PKGS" > "$R/.bazel-sid-pkgs"
fi

# Mock modules for bazel_tools' deps that Debian does not package; enough for
# module resolution (zlib links the system -lz).
M=$R/usr/local/share/bazel-mocks
for m in apple_support protobuf buildozer zlib system_jdk; do
  mkdir -p "$M/$m"; : > "$M/$m/BUILD.bazel"
  echo "module(name = \"$m\")" > "$M/$m/MODULE.bazel"
done
echo 'cc_library(name = "zlib", linkopts = ["-lz"], visibility = ["//visibility:public"])' > "$M/zlib/BUILD.bazel"
# --override_module fails ("overrides on nonexistent module(s)") for a module
# that is not in the graph. buildozer always is (via bazel_tools), so its mock
# pulls in the optional packaged modules: any workspace may then bazel_dep()
# on rules_shell or stardoc, whatever version it names.
cat >> "$M/buildozer/MODULE.bazel" <<'EOF'
bazel_dep(name = "rules_shell", version = "0.4.0")
bazel_dep(name = "stardoc", version = "0.8.1")
EOF
# bazel_tools uses this extension (for `bazel mod tidy`); `bazel mod graph`
# loads it. An empty repo is enough.
cat > "$M/buildozer/buildozer_binary.bzl" <<'EOF'
_empty = repository_rule(implementation = lambda rctx: rctx.file("BUILD.bazel", ""))
buildozer_binary = module_extension(implementation = lambda mctx: _empty(name = "buildozer_binary"))
EOF
# rules_java's java_toolchain wants a downloaded JDK 21: give it the system JDK.
: > "$M/system_jdk/WORKSPACE"
echo 'java_runtime(name = "jdk", java_home = "/usr/lib/jvm/default-java", visibility = ["//visibility:public"])' > "$M/system_jdk/BUILD.bazel"

S=/usr/share/bazel
JT=$(cd "$R" && ls -d usr/lib/*/bazel/java_tools | head -n1); JT=/$JT   # /usr/lib/<multiarch>/...
{
  echo "# Written by install.sh: offline defaults for Debian's Bazel (see there)."
  echo "# bzlmod: mocks for modules Debian lacks, plus the optional packaged ones."
  for m in apple_support protobuf buildozer zlib; do echo "common --override_module=$m=/usr/local/share/bazel-mocks/$m"; done
  echo "common --override_module=rules_shell=$S/rules/shell"
  echo "common --override_module=stardoc=$S/tools/stardoc"
  echo "# WORKSPACE mode (and bzlmod with --enable_workspace): the suffix's http_archives."
  for r in rules_cc=rules/cc rules_java=rules/java rules_license=rules/license rules_proto=rules/proto \
           rules_python=rules/python bazel_skylib=tools/skylib; do
    echo "common --override_repository=${r%%=*}=$S/${r#*=}"
  done
  echo "# Java (stardoc's renderer): Debian's java_tools and the system JDK."
  for r in rules_java~~toolchains~remote_java_tools rules_java~~toolchains~remote_java_tools_linux \
           remote_java_tools remote_java_tools_linux; do echo "common --override_repository=$r=$JT"; done
  for r in rules_java~~toolchains~remotejdk21_linux remotejdk21_linux; do
    echo "common --override_repository=$r=/usr/local/share/bazel-mocks/system_jdk"
  done
  echo "build --java_runtime_version=local_jdk --tool_java_runtime_version=local_jdk"
} > "$R/etc/bazel.bazelrc"
# Debian turns on --sandbox_debug for every build (very noisy) and sets the
# deprecated --host_javabase (a warning on every command; the Java flags above
# replace it): comment both out.
sed -i -e 's/^build --sandbox_debug$/# & (disabled by install.sh)/' \
       -e 's/^build --host_javabase=.*/# & (disabled by install.sh)/' "$R/etc/bazel/bazelrc"

# Debian's server jar carries no build-data.properties, so Bazel calls itself
# "development version" (native.bazel_version == ""), which bazel_features
# reads as "newer than any release". Put the real label on the classpath.
mkdir -p "$R/usr/local/share/bazel-build-data"
echo "build.label=$(cat "$R$S/build-label.txt")" > "$R/usr/local/share/bazel-build-data/build-data.properties"
grep -qx /usr/local/share/bazel-build-data "$R$S/bazel_classpath_debian_depends.txt" ||
  echo /usr/local/share/bazel-build-data >> "$R$S/bazel_classpath_debian_depends.txt"

mkdir -p "$(dirname "$WRAPPER")"
cp "$HERE/bazel" "$WRAPPER.tmp" && chmod 755 "$WRAPPER.tmp" && mv "$WRAPPER.tmp" "$WRAPPER"
"$WRAPPER" --version
