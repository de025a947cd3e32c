#!/usr/bin/env bash
# Real REAPI v2 servers (remote cache: CAS, ActionCache, ByteStream, Capabilities)
# on loopback for tests. Both run inside the sid root of tools/bazel (run
# tools/bazel/install.sh first); nothing is installed on the host itself.
#
#   reapi.sh install                  build Bazel's remote worker, apt-get buildbox + tcnative (in the root)
#   reapi.sh start  [MODE] [PORT]     start one instance, print KEY=VALUE lines
#   reapi.sh stop   [MODE] [PORT]     stop it by its pidfile (idempotent)
#   reapi.sh status [MODE] [PORT]     exit 0 when running
#   reapi.sh clean  [MODE] [PORT]     stop and delete its data
#
# MODE (default worker) and default PORT:
#   worker       8980  Bazel 7.7.1's own remote worker (src/tools/remote, the server of Bazel's
#                      integration tests), cache only, plaintext. Bazel 7.7.1 uses it as
#                      --remote_cache=$REAPI_ENDPOINT (remote cache hits after `bazel clean`).
#   worker-auth  8982  same, requires `authorization: Bearer $REAPI_TOKEN`
#                      (Bazel: --remote_header="Authorization=Bearer $REAPI_TOKEN")
#   worker-tls   8983  same over TLS, self-signed cert for IP:127.0.0.1/::1/localhost in $REAPI_CA
#                      (Bazel: --remote_cache=grpcs://... --tls_certificate=$REAPI_CA plus the startup
#                      option --host_jvm_args=-Djava.library.path=/usr/share/bazel:/usr/java/packages/lib,
#                      else "Failed to init TLS infrastructure: JDK provider does not support ALPN")
#   casd         8981  buildbox-casd 1.4.30 (Debian sid `buildbox`), a second implementation.
#                      NOT usable by Bazel 7.7.1: it advertises REAPI 2.1..2.12 and Bazel 7 only
#                      speaks 2.0 ("The client supported API versions, 2.0 to 2.0, is not
#                      supported by the server"). Fine for Go clients. Either server can be filled
#                      from a shell: BAZEL_SID_EXEC=1 bazel casupload --remote=http://$REAPI_ADDR FILE
# Worker quirks a client must live with (casd has none of them):
#   - every RPC needs the build.bazel.remote.execution.v2.requestmetadata-bin header, else
#     INVALID_ARGUMENT "RequestMetadata not received from the client for ...";
#   - BatchReadBlobs is UNIMPLEMENTED (read via ByteStream; BatchUpdateBlobs works, 4 MiB max);
#   - ByteStream Read ignores read_offset/read_limit and always sends the whole blob;
#   - UpdateActionResult needs the Action and its Command in the CAS (else FAILED_PRECONDITION);
#   - it listens on all interfaces (no bind-address flag); its fixed upload staging dir
#     /tmp/remote-worker is bind-mounted from $dir/work (an empty mountpoint stays in /tmp).
# Each instance lives in $RT_BASE/rt-reapi-MODE-PORT (RT_BASE=/tmp); the blobs are plain files
# under $REAPI_CAS_DIR (worker: cas/HH/HASH and ac/HH/HASH).
# Usage in a test:  eval "$(reapi.sh start)"; ...; reapi.sh stop
set -euo pipefail
. "$(dirname "$0")/_lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
R=${BAZEL_SID_ROOT:-/opt/sid-bazel}
# The wrapper that runs commands inside the sid root (BAZEL_SID_EXEC=1).
if [ -x "$HERE/../bazel/bazel" ]; then BZ=$HERE/../bazel/bazel; else BZ=$(command -v bazel || echo bazel); fi
WD=/usr/local/share/bazel-remote-worker        # inside the root
WORKER=/usr/local/bin/bazel-remote-worker      # inside the root
TOKEN=rules-img-test-token

cmd=${1:-}
mode=${2:-worker}
case $mode in
  worker) port=${3:-8980} ;; casd) port=${3:-8981} ;;
  worker-auth) port=${3:-8982} ;; worker-tls) port=${3:-8983} ;;
  *) die "unknown mode '$mode' (worker|worker-auth|worker-tls|casd)" ;;
esac
dir=${RT_BASE:-/tmp}/rt-reapi-$mode-$port
pidfile=$dir/reapi.pid
case $mode in casd) exe=buildbox-casd; data=$dir/cache ;; *) exe=java; data=$dir/cas ;; esac
case $mode in worker-tls) scheme=grpcs ;; *) scheme=grpc ;; esac

in_root() { BAZEL_SID_EXEC=1 BAZEL_SID_BINDS="$dir" "$BZ" "$@"; }

install() {
  [ -x "$R/usr/bin/bazel" ] || die "no sid root at $R: run tools/bazel/install.sh first"
  # buildbox (casd), and netty-tcnative for TLS: the worker's netty wants the OpenSSL
  # provider. Debian ships the JNI library as libnetty-tcnative.so, but netty only
  # loads it as libnetty_tcnative.so (and refuses a symlink: "netty-tcnative
  # encountered unexpected library path"), so a renamed copy goes on the JDK's
  # default java.library.path. This also lets Bazel itself use grpcs://, which
  # otherwise fails with "JDK provider does not support ALPN protocol".
  if [ ! -x "$R/usr/bin/buildbox-casd" ] || [ ! -s "$R/usr/java/packages/lib/libnetty_tcnative.so" ]; then
    in_root sh -c 'set -e
      apt-cache show buildbox >/dev/null 2>&1 || apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        buildbox libnetty-tcnative-java libnetty-tcnative-jni >/dev/null
      mkdir -p /usr/java/packages/lib
      cp /usr/lib/*/jni/libnetty-tcnative.so /usr/java/packages/lib/libnetty_tcnative.so'
  fi
  # Bazel's remote worker, compiled with javac from the bazel-bootstrap-source
  # matching the installed bazel-bootstrap (binNMU suffix dropped) against
  # Bazel's own server jar and Debian's jars. `bazel build //src/tools/remote:worker`
  # cannot work offline (27 bazel_deps from BCR).
  local ver
  ver=$(awk '/^Package: bazel-bootstrap$/{p=1} p&&/^Version:/{print $2; exit}' "$R/var/lib/dpkg/status")
  if [ "$(cat "$R$WD/VERSION" 2>/dev/null)" = "$ver" ] && [ -x "$R$WORKER" ]; then return; fi
  log "building Bazel's remote worker for bazel-bootstrap $ver"
  local tmp; tmp=$(mktemp -d /tmp/rt-reapi-build.XXXXXX)
  in_root sh -c 'set -eu
    tmp=$1 ver=$2 WD=$3 WORKER=$4 src=${2%+b[0-9]*}
    cd "$tmp"
    apt-cache show "bazel-bootstrap-source=$src" >/dev/null 2>&1 || apt-get update -qq
    apt-get download -qq -o APT::Sandbox::User=root "bazel-bootstrap-source=$src"
    S=./usr/src/bazel-bootstrap
    dpkg-deb --fsys-tarfile bazel-bootstrap-source_*.deb |
      tar -x "$S/src/tools/remote/src/main/java" "$S/tools/java/runfiles"
    find $S/src/tools/remote/src/main/java -name "*.java" > srcs.txt
    echo $S/tools/java/runfiles/Runfiles.java >> srcs.txt
    echo $S/tools/java/runfiles/Util.java >> srcs.txt
    CP=/usr/share/bazel/A-server.jar:$(tr "\n" ":" < /usr/share/bazel/bazel_classpath_debian_depends.txt)
    mkdir classes
    javac -nowarn -XDsuppressNotes -proc:none -d classes -cp "$CP" @srcs.txt
    mkdir -p "$WD"
    jar --create --file "$WD/remote-worker.jar" -C classes .
    cat > "$WORKER" <<EOF
#!/bin/sh
# Bazel $ver remote worker (src/tools/remote), built by reapi.sh install.
CP=$WD/remote-worker.jar:/usr/share/bazel/A-server.jar:\$(tr "\\n" ":" < /usr/share/bazel/bazel_classpath_debian_depends.txt)
exec java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \${REAPI_JAVA_OPTS:-} \\
  -cp "\$CP" com.google.devtools.build.remote.worker.RemoteWorker "\$@"
EOF
    chmod 755 "$WORKER"
    echo "$ver" > "$WD/VERSION"' sh "$tmp" "$ver" "$WD" "$WORKER"
  rm -rf "$tmp"
  [ -x "$R$WORKER" ] || die "worker build failed"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
# The worker writes --pid_file only once its gRPC server is up.
healthy() { port_open && { [ "$mode" = casd ] || [ -s "$dir/worker.pid" ]; }; }

print_env() {
  echo "REAPI_ENDPOINT=$scheme://127.0.0.1:$port"
  echo "REAPI_ADDR=127.0.0.1:$port"
  echo "REAPI_IMPL=$([ "$mode" = casd ] && echo buildbox-casd || echo bazel-remote-worker)"
  echo "REAPI_CAS_DIR=$data"
  echo "REAPI_PIDFILE=$pidfile"
  echo "REAPI_LOG=$dir/reapi.log"
  case $mode in worker-auth) echo "REAPI_TOKEN=$TOKEN" ;; esac
  case $mode in worker-tls) echo "REAPI_CA=$dir/cert.pem" ;; esac
}

start() {
  if pid_alive "$pidfile" "$exe"; then log "already running (pid $(cat "$pidfile"))"; print_env; return; fi
  case $mode in casd) [ -x "$R/usr/bin/buildbox-casd" ] ;; *) [ -x "$R$WORKER" ] ;; esac ||
    die "not installed: run '$0 install'"
  port_open && die "127.0.0.1:$port is already in use"
  mkdir -p "$data"
  rm -f "$dir/worker.pid"
  local args=()
  case $mode in
    casd) args=(buildbox-casd "--bind=127.0.0.1:$port" --log-level=info "$data") ;;
    # The worker stages ByteStream uploads in the fixed /tmp/remote-worker/upload (and
    # leaves a 0-byte file there for every re-upload of a present blob); bind this
    # instance's own dir over it, in the server's private mount namespace only.
    *) mkdir -p "$dir/work"
       args=(sh -c 'mkdir -p /tmp/remote-worker && mount --bind "$0" /tmp/remote-worker && exec "$@"'
             "$dir/work" "$WORKER" "--listen_port=$port" "--cas_path=$data" "--pid_file=$dir/worker.pid") ;;
  esac
  case $mode in
    worker-auth) args+=("--expected_authorization_token=$TOKEN") ;;
    worker-tls)
      [ -s "$dir/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost' \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
      args+=("--tls_certificate=$dir/cert.pem" "--tls_private_key=$dir/key.pem") ;;
  esac
  # The wrapper execs down to the server (unshare, chroot, sh all exec), so the
  # PID start_bg records is the server's own. cd: the namespace then binds only $dir.
  (cd "$dir" && BAZEL_SID_EXEC=1 BAZEL_SID_BINDS="$dir" start_bg "$pidfile" "$dir/reapi.log" "$BZ" "${args[@]}")
  local deadline=$(( $(date +%s) + 60 ))
  until healthy; do
    live "$(cat "$pidfile")" || { tail -20 "$dir/reapi.log" >&2; die "$mode exited during startup"; }
    [ "$(date +%s)" -lt "$deadline" ] || { tail -20 "$dir/reapi.log" >&2; die "$mode on :$port did not come up"; }
    sleep 0.1
  done
  log "$mode up on $scheme://127.0.0.1:$port (pid $(cat "$pidfile"))"
  print_env
}

case $cmd in
  install) install ;;
  start) start ;;
  stop) stop_pidfile "$pidfile" "$exe" ;;
  status) pid_alive "$pidfile" "$exe" && { log "running (pid $(cat "$pidfile"))"; print_env; } ;;
  clean) stop_pidfile "$pidfile" "$exe"; rm -rf "$dir" ;;
  *) sed -n '2,36p' "$0" >&2; exit 2 ;;
esac
