# Configuration files of the test cluster's node (sourced by up.sh): containerd, its registry hosts, the CNI
# network and the kubelet. Rewritten on every start so a changed script takes effect without a teardown.

PAUSE_IMAGE="localhost/airlock-pause:1"

write_containerd_config() {
  local dir="$K8S_STATE/containerd" reg="127.0.0.1:$REGISTRY_PORT"
  mkdir -p "$dir/root" "$dir/state" "$dir/certs.d/$reg" "$dir/certs.d/localhost:$REGISTRY_PORT"
  # restrict_oom_score_adj: root here cannot lower OOM scores, and without it every pod sandbox fails to start.
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[metrics]
  address = "127.0.0.1:$CONTAINERD_METRICS_PORT"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
TOML
  # The local registry speaks plain http: pods name images 127.0.0.1:$REGISTRY_PORT/<name>:<tag>.
  local host
  for host in "$reg" "localhost:$REGISTRY_PORT"; do
    cat >"$dir/certs.d/$host/hosts.toml" <<TOML
server = "http://$host"

[host."http://$host"]
  capabilities = ["pull", "resolve"]
TOML
  done
}

write_cni_config() {
  mkdir -p "$K8S_STATE/cni/net.d" "$K8S_STATE/cni/ipam"
  cat >"$K8S_STATE/cni/net.d/10-airlock.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "airlock-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$K8S_STATE/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
}

write_kubelet_config() {
  local pki="$K8S_STATE/pki"
  mkdir -p "$K8S_STATE/kubelet" "$K8S_STATE/pod-logs"
  # cgroupfs + failCgroupV1: this host has cgroup v1 and no systemd. Image GC is off and eviction thresholds are
  # low because images loaded into the node can never be pulled back.
  cat >"$K8S_STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $pki/ca.crt
authorization:
  mode: Webhook
podLogsDir: $K8S_STATE/pod-logs
resolvConf: /etc/resolv.conf
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
serializeImagePulls: false
maxPods: 110
YAML
}

# The pod sandbox's image, made locally: busybox's shell as PID 1 that exits on SIGTERM and otherwise sleeps.
# Written in the format `docker save` produces so `ctr images import` loads it.
import_pause_image() {
  if "${CTR[@]}" images ls -q | grep -qx "$PAUSE_IMAGE"; then return 0; fi
  local busybox=/bin/busybox dir arch  # busybox-static's path: the image has no libc
  [ -x "$busybox" ] || die "busybox-static is missing: run scripts/k8s/cluster.sh build"
  arch="$(dpkg --print-architecture)"
  dir="$(mktemp -d)"
  mkdir -p "$dir/rootfs/bin"
  cp "$busybox" "$dir/rootfs/bin/busybox"
  tar -C "$dir/rootfs" --owner=0 --group=0 --numeric-owner -cf "$dir/layer.tar" bin
  local diff
  diff="$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)"
  cat >"$dir/config.json" <<JSON
{"architecture":"$arch","os":"linux","config":{"Entrypoint":["/bin/busybox","sh","-c","trap 'exit 0' TERM INT; while :; do /bin/busybox sleep 3600 & wait \$!; done"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff"]}}
JSON
  printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]\n' "$PAUSE_IMAGE" >"$dir/manifest.json"
  tar -C "$dir" -cf "$dir/image.tar" manifest.json config.json layer.tar
  "${CTR[@]}" images import "$dir/image.tar" >/dev/null
  rm -rf "$dir"
}
