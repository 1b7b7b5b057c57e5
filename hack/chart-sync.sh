#!/usr/bin/env bash
# Syncs what the chart shares with config/ (run by `make generate`, so
# `make verify` fails when the chart is behind):
# - each CRD in config/crd/bases becomes templates/crds/<file>, installed when
#   crds.enabled and kept on uninstall when crds.keep;
# - the rules controller-gen wrote to config/rbac/role.yaml become
#   files/manager-rules.yaml, which the chart's ClusterRole or per-namespace
#   Roles use, so the chart grants exactly what the markers say.
set -euo pipefail
cd "$(dirname "$0")/.."
chart=charts/okta-sso-operator

rm -f "$chart"/templates/crds/*.yaml
for crd in config/crd/bases/*.yaml; do
  out="$chart/templates/crds/$(basename "$crd")"
  {
    echo "# Generated from $crd by hack/chart-sync.sh; do not edit."
    echo '{{- if .Values.crds.enabled }}'
    awk '
      /^---$/ { next }
      { print }
      /^  annotations:$/ && !done {
        print "    {{- if .Values.crds.keep }}"
        print "    helm.sh/resource-policy: keep"
        print "    {{- end }}"
        done = 1
      }
      /^  name: / && !labelled {
        print "  labels:"
        print "    {{- include \"okta-sso-operator.labels\" . | nindent 4 }}"
        labelled = 1
      }
    ' "$crd"
    echo '{{- end }}'
  } > "$out"
done

{
  echo "# Generated from config/rbac/role.yaml by hack/chart-sync.sh; do not edit."
  sed -n '/^rules:$/,$p' config/rbac/role.yaml | tail -n +2
} > "$chart/files/manager-rules.yaml"
