#!/usr/bin/env bash
# make demo: the operator on a local control plane. Starts kube-apiserver and
# etcd, installs the CRDs, runs the manager, applies the samples, shows
# `kubectl get sso -A`, then stops everything it started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/okta-sso-demo.XXXXXX")
pids=()

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $status -ne 0 ]; then
    for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $(basename "$log") (last lines)"; tail -n 20 "$log"; }; done >&2
    echo "demo: failed" >&2
  else
    echo "demo: stopped everything it started"
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# wait_for CMD...: retries CMD for up to 60 s, giving up at once if a process
# the demo started has died.
wait_for() {
  for _ in $(seq 120); do
    "$@" >/dev/null 2>&1 && return 0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "demo: a process it started exited" >&2; return 1; }; done
    sleep 0.5
  done
  echo "demo: timed out waiting for: $*" >&2; return 1
}

step "Local control plane (kube-apiserver + etcd)"
export KUBEBUILDER_ASSETS; KUBEBUILDER_ASSETS=$(hack/envtest.sh)
KUBECTL=$(hack/kubectl.sh)
go build -o bin/controlplane ./hack/controlplane
export KUBECONFIG="$work/kubeconfig"
bin/controlplane --write-kubeconfig "$KUBECONFIG" >"$work/controlplane.log" 2>&1 &
pids+=($!)
wait_for test -s "$KUBECONFIG"
wait_for "$KUBECTL" get --raw /readyz
echo "API server ready; KUBECONFIG=$KUBECONFIG"

step "Install the CRDs"
"$KUBECTL" apply -k config/crd
"$KUBECTL" wait --for condition=Established --timeout 60s \
  crd/oktasamlapps.sso.oktaop.io crd/ssobindings.sso.oktaop.io crd/accountsyncs.sso.oktaop.io

step "Run the manager"
bin/manager --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:18081 \
  --log-format text >"$work/manager.log" 2>&1 &
pids+=($!)
wait_for curl -fsS http://127.0.0.1:18081/readyz
echo "manager ready (/readyz answered ok)"

step "Apply the samples (config/samples) into namespace sso-demo"
"$KUBECTL" create namespace sso-demo
"$KUBECTL" apply -n sso-demo -k config/samples

step "An invalid object is refused at admission"
if "$KUBECTL" apply -n sso-demo -f - <<'YAML' 2>&1; then echo "demo: the API server accepted an invalid object" >&2; exit 1; fi
apiVersion: sso.oktaop.io/v1alpha1
kind: OktaSAMLApp
metadata: {name: broken}
spec:
  orgRef: {secretName: okta-org}
  label: Broken
  serviceProvider: {entityID: broken, acsURL: "http://sp.example.com/acs"}
YAML

step "kubectl get sso -A"
"$KUBECTL" get sso -A
