#!/usr/bin/env bash
# Prints the path of a kubectl: the one on PATH, else one built into bin/ from
# the Go module proxy (hack/envtest/go.mod pins the version).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if command -v kubectl >/dev/null; then command -v kubectl; exit 0; fi
if [ ! -x "$root/bin/kubectl" ]; then
  echo "kubectl: none on PATH; building it from the Go module proxy" >&2
  (cd "$root/hack/envtest" && go build -trimpath -ldflags "-s -w" -o "$root/bin/kubectl" k8s.io/kubernetes/cmd/kubectl) >&2
fi
echo "$root/bin/kubectl"
