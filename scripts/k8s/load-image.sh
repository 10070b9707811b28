#!/usr/bin/env bash
# Loads Docker images into the test cluster's containerd, for a cluster without a registry. Pods then run them
# with imagePullPolicy Never or IfNotPresent. A name without a registry is stored as docker.io/<name>
# (docker.io/library/<name> for a single-word name). Usage: load-image.sh <image>...
set -euo pipefail
. "$(dirname "$0")/env.sh"

[ $# -gt 0 ] || { echo "usage: load-image.sh <image>..." >&2; exit 2; }
[ -S "$CONTAINERD_SOCK" ] || die "the test cluster's containerd is not running: run scripts/k8s/cluster.sh up"
for image in "$@"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "docker has no image '$image' (build or pull it first)"
done
log "loading $* into the cluster's containerd"
docker save "$@" | ctr --address "$CONTAINERD_SOCK" --namespace k8s.io images import - >&2
