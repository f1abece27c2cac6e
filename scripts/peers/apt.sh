# Sourced by the peer installers: `apt_install PACKAGE…` installs Debian packages.
# Needs root. Refreshes the package lists once when a package is unknown (a fresh machine may have
# none). The tests install peers from parallel workers, so Maestro's installers take turns on one
# lock, and wait for any other apt or dpkg user rather than fail on its lock.
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$(basename "$0"): $* missing, and installing needs root: run 'apt-get install -y $*'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  (
    flock 9
    for package in "$@"; do
      if ! apt-cache show "$package" >/dev/null 2>&1; then
        apt-get update -qq -o DPkg::Lock::Timeout=600
        break
      fi
    done
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "$@" >/dev/null
  ) 9>"${TMPDIR:-/tmp}/maestro-apt.lock"
}
