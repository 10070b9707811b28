#!/usr/bin/env bash
# The test suite's single-node Kubernetes cluster, built from the Go module proxy and Debian packages.
#   cluster.sh build    build the binaries into the cache (once; fast when cached) and install Debian packages
#   cluster.sh up       start the cluster, or reuse the running one; prints the admin kubeconfig path
#   cluster.sh down     stop what `up` started and remove the cluster's state (the build cache stays)
#   cluster.sh status   say whether it runs (exit 0) or not (exit 1)
#   cluster.sh kubectl ARGS...   the cluster's kubectl with the admin kubeconfig
#   cluster.sh ctr ARGS...       ctr on the cluster's containerd, namespace k8s.io (images ls, images rm ...)
# Settings: AIRLOCK_CACHE_DIR (build cache root), AIRLOCK_K8S_STATE (state dir, default /tmp/airlock-test-k8s),
# AIRLOCK_K8S_PORT_BASE (100 ports from here, default 46000), AIRLOCK_REGISTRY_PORT (default 5000).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

case "${1:-}" in
  build) exec bash "$here/build.sh" ;;
  up) exec bash "$here/up.sh" ;;
  down) exec bash "$here/down.sh" ;;
  kubectl)
    . "$here/env.sh"
    shift
    exec "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"
    ;;
  ctr)
    . "$here/env.sh"
    shift
    exec ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"
    ;;
  status)
    . "$here/env.sh"
    if [ -s "$KUBECONFIG_ADMIN" ] && [ -x "$K8S_BIN/kubectl" ] &&
      "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=5s get --raw /readyz >/dev/null 2>&1; then
      echo "running: kubeconfig $KUBECONFIG_ADMIN"
      "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=5s get nodes -o wide 2>/dev/null || true
      exit 0
    fi
    echo "not running (state dir $K8S_STATE)"
    exit 1
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
