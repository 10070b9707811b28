# Shared settings of the test Kubernetes cluster scripts (sourced, not run). Everything built lives in the cache
# outside the clone; everything a running cluster writes lives in the state dir.
K8S_VERSION="${AIRLOCK_K8S_VERSION:-1.34.4}"     # 1.35 refuses cgroup v1 hosts: stay on 1.34.x
ETCD_VERSION="${AIRLOCK_ETCD_VERSION:-3.6.16}"
K8S_CACHE="${AIRLOCK_CACHE_DIR:-$HOME/.cache/airlock}/k8s"
K8S_BIN="$K8S_CACHE/v$K8S_VERSION/bin"
K8S_STATE="${AIRLOCK_K8S_STATE:-/tmp/airlock-test-k8s}"
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
# The NetworkPolicy enforcer: kube-router with only its firewall (the CNI bridge plugin enforces no policy).
KUBE_ROUTER_VERSION="${AIRLOCK_KUBE_ROUTER_VERSION:-2.1.0}"
KUBE_ROUTER_BIN="$K8S_CACHE/kube-router-v$KUBE_ROUTER_VERSION/kube-router"

# Ports: one block so the cluster never collides with other local services. The registry is the one
# scripts/setup-registry.sh runs.
K8S_PORT_BASE="${AIRLOCK_K8S_PORT_BASE:-46000}"
APISERVER_PORT=$((K8S_PORT_BASE + 0))
ETCD_CLIENT_PORT=$((K8S_PORT_BASE + 1))
ETCD_PEER_PORT=$((K8S_PORT_BASE + 2))
KUBELET_PORT=$((K8S_PORT_BASE + 3))
KUBELET_HEALTHZ_PORT=$((K8S_PORT_BASE + 4))
CONTROLLER_MANAGER_PORT=$((K8S_PORT_BASE + 5))
SCHEDULER_PORT=$((K8S_PORT_BASE + 6))
ETCD_METRICS_PORT=$((K8S_PORT_BASE + 7))
CONTAINERD_METRICS_PORT=$((K8S_PORT_BASE + 8))
KUBE_ROUTER_HEALTH_PORT=$((K8S_PORT_BASE + 9))
KUBELET_READONLY_PORT=0
REGISTRY_PORT="${AIRLOCK_REGISTRY_PORT:-5000}"

POD_CIDR="${AIRLOCK_K8S_POD_CIDR:-10.244.0.0/24}"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1"             # the first address of SERVICE_CIDR: the kubernetes service
CNI_BRIDGE="airlock-cni0"
CONTAINERD_SOCK="$K8S_STATE/containerd/containerd.sock"
KUBECONFIG_ADMIN="$K8S_STATE/admin.kubeconfig"

log() { echo "k8s: $*" >&2; }
die() { echo "k8s: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "need root to run '$*' (run as root or install sudo)"; fi
}

pid_of() { cat "$K8S_STATE/run/$1.pid" 2>/dev/null || true; }

# ours NAME: the PID file of component NAME names a live process running the binary NAME (a recycled PID is not).
ours() {
  local pid
  pid="$(pid_of "$1")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1 | grep -q "/$1\$"
}
