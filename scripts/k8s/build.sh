#!/usr/bin/env bash
# Builds the cluster's binaries from the Go module proxy into the cache (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kubectl, etcd) and installs the Debian packages the node needs. Idempotent: a binary that
# exists is not rebuilt, a package that is installed is not reinstalled.
set -euo pipefail
. "$(dirname "$0")/env.sh"

install_packages() {
  local want=(containerd runc containernetworking-plugins iptables ipset iproute2 openssl busybox-static util-linux curl) missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts its own containerd service where an init system runs; the cluster runs its own instance.
}

go_env() {
  command -v go >/dev/null || die "Go (1.24 or newer) is needed to build the test cluster: https://go.dev/doc/install"
  export GOCACHE="$K8S_CACHE/gocache" GOMODCACHE="$K8S_CACHE/gomod" GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0
  export GOTOOLCHAIN=local GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
}

# A scratch module requiring k8s.io/kubernetes: upstream's `replace k8s.io/X => ./staging/...` lines only apply
# inside its own repository, so each staging module is pinned to its published v0.Y.Z twin here.
k8s_module() {
  local dir="$K8S_CACHE/src/kubernetes-$K8S_VERSION" mod
  mkdir -p "$dir"
  mod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
  [ -f "$mod" ] || die "could not download the module file of k8s.io/kubernetes v$K8S_VERSION"
  {
    echo "module airlock.local/k8s-build"
    echo
    sed -n 's/^go /go /p' "$mod" | head -n 1
    sed -n 's/^godebug /godebug /p' "$mod"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$mod" \
      | awk -v v="v0.${K8S_VERSION#1.}" '{ print "replace " $1 " => " $1 " " v }'
  } >"$dir/go.mod"
  echo "$dir"
}

# etcd gets a module of its own so its newer dependencies never change what Kubernetes is compiled against.
etcd_module() {
  local dir="$K8S_CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module airlock.local/etcd-build

go 1.24.0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
MOD
  cat >"$dir/main.go" <<'GO'
// Command etcd is upstream's etcd server entry point, built from the Go module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  echo "$dir"
}

build_k8s() {
  local missing=() b
  for b in "${K8S_BINARIES[@]}"; do [ -x "$K8S_BIN/$b" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local dir pkgs=() v="v$K8S_VERSION" minor="${K8S_VERSION#1.}"
  dir="$(k8s_module)"
  for b in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  minor="${minor%%.*}"
  local x="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    x+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "building ${missing[*]} v$K8S_VERSION (first time: 10-20 min on 2 cores)"
  mkdir -p "$K8S_BIN"
  (cd "$dir" && go build -ldflags "$x" -o "$K8S_BIN/" "${pkgs[@]}")
}

build_etcd() {
  [ -x "$K8S_BIN/etcd" ] && return 0
  local dir
  dir="$(etcd_module)"
  log "building etcd v$ETCD_VERSION"
  mkdir -p "$K8S_BIN"
  (cd "$dir" && go build -ldflags "-s -w" -o "$K8S_BIN/etcd.tmp" . && mv "$K8S_BIN/etcd.tmp" "$K8S_BIN/etcd")
}

# kube-router (its network policy firewall only) in a module of its own, like etcd.
build_kube_router() {
  [ -x "$KUBE_ROUTER_BIN" ] && return 0
  local dir="$K8S_CACHE/src/kube-router-$KUBE_ROUTER_VERSION"
  mkdir -p "$dir" "$(dirname "$KUBE_ROUTER_BIN")"
  cat >"$dir/go.mod" <<MOD
module airlock.local/kube-router-build

go 1.21

require github.com/cloudnativelabs/kube-router/v2 v$KUBE_ROUTER_VERSION
MOD
  log "building kube-router v$KUBE_ROUTER_VERSION (first time: about 5 min on 2 cores)"
  (cd "$dir" && go build -ldflags "-s -w" -o "$KUBE_ROUTER_BIN.tmp" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router &&
    mv "$KUBE_ROUTER_BIN.tmp" "$KUBE_ROUTER_BIN")
}

install_packages
if [ ! -x "$KUBE_ROUTER_BIN" ]; then
  go_env
  build_kube_router
fi
built=1
for b in "${K8S_BINARIES[@]}" etcd; do [ -x "$K8S_BIN/$b" ] || built=0; done
if [ "$built" = 0 ]; then
  go_env
  build_k8s
  build_etcd
fi
log "binaries ready in $K8S_BIN"
