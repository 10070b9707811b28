#!/usr/bin/env bash
# Starts the single-node test cluster, or reuses the one that runs: each component is started only when its PID
# file names no live process, then the script waits until the node is Ready and the default service account exists.
# Prints the admin kubeconfig path as its only stdout line; progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"
. "$here/pki.sh"
. "$here/configs.sh"

for b in "${K8S_BINARIES[@]}" etcd; do
  [ -x "$K8S_BIN/$b" ] || die "$K8S_BIN/$b is missing: run scripts/k8s/cluster.sh build first"
done
[ -x "$KUBE_ROUTER_BIN" ] || die "$KUBE_ROUTER_BIN is missing: run scripts/k8s/cluster.sh build first"
for b in containerd runc ctr iptables ipset openssl; do
  command -v "$b" >/dev/null || die "$b is missing: run scripts/k8s/cluster.sh build first (it installs it)"
done
[ "$(id -u)" = 0 ] || die "the test cluster runs containerd and a kubelet: run this as root"

# One caller at a time: the others wait here, then find the cluster running and reuse it. The lock lives beside the
# state dir because `down` removes the dir.
mkdir -p "$(dirname "$K8S_STATE")"
exec 9>"$K8S_STATE.lock"
flock 9
mkdir -p "$K8S_STATE/run" "$K8S_STATE/logs"

NODE="$(node_name)"
CTR=(ctr --address "$CONTAINERD_SOCK" --namespace k8s.io)
KUBECTL=("$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
PKI="$K8S_STATE/pki"

# start NAME BINARY ARGS...: runs the component detached in its own session (it outlives the caller) unless it runs.
# BINARY's file name is NAME.
start() {
  local name="$1" bin="$2"
  shift 2
  ours "$name" && return 0
  log "starting $name"
  setsid nohup "$bin" "$@" >>"$K8S_STATE/logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$K8S_STATE/run/$name.pid"
}

# wait_for WHAT SECONDS LOG CMD...: polls CMD until it succeeds; on timeout shows the component's log.
wait_for() {
  local what="$1" secs="$2" logname="$3"
  shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "k8s: $what not ready after ${secs}s; last lines of $K8S_STATE/logs/$logname.log:" >&2
      tail -n 25 "$K8S_STATE/logs/$logname.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

api_ready() {
  curl -fsS --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz"
}
node_ready() {
  [ "$("${KUBECTL[@]}" get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' \
    --request-timeout=5s 2>/dev/null)" = True ]
}

make_pki "$NODE"
make_kubeconfigs
write_containerd_config
write_cni_config
write_kubelet_config

start containerd "$(command -v containerd)" --config "$K8S_STATE/containerd/config.toml" --log-level warn
wait_for containerd 30 containerd "${CTR[@]}" version
import_pause_image

start etcd "$K8S_BIN/etcd" --name airlock-test --data-dir "$K8S_STATE/etcd" --unsafe-no-fsync \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "airlock-test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT" --log-level warn
wait_for etcd 30 etcd curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

# The apiserver reaches the kubelet by host name; endpoints of the kubernetes service would be a loopback address
# (invalid), and pods cannot reach it anyway, so that reconciler is off.
start kube-apiserver "$K8S_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address 127.0.0.1 \
  --endpoint-reconciler-type none --service-cluster-ip-range "$SERVICE_CIDR" \
  --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$PKI/apiserver-kubelet-client.key" --kubelet-certificate-authority "$PKI/ca.crt" \
  --kubelet-preferred-address-types Hostname,InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
  --profiling=false --v=1
wait_for kube-apiserver 90 kube-apiserver api_ready

start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$K8S_STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$K8S_STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$K8S_STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" --leader-elect=false \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --use-service-account-credentials=true --profiling=false --v=1
start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$K8S_STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$K8S_STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$K8S_STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false --profiling=false --v=1
# No --node-ip: the kubelet refuses a loopback one. The apiserver dials it by host name, which resolves to 127.0.0.1.
start kubelet "$K8S_BIN/kubelet" --config "$K8S_STATE/kubelet.yaml" --kubeconfig "$K8S_STATE/kubelet.kubeconfig" \
  --root-dir "$K8S_STATE/kubelet" --hostname-override "$NODE" --v=1

wait_for "node $NODE" 120 kubelet node_ready
# NetworkPolicy enforcement: kube-router's firewall alone (no routing, no service proxy, no CNI of its own). It
# programs iptables for the pods of this node that policies select; pods no policy selects are left alone.
start kube-router "$KUBE_ROUTER_BIN" --kubeconfig "$KUBECONFIG_ADMIN" --hostname-override "$NODE" \
  --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
  --service-cluster-ip-range "$SERVICE_CIDR" --health-port "$KUBE_ROUTER_HEALTH_PORT" --metrics-port 0 --v=1
wait_for kube-router 60 kube-router curl -fsS --max-time 2 "http://127.0.0.1:$KUBE_ROUTER_HEALTH_PORT/healthz"
wait_for "default service account" 60 kube-controller-manager "${KUBECTL[@]}" get serviceaccount default -n default
log "cluster ready (node $NODE, registry for pods: 127.0.0.1:$REGISTRY_PORT)"
echo "$KUBECONFIG_ADMIN"
