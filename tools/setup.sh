#!/usr/bin/env bash
# Installs what rules_img's commands need on a fresh Debian bookworm machine
# (root, Debian's mirror and the Go module proxy reachable):
#   - Bazel 7 (tools/bazel/install.sh: Debian sid's Bazel in a root under
#     /opt, with a `bazel` wrapper on PATH);
#   - jq, openssl and zstd on the host; crane and the distribution registry;
#     containerd, runc, dockerd and podman;
#   - Go (must already be at /usr/local/go or on PATH) and the Go modules of
#     img_tool, through the module proxy.
# Idempotent and quick when everything is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"

command -v go >/dev/null || { echo "setup: Go is needed (install it at /usr/local/go)" >&2; exit 1; }
need=()
for tool in jq openssl zstd; do command -v "$tool" >/dev/null || need+=("$tool"); done
# A static shell for the base image of e2e/compat.
command -v busybox >/dev/null || need+=(busybox-static)
# Independent checkers: bsdtar (layer listings), keytool (the Java
# truststore of trust_store), dpkg-deb (packages for trust_store).
command -v bsdtar >/dev/null || need+=(libarchive-tools)
command -v keytool >/dev/null || need+=(default-jre-headless)
command -v dpkg-deb >/dev/null || need+=(dpkg)
# The Debian root file systems of e2e/languages.
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
# Package lists first when anything is missing (a fresh machine may have none).
if [ ${#need[@]} -gt 0 ] || ! command -v containerd >/dev/null || ! command -v dockerd >/dev/null || ! command -v podman >/dev/null; then
  apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
sh "$root/tools/bazel/install.sh" >/dev/null
(cd "$root/img_tool" && go mod download)
(cd "$root/pull_tool" && go mod download)
# crane (go-containerregistry) is the independent image checker of the e2e.
command -v "$(go env GOPATH)/bin/crane" >/dev/null || go install github.com/google/go-containerregistry/cmd/crane@v0.20.3
# The ORAS client reads the artifacts of oras_layer back (e2e/oras_optimize.sh).
command -v "$(go env GOPATH)/bin/oras" >/dev/null || go install oras.land/oras/cmd/oras@v1.2.3
# The reference registry (distribution v3) for the pull tests.
command -v "$(go env GOPATH)/bin/registry" >/dev/null || go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2
# containerd (with runc), dockerd and podman for running the images the e2e builds.
"$root/tools/services/containerd.sh" install >/dev/null
"$root/tools/services/dockerd.sh" install >/dev/null
"$root/tools/services/podman.sh" install >/dev/null
# REAPI remote caches (Bazel's remote worker, buildbox-casd) for the
# remote-cache push strategies.
"$root/tools/services/reapi.sh" install >/dev/null
bazel --version
