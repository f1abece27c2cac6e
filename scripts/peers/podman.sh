#!/usr/bin/env bash
# The container engine of the tests and of `maestro dev` on hosts without Docker: Debian's podman
# with runc, serving the Docker API on a unix socket, configured by project-local files (nothing
# under /etc is changed), and a tiny image imported from Debian's busybox-static (no registry is
# reachable here).
#
#   scripts/peers/podman.sh setup            install packages (once), write config, import the image
#   scripts/peers/podman.sh env              print the environment podman needs (KEY=VALUE lines)
#   scripts/peers/podman.sh serve SOCKET     setup, then serve the Docker API on SOCKET (foreground)
#   scripts/peers/podman.sh podman ARGS...   run podman with the project's config (e.g. ps -a)
#
# Every step is idempotent: a second `setup` only checks. Needs root for apt-get on a fresh machine.
# Config and storage live under $MAESTRO_PODMAN_HOME (default <repo>/.tools/podman):
#   containers.conf  runtime runc, cgroupfs (crun and the systemd manager fail on this kernel),
#                    no default ulimits (the sandbox refuses raising them), events to a file
#   storage.conf     overlay storage in <home>/storage, run state in <home>/run; no private bind
#                    mount of the storage folder onto itself (skip_mount_home): podman would leave
#                    it mounted after the tests, and the checkout could then not be removed
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HOME_DIR="${MAESTRO_PODMAN_HOME:-$REPO_ROOT/.tools/podman}"
IMAGE="${MAESTRO_PODMAN_TEST_IMAGE:-localhost/maestro-busybox:test}"

export CONTAINERS_CONF="$HOME_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$HOME_DIR/storage.conf"

log() { echo "podman.sh: $*" >&2; }

install_packages() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt_install "${missing[@]}"
}

write_if_changed() {
  local file="$1" content="$2"
  if [ ! -f "$file" ] || [ "$(cat "$file")" != "$content" ]; then
    printf '%s\n' "$content" >"$file.tmp.$$"
    mv "$file.tmp.$$" "$file"
  fi
}

write_config() {
  mkdir -p "$HOME_DIR/storage" "$HOME_DIR/run" "$HOME_DIR/tmp"
  local runc
  runc="$(command -v runc)"
  write_if_changed "$CONTAINERS_CONF" "# Written by scripts/peers/podman.sh; edits are overwritten.
[containers]
default_ulimits = []
log_driver = \"k8s-file\"
netns = \"none\"

[engine]
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"
events_logfile_path = \"$HOME_DIR/run/events.log\"
runtime = \"runc\"
tmp_dir = \"$HOME_DIR/tmp\"

[engine.runtimes]
runc = [\"$runc\"]"
  write_if_changed "$CONTAINERS_STORAGE_CONF" "# Written by scripts/peers/podman.sh; edits are overwritten.
[storage]
driver = \"overlay\"
graphroot = \"$HOME_DIR/storage\"
runroot = \"$HOME_DIR/run/storage\"

[storage.options.overlay]
skip_mount_home = \"true\""
}

import_image() {
  if podman image exists "$IMAGE"; then return 0; fi
  local rootfs
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/work" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  cp /bin/busybox "$rootfs/bin/busybox"
  local applet
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
  log "importing $IMAGE from Debian's busybox-static"
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
  rm -rf "$rootfs"
}

setup() {
  install_packages
  write_config
  import_image
}

print_env() {
  echo "CONTAINERS_CONF=$CONTAINERS_CONF"
  echo "CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
  echo "MAESTRO_PODMAN_TEST_IMAGE=$IMAGE"
}

case "${1:-setup}" in
  setup)
    setup
    print_env
    echo "podman: $(podman --version), runc: $(runc --version | head -n 1)"
    ;;
  env)
    print_env
    ;;
  serve)
    SOCKET="${2:?usage: podman.sh serve SOCKET}"
    setup
    mkdir -p "$(dirname "$SOCKET")"
    rm -f "$SOCKET"
    # conmon writes an `oom` marker into its working directory when a container is OOM-killed.
    cd "$(dirname "$SOCKET")"
    SOCKET="$PWD/$(basename "$SOCKET")"
    exec podman system service --time=0 "unix://$SOCKET"
    ;;
  podman)
    shift
    exec podman "$@"
    ;;
  *)
    echo "usage: podman.sh setup | env | serve SOCKET | podman ARGS..." >&2
    exit 2
    ;;
esac
