#!/usr/bin/env bash
# make demo: the operator's main job on a local control plane and a local
# Okta org. Starts kube-apiserver and etcd, the local Okta org and the
# manager; applies the samples and an app for an example service provider;
# waits for the apps and their SSOBindings to be Ready; configures the SP
# only from the app's connection Secret; signs in SP-initiated and
# IdP-initiated as a bound user and is refused as an unbound one; shows
# `kubectl get sso -A`; then stops everything it started.
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

step "Run the local Okta org (okta-emulator)"
TOKEN=demo-api-token-$RANDOM$RANDOM
go build -o bin/okta-emulator ./cmd/okta-emulator
go build -o bin/saml-sp ./examples/saml-sp
go build -o bin/saml-login ./hack/saml-login
go build -o bin/scim-server ./hack/scim-server
bin/okta-emulator --api-token "$TOKEN" --seed hack/demo/seed.yaml --org-name acme >"$work/okta.url" 2>"$work/okta-emulator.log" &
pids+=($!)
wait_for test -s "$work/okta.url"
ORG=$(head -1 "$work/okta.url")
echo "Okta org at $ORG (alice@example.com in Engineering; bob@example.com in no bound group)"

step "Run the manager"
bin/manager --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:18081 \
  --log-format text >"$work/manager.log" 2>&1 &
pids+=($!)
wait_for curl -fsS http://127.0.0.1:18081/readyz
echo "manager ready (/readyz answered ok)"

step "Org Secrets, then the samples (config/samples) and the example SP's app in namespace sso-demo"
"$KUBECTL" create namespace sso-demo
for org in okta-org okta-spoke-org; do
  "$KUBECTL" create secret generic "$org" -n sso-demo --from-literal=orgURL="$ORG" --from-literal=apiToken="$TOKEN" >/dev/null
done
"$KUBECTL" create secret generic druva-sso-token -n sso-demo --from-literal=token="A-16620-demo-token" >/dev/null
"$KUBECTL" apply -n sso-demo -k config/samples
"$KUBECTL" apply -n sso-demo -f hack/demo/example-sp.yaml
"$KUBECTL" wait --for=condition=Ready samlapp --all -n sso-demo --timeout 120s
"$KUBECTL" get samlapp -n sso-demo

step "SSOBindings assign the groups to the apps in Okta"
"$KUBECTL" wait --for=condition=Ready ssob --all -n sso-demo --timeout 120s
"$KUBECTL" get ssob -n sso-demo
APP_ID=$("$KUBECTL" get samlapp example-sp -n sso-demo -o jsonpath='{.status.appID}')
echo "example-sp's groups in Okta: $(curl -fsS -H "Authorization: SSWS $TOKEN" "$ORG/api/v1/apps/$APP_ID/groups" | grep -o '"id":"00g[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')"

step "Configure the example SP only from the connection Secret, and start it"
mkdir -p "$work/sp"
for key in idp-metadata.xml tls.crt tls.key; do
  "$KUBECTL" get secret example-sp-saml -n sso-demo -o jsonpath="{.data.${key//./\\.}}" | base64 -d >"$work/sp/$key"
done
echo "connection Secret keys: $("$KUBECTL" get secret example-sp-saml -n sso-demo -o go-template='{{range $k, $v := .data}}{{$k}} {{end}}')"
bin/saml-sp --addr 127.0.0.1:18090 --url http://127.0.0.1:18090 --secret-dir "$work/sp" >"$work/saml-sp.log" 2>&1 &
pids+=($!)
wait_for curl -fsS http://127.0.0.1:18090/saml/metadata

step "SP-initiated login: signed AuthnRequest, alice signs in on the org's form"
bin/saml-login --start http://127.0.0.1:18090/ --user alice@example.com --password demo-password-123

step "IdP-initiated login: from the app tile"
TILE=$("$KUBECTL" get secret example-sp-saml -n sso-demo -o jsonpath='{.data.idp-initiated-url}' | base64 -d)
bin/saml-login --start "$TILE" --basic --user alice@example.com --password demo-password-123

step "bob is in no bound group: Okta refuses him"
if bin/saml-login --start http://127.0.0.1:18090/ --user bob@example.com --password demo-password-123 2>&1; then
  echo "demo: an unbound user signed in" >&2; exit 1
fi

step "AccountSync in Match mode: the example SP's accounts (a SCIM service provider holding alice's) against Okta"
SCIM_TOKEN=demo-scim-token-$RANDOM$RANDOM
bin/scim-server --token "$SCIM_TOKEN" --user alice@example.com >"$work/scim.url" 2>"$work/scim-server.log" &
pids+=($!)
wait_for test -s "$work/scim.url"
SCIM_URL=$(head -1 "$work/scim.url")
"$KUBECTL" create secret generic example-sp-scim -n sso-demo --from-literal=token="$SCIM_TOKEN" >/dev/null
"$KUBECTL" apply -n sso-demo -f - <<YAML
apiVersion: sso.oktaop.io/v1alpha1
kind: AccountSync
metadata: {name: example-sp-accounts}
spec:
  appRef: {name: example-sp}
  mode: Match
  match: {oktaAttribute: login, targetAttribute: userName}
  target:
    scim:
      url: $SCIM_URL
      authSecretRef: {name: example-sp-scim, key: token}
YAML
"$KUBECTL" wait --for=condition=Synced acctsync/example-sp-accounts -n sso-demo --timeout 60s ||
  { "$KUBECTL" get acctsync example-sp-accounts -n sso-demo -o yaml >&2; exit 1; }
echo "summary: $("$KUBECTL" get acctsync example-sp-accounts -n sso-demo -o jsonpath='{.status.summary}')"
echo "last run: $("$KUBECTL" get acctsync example-sp-accounts -n sso-demo -o jsonpath='{.status.lastSyncTime}')"

step "Sync now: the trigger annotation runs it at once, and status echoes the value handled"
NOW=$(date +%s)
"$KUBECTL" annotate acctsync example-sp-accounts -n sso-demo sso.oktaop.io/reconcile-requested-at="$NOW" --overwrite
wait_for test "$("$KUBECTL" get acctsync example-sp-accounts -n sso-demo -o jsonpath='{.status.lastHandledReconcileAt}')" = "$NOW"
echo "lastHandledReconcileAt: $("$KUBECTL" get acctsync example-sp-accounts -n sso-demo -o jsonpath='{.status.lastHandledReconcileAt}')"

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
