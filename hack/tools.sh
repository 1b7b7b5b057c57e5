#!/usr/bin/env bash
# Installs the project's pinned tools into bin/ with `go install`, skipping any
# already there at the right version. Usage: hack/tools.sh [tool ...]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"

declare -A pkg=(
  [controller-gen]=sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
  [setup-envtest]=sigs.k8s.io/controller-runtime/tools/setup-envtest@v0.25.1
  [helm]=helm.sh/helm/v3/cmd/helm@v3.22.0
)

install_tool() {
  local name=$1 spec=${pkg[$1]}
  local stamp="$bin/.$name-${spec##*@}"
  if [ -x "$bin/$name" ] && [ -f "$stamp" ]; then return; fi
  echo "tools: installing $spec" >&2
  GOBIN="$bin" go install "$spec"
  rm -f "$bin/.$name-"*
  touch "$stamp"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=("${!pkg[@]}")
for t in "${tools[@]}"; do install_tool "$t"; done
