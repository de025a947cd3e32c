#!/usr/bin/env bash
# A private containerd (Debian bookworm's 1.6.20) for tests, run by hand as
# root with its own config, root, state and socket (no systemd).
#
#   containerd.sh install   apt-get install containerd + runc
#   containerd.sh start     start it; prints CONTAINERD_ADDRESS=... etc.
#   containerd.sh stop      kill its tasks, then stop it by pidfile (idempotent)
#   containerd.sh status    exit 0 when running
#   containerd.sh clean     stop, unmount leftovers, delete its dir
#
# Everything lives in $RT_BASE/rt-containerd (RT_BASE=/tmp); the gRPC socket is
# $dir/containerd.sock. Snapshotters: overlayfs (default) and native both work.
# Client:  ctr -a "$CONTAINERD_ADDRESS" -n NAMESPACE ...   (the e2e uses -n rules_img)
# Note: containerd 1.6 still puts shim sockets, fifos and runc state under the
# fixed /run/containerd/{s,fifo,runc}; entries are per namespace/container.
set -euo pipefail
. "$(dirname "$0")/_lib.sh"

dir=${RT_BASE:-/tmp}/rt-containerd
sock=$dir/containerd.sock
pidfile=$dir/containerd.pid

install() {
  command -v containerd >/dev/null && command -v runc >/dev/null && return
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends containerd runc
}

write_config() {
  mkdir -p "$dir"
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
# no kubelet (CRI) and no btrfs/zfs/aufs/devmapper here
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$dir/opt"
EOF
}

print_env() {
  echo "CONTAINERD_ADDRESS=$sock"
  echo "CONTAINERD_PIDFILE=$pidfile"
  echo "CONTAINERD_LOG=$dir/containerd.log"
}

start() {
  if pid_alive "$pidfile" containerd; then log "already running (pid $(cat "$pidfile"))"; print_env; return; fi
  command -v containerd >/dev/null || die "containerd not found: run '$0 install'"
  write_config
  start_bg "$pidfile" "$dir/containerd.log" containerd --config "$dir/config.toml"
  wait_for 30 ctr -a "$sock" version || { tail -20 "$dir/containerd.log" >&2; die "containerd did not come up"; }
  log "containerd up on $sock (pid $(cat "$pidfile"))"
  print_env
}

# Kill and delete every task (container process) in every namespace, so no
# shim outlives the daemon.
kill_tasks() {
  pid_alive "$pidfile" containerd || return 0
  local ns t
  for ns in $(ctr -a "$sock" namespaces ls -q 2>/dev/null); do
    for t in $(ctr -a "$sock" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr -a "$sock" -n "$ns" tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
      ctr -a "$sock" -n "$ns" tasks delete -f "$t" >/dev/null 2>&1 || true
      log "killed task $ns/$t"
    done
  done
}

stop() { kill_tasks; stop_pidfile "$pidfile" containerd; }

clean() {
  stop
  # snapshot mounts of containers that were still running
  { grep -o " $dir/[^ ]*" /proc/self/mountinfo || true; } | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf "$dir"
}

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) pid_alive "$pidfile" containerd && { log "running (pid $(cat "$pidfile"))"; print_env; } ;;
  clean) clean ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
