#!/usr/bin/env bash
# make demo: the operator's main job on a local control plane and a local
# Okta org. Starts kube-apiserver and etcd; installs the Helm chart's CRDs;
# runs the local Okta org, the manager and a SCIM service provider; applies
# examples/sso (the backup portal with a Match-mode daily AccountSync, a
# vendor app with a secret token attribute, an SSOBinding each); waits for
# Ready; configures the portal (examples/saml-sp) only from its connection
# Secret; signs in SP-initiated and IdP-initiated as a bound user and is
# refused as an unbound one; triggers sync now and prints the summary; wires
# a second local org as a spoke (examples/federation) and signs a spoke user
# in to the portal through the tile the operator made; shows
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

step "Install the CRDs from the Helm chart (charts/okta-sso-operator)"
hack/tools.sh helm
crds=()
for f in charts/okta-sso-operator/templates/crds/*.yaml; do crds+=(--show-only "templates/crds/$(basename "$f")"); done
bin/helm template okta-sso-operator charts/okta-sso-operator "${crds[@]}" | "$KUBECTL" apply -f -
"$KUBECTL" wait --for condition=Established --timeout 60s crd -l app.kubernetes.io/part-of=okta-sso-operator

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
  --cluster-resource-namespace okta-sso-operator-system --allow-loopback-targets --log-format text >"$work/manager.log" 2>&1 &
pids+=($!)
wait_for curl -fsS http://127.0.0.1:18081/readyz
echo "manager ready (/readyz answered ok)"

step "The backup portal's SCIM endpoint (holding alice's account) on 127.0.0.1:18091"
SCIM_TOKEN=demo-scim-token-$RANDOM$RANDOM
bin/scim-server --addr 127.0.0.1:18091 --token "$SCIM_TOKEN" --user alice@example.com >"$work/scim.url" 2>"$work/scim-server.log" &
pids+=($!)
wait_for test -s "$work/scim.url"

step "The platform team connects the org once: its token in the operator's namespace, a ClusterOktaOrg for team namespaces and what they may do there"
"$KUBECTL" create namespace okta-sso-operator-system
"$KUBECTL" create secret generic okta-admin -n okta-sso-operator-system --from-literal=token="$TOKEN" >/dev/null
cluster_org() { # name url secret
  "$KUBECTL" apply -f - <<YAML
apiVersion: sso.oktaop.io/v1alpha1
kind: ClusterOktaOrg
metadata: {name: $1}
spec:
  url: $2
  credentials: {apiToken: {name: $3, key: token}}
  conditions: [{namespaces: [sso-demo]}]
  tenants:                        # docs/orgs.md#tenant-policy
    - namespaces: [sso-demo]
      identityProviders: Allowed  # the hub-and-spoke step makes one
      provisioning: Allowed       # and provisions the spoke's users into this org
      groups: {deny: ["*admin*"]} # and never Everyone, by default
      deletionPolicy: Delete
YAML
}
cluster_org company "$ORG" okta-admin

step "A team namespace with no Okta credential: its own Secrets (from a secret store in a real cluster), then examples/sso"
"$KUBECTL" create namespace sso-demo
"$KUBECTL" create secret generic vendor-sso-token -n sso-demo --from-literal=token="A-16620-demo-token" >/dev/null
"$KUBECTL" create secret generic backup-portal-scim -n sso-demo --from-literal=token="$SCIM_TOKEN" >/dev/null
"$KUBECTL" apply -n sso-demo -k examples/sso
"$KUBECTL" wait --for=condition=Ready samlapp --all -n sso-demo --timeout 120s
"$KUBECTL" get samlapp -n sso-demo

step "SSOBindings assign the groups to the apps in Okta"
"$KUBECTL" wait --for=condition=Ready ssob --all -n sso-demo --timeout 120s
"$KUBECTL" get ssob -n sso-demo
APP_ID=$("$KUBECTL" get samlapp backup-portal -n sso-demo -o jsonpath='{.status.appID}')
echo "backup-portal's groups in Okta: $(curl -fsS -H "Authorization: SSWS $TOKEN" "$ORG/api/v1/apps/$APP_ID/groups" | grep -o '"id":"00g[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')"

step "Configure the backup portal (examples/saml-sp) only from its connection Secret, and start it"
mkdir -p "$work/sp"
for key in idp-metadata.xml tls.crt tls.key; do
  "$KUBECTL" get secret backup-portal-saml -n sso-demo -o jsonpath="{.data.${key//./\\.}}" | base64 -d >"$work/sp/$key"
done
echo "connection Secret keys: $("$KUBECTL" get secret backup-portal-saml -n sso-demo -o go-template='{{range $k, $v := .data}}{{$k}} {{end}}')"
bin/saml-sp --addr 127.0.0.1:18090 --url http://127.0.0.1:18090 --secret-dir "$work/sp" >"$work/saml-sp.log" 2>&1 &
pids+=($!)
wait_for curl -fsS http://127.0.0.1:18090/saml/metadata

step "SP-initiated login: signed AuthnRequest, alice signs in on the org's form"
bin/saml-login --start http://127.0.0.1:18090/ --user alice@example.com --password demo-password-123

step "IdP-initiated login: from the app tile"
TILE=$("$KUBECTL" get secret backup-portal-saml -n sso-demo -o jsonpath='{.data.idp-initiated-url}' | base64 -d)
bin/saml-login --start "$TILE" --basic --user alice@example.com --password demo-password-123

step "bob is in no bound group: Okta refuses him"
if bin/saml-login --start http://127.0.0.1:18090/ --user bob@example.com --password demo-password-123 2>&1; then
  echo "demo: an unbound user signed in" >&2; exit 1
fi

step "AccountSync in Match mode: the portal's accounts (its SCIM endpoint holds alice's) against Okta"
"$KUBECTL" apply -n sso-demo -f examples/sso/backup-portal-accounts.yaml
"$KUBECTL" wait --for=condition=Synced acctsync/backup-portal-accounts -n sso-demo --timeout 60s ||
  { "$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o yaml >&2; exit 1; }
echo "summary: $("$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o jsonpath='{.status.summary}')"
echo "unmatched: $("$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o jsonpath='{.status.unmatched}')"
echo "last run: $("$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o jsonpath='{.status.lastSyncTime}'), next: $("$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o jsonpath='{.status.nextSyncTime}')"

step "Sync now: the trigger annotation runs it at once, and status echoes the value handled"
NOW=$(date +%s)
"$KUBECTL" annotate acctsync backup-portal-accounts -n sso-demo sso.oktaop.io/reconcile-requested-at="$NOW" --overwrite
wait_for test "$("$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o jsonpath='{.status.lastHandledReconcileAt}')" = "$NOW"
echo "lastHandledReconcileAt: $("$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o jsonpath='{.status.lastHandledReconcileAt}')"
echo "summary: $("$KUBECTL" get acctsync backup-portal-accounts -n sso-demo -o jsonpath='{.status.summary}')"

step "Hub and spoke: a second local org (the spoke), wired to this one (the hub) with one apply of examples/federation"
SPOKE_TOKEN=demo-spoke-token-$RANDOM$RANDOM
bin/okta-emulator --api-token "$SPOKE_TOKEN" --seed hack/demo/spoke-seed.yaml --org-name spoke >"$work/spoke.url" 2>"$work/spoke-emulator.log" &
pids+=($!)
wait_for test -s "$work/spoke.url"
SPOKE=$(head -1 "$work/spoke.url")
"$KUBECTL" create secret generic okta-spoke-admin -n okta-sso-operator-system --from-literal=token="$SPOKE_TOKEN" >/dev/null
cluster_org spoke "$SPOKE" okta-spoke-admin
"$KUBECTL" apply -n sso-demo -k examples/federation
"$KUBECTL" wait --for=condition=Ready samlidp/spoke samlapp/hub-org ssob/hub-org-engineering ssob/backup-portal-spoke-users -n sso-demo --timeout 120s
"$KUBECTL" get samlidp -n sso-demo -o custom-columns=NAME:.metadata.name,ACS:.status.acsURL,AUDIENCE:.status.audience,TILES:.status.sharedApps[*].bookmarkAppID
BOOKMARK=$("$KUBECTL" get samlidp spoke -n sso-demo -o jsonpath='{.status.sharedApps[0].bookmarkAppID}')
TILE=$(curl -fsS -H "Authorization: SSWS $SPOKE_TOKEN" "$SPOKE/api/v1/apps/$BOOKMARK" | grep -o '"href":"[^"]*/home/bookmark/[^"]*"' | cut -d'"' -f4)
echo "dana in the hub before she ever signs in (provisioned by the spoke's Org2Org app): $(curl -fsS -H "Authorization: SSWS $TOKEN" "$ORG/api/v1/users/dana@example.com" | grep -o '"status":"[^"]*"')"
echo "dana (spoke) clicks the backup portal's tile in the spoke: $TILE"
bin/saml-login --start "$TILE" --basic --user dana@example.com --password demo-password-123

step "A namespace the ClusterOktaOrg does not allow is refused, with no Okta call"
"$KUBECTL" create namespace sso-other
"$KUBECTL" apply -n sso-other -f - <<'YAML'
apiVersion: sso.oktaop.io/v1alpha1
kind: OktaSAMLApp
metadata: {name: grab}
spec:
  orgRef: {kind: ClusterOktaOrg, name: company}
  label: Not allowed
  serviceProvider: {entityID: other, acsURL: "http://127.0.0.1:1/acs"}
YAML
wait_for test "$("$KUBECTL" get samlapp grab -n sso-other -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = OrgNotAllowed
echo "sso-other/grab: $("$KUBECTL" get samlapp grab -n sso-other -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"
"$KUBECTL" get clusteroktaorgs

step "The tenant policy refuses what the team was not granted (binding Everyone), writing nothing to Okta"
"$KUBECTL" apply -n sso-demo -f - <<'YAML'
apiVersion: sso.oktaop.io/v1alpha1
kind: SSOBinding
metadata: {name: everyone}
spec:
  appRef: {name: backup-portal}
  subjects: [{kind: Group, name: Everyone}]
YAML
wait_for test "$("$KUBECTL" get ssob everyone -n sso-demo -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = PolicyDenied
echo "sso-demo/everyone: $("$KUBECTL" get ssob everyone -n sso-demo -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"
"$KUBECTL" delete ssob everyone -n sso-demo >/dev/null

step "An invalid object is refused at admission"
if "$KUBECTL" apply -n sso-demo -f - <<'YAML' 2>&1; then echo "demo: the API server accepted an invalid object" >&2; exit 1; fi
apiVersion: sso.oktaop.io/v1alpha1
kind: OktaSAMLApp
metadata: {name: broken}
spec:
  orgRef: {kind: ClusterOktaOrg, name: company}
  label: Broken
  serviceProvider: {entityID: broken, acsURL: "http://sp.example.com/acs"}
YAML

step "kubectl get sso -A"
"$KUBECTL" get sso -A

step "Sign in as a person would, in a browser"
echo "My Apps: $ORG/app/UserHome (sign in as alice@example.com, password demo-password-123; her tiles open the apps)"
echo "the example SP: http://127.0.0.1:18090/ (SP-initiated: it sends you to the org's sign-in page; bob@example.com is refused)"
echo "sign out: $ORG/login/signout"
if [ -n "${KEEP:-}" ]; then
  echo "KEEP is set: the local orgs, the control plane, the manager and the example SP keep running until Ctrl-C"
  while true; do sleep 3600; done
fi
