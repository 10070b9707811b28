#!/usr/bin/env bash
# Stops the test cluster: exactly the processes whose PID files `up` wrote, the controller-manager first so deleted
# pods are not recreated; removes the pods' containers and sandboxes, what the kubelet leaves outside its root dir,
# and the state dir. The build cache stays.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/env.sh"

[ -d "$K8S_STATE" ] || { log "no cluster state at $K8S_STATE: nothing to stop"; exit 0; }
exec 9>"$K8S_STATE.lock"
flock 9

CTR=(ctr --address "$CONTAINERD_SOCK" --namespace k8s.io)
KUBECTL=("$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s)

# stop NAME: SIGTERM, then SIGKILL after 15 s, for the one process named by the PID file.
stop() {
  local name="$1" pid
  if ours "$name"; then
    pid="$(pid_of "$name")"
    log "stopping $name ($pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$K8S_STATE/run/$name.pid"
}

stop kube-controller-manager
stop kube-router
# With the kubelet still running, deleting the pods lets it tear down their sandboxes and networks properly.
if ours kubelet && ours kube-apiserver; then
  log "deleting pods"
  "${KUBECTL[@]}" delete pods --all --all-namespaces --grace-period=1 --wait=true --timeout=60s >/dev/null 2>&1
fi
stop kube-scheduler
stop kubelet
stop kube-apiserver
stop etcd

# Whatever the kubelet did not remove: kill the tasks, remove the containers and sandboxes.
# A sandbox's network namespace is a bind mount the CRI made; without the kubelet nobody unmounts it.
netns=()
if ours containerd; then
  for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do
    while read -r ns; do netns+=("$ns"); done < <("${CTR[@]}" containers info "$c" 2>/dev/null |
      grep -o '"/var/run/netns/cni-[0-9a-f-]*"' | tr -d '"' | sort -u)
    "${CTR[@]}" tasks kill -s SIGKILL "$c" >/dev/null 2>&1
    "${CTR[@]}" tasks delete -f "$c" >/dev/null 2>&1
    "${CTR[@]}" containers delete "$c" >/dev/null 2>&1
  done
fi
stop containerd
for ns in "${netns[@]}"; do umount "$ns" 2>/dev/null; rm -f "$ns"; done

# kube-router's iptables chains and ipsets (its firewall's only traces).
[ -x "$KUBE_ROUTER_BIN" ] && "$KUBE_ROUTER_BIN" --cleanup-config >/dev/null 2>&1 || true

# The kubelet's and CNI's leftovers outside the state dir.
for m in $(findmnt -rn -o TARGET | grep "^$K8S_STATE/" | sort -r); do umount -l "$m" 2>/dev/null; done
for link in /var/log/containers/*.log; do
  [ -L "$link" ] && case "$(readlink "$link")" in "$K8S_STATE"/*) rm -f "$link" ;; esac
done
rmdir /var/log/containers 2>/dev/null
rm -rf /var/lib/kubelet/device-plugins
rmdir /var/lib/kubelet 2>/dev/null
ip link delete "$CNI_BRIDGE" >/dev/null 2>&1
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  for table in filter nat mangle; do
    for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
      "$ipt" -t "$table" -S 2>/dev/null | grep -- "-j $chain\( \|\$\)" | sed 's/^-A /-D /' | while read -r rule; do
        eval "$ipt -t $table $rule" 2>/dev/null
      done
      "$ipt" -t "$table" -F "$chain" 2>/dev/null && "$ipt" -t "$table" -X "$chain" 2>/dev/null
    done
  done
done

# Masquerade rules CNI made for sandboxes that were never torn down: each is tagged with the network's name.
iptables -t nat -S POSTROUTING 2>/dev/null | grep -F 'name: \"airlock-test\"' | while read -r rule; do
  chain="$(sed -n 's/.* -j \(CNI-[0-9a-f]*\).*/\1/p' <<<"$rule")"
  eval "iptables -t nat ${rule/#-A /-D }" 2>/dev/null
  [ -n "$chain" ] && iptables -t nat -F "$chain" 2>/dev/null && iptables -t nat -X "$chain" 2>/dev/null
done

# The pods' cgroups (empty now that their processes are gone), deepest first.
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null
done

rm -rf "$K8S_STATE"
log "cluster stopped; state removed (build cache kept in $K8S_CACHE)"
