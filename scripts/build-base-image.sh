#!/usr/bin/env bash
# Builds Airlock's local base image (Debian bookworm, minbase) with debootstrap + `docker import`, once: an
# existing tag is reused. The Debian mirror is read from this machine's apt sources at run time (or taken from
# AIRLOCK_DEBIAN_MIRROR), so the image's apt can install an environment's packages.txt from the same mirror.
# Usage: build-base-image.sh [tag] [suite]   (default airlock/base:bookworm and bookworm; AIRLOCK_FORCE=1 rebuilds)
# Other suites make bases with other Python versions for Python environments, e.g.
#   build-base-image.sh airlock/base:trixie trixie      (Python 3.13)
#   build-base-image.sh airlock/base:bullseye bullseye  (Python 3.9)
set -euo pipefail

tag="${1:-airlock/base:bookworm}"
suite="${2:-bookworm}"

# One at a time: parallel test files may all call this; the later ones wait and then reuse the result.
if command -v flock >/dev/null 2>&1; then exec 9>"${TMPDIR:-/tmp}/airlock-base-image.lock"; flock 9; fi
case "$suite" in *[!a-z]*|"") echo "build-base-image: suite \"$suite\" is not a Debian suite name such as bookworm or trixie" >&2; exit 2;; esac

if [ "${AIRLOCK_FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag already exists"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
  echo "build-base-image: need root to run '$*' (run this script as root or install sudo)" >&2; exit 1; fi; }

# First Debian archive URI from the apt sources (deb822 files first, then one-line files), skipping security.
find_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")"
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } else break } }' "$f")"
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
}

mirror="${AIRLOCK_DEBIAN_MIRROR:-$(find_mirror)}"
if [ -z "$mirror" ]; then
  echo "build-base-image: no Debian mirror found in the apt sources; set AIRLOCK_DEBIAN_MIRROR to one" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "installing debootstrap with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

root="$(mktemp -d "${TMPDIR:-/tmp}/airlock-base.XXXXXX")"
cleanup() { as_root rm -rf "$root"; }
trap cleanup EXIT

echo "debootstrap $suite from $mirror into $root"
# ca-certificates lets environments whose packages.txt names https sources work without another layer.
as_root debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
  echo "build-base-image: debootstrap failed; last lines of $root.log:" >&2; tail -n 30 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# Smaller image; apt lists are fetched again by builds that install packages.
as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
as_root tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "airlock base image: debian $suite minbase" - "$tag" >/dev/null
echo "built base image $tag"
