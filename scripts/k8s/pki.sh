# Certificates and kubeconfigs of the test cluster (sourced by up.sh). One CA signs everything; files are made once
# per state dir and reused while it exists.

# node_name: the node is named after a host name that resolves to 127.0.0.1, because the apiserver reaches the
# kubelet by that name and refuses loopback IPs as node proxy targets.
node_name() {
  if [ -n "${AIRLOCK_K8S_NODE_NAME:-}" ]; then echo "$AIRLOCK_K8S_NODE_NAME"; return; fi
  local h
  h="$(hostname 2>/dev/null | tr 'A-Z' 'a-z')"
  if [ -n "$h" ] && getent ahostsv4 "$h" 2>/dev/null | awk '{ print $1 }' | grep -qx '127\.[0-9.]*'; then
    echo "$h"
  else
    echo localhost
  fi
}

# sign NAME SUBJECT EXT: a key and a certificate signed by the cluster CA. EXT is an openssl extension section body.
sign() {
  local name="$1" subject="$2" ext="$3" dir="$K8S_STATE/pki"
  [ -s "$dir/$name.crt" ] && return 0
  openssl genrsa -out "$dir/$name.key" 2048 2>/dev/null
  openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
    -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

make_pki() {
  local dir="$K8S_STATE/pki" node="$1"
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ ! -s "$dir/ca.crt" ]; then
    openssl genrsa -out "$dir/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=airlock-test-ca" -days 3650 -sha256 -out "$dir/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      2>/dev/null
  fi
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  local server="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
  sign apiserver "/CN=kube-apiserver" "$server
subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$node,IP:127.0.0.1,IP:$SERVICE_IP"
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  sign admin "/O=system:masters/CN=airlock-test-admin" "$client"
  sign controller-manager "/CN=system:kube-controller-manager" "$client"
  sign scheduler "/CN=system:kube-scheduler" "$client"
  sign kubelet "/O=system:nodes/CN=system:node:$node" "$server
subjectAltName=DNS:$node,DNS:localhost,IP:127.0.0.1"
  if [ ! -s "$dir/sa.key" ]; then
    openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
    openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  fi
  chmod 600 "$dir"/*.key
}

# kubeconfig NAME CERT: a kubeconfig for the client certificate CERT, with everything embedded so the file can be
# copied elsewhere.
kubeconfig() {
  local file="$K8S_STATE/$1.kubeconfig" cert="$2" dir="$K8S_STATE/pki"
  [ -s "$file" ] && return 0
  (umask 077 && cat >"$file") <<YAML
apiVersion: v1
kind: Config
clusters:
- name: airlock-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$dir/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 "$dir/$cert.crt")
    client-key-data: $(base64 -w0 "$dir/$cert.key")
contexts:
- name: airlock-test
  context:
    cluster: airlock-test
    user: $cert
    namespace: default
current-context: airlock-test
YAML
}

make_kubeconfigs() {
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kubelet kubelet
}
