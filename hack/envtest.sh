#!/usr/bin/env bash
# Prints the directory holding kube-apiserver and etcd for envtest, getting them
# the first way that works:
#   1. KUBEBUILDER_ASSETS already set and holding both binaries;
#   2. binaries already built or downloaded into bin/k8s/<version>-<os>-<arch>;
#   3. setup-envtest (downloads from the release bucket where the internet allows);
#   4. build both from the Go module proxy (hack/envtest/go.mod), ~6 min cold.
# Which way was used goes to stderr; stdout is only the directory.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=${ENVTEST_K8S_VERSION:-1.37.2}
platform="$(go env GOOS)-$(go env GOARCH)"
dir="$root/bin/k8s/$version-$platform"

has_binaries() { [ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ]; }
say() { echo "envtest: $*" >&2; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ] && has_binaries "$KUBEBUILDER_ASSETS"; then
  say "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi
if has_binaries "$dir"; then
  say "using binaries already in ${dir#$root/}"
  echo "$dir"; exit 0
fi

mkdir -p "$dir"
setup="$root/bin/setup-envtest"
if [ -x "$setup" ]; then
  # A machine without internet refuses at once; the timeout covers one that hangs.
  if downloaded=$(timeout 120 "$setup" use "$version" --bin-dir "$root/bin/k8s-download" -p path 2>/dev/null) \
     && has_binaries "$downloaded"; then
    cp "$downloaded/kube-apiserver" "$downloaded/etcd" "$dir/"
    say "downloaded with setup-envtest into ${dir#$root/}"
    echo "$dir"; exit 0
  fi
  say "setup-envtest could not download; building from the Go module proxy"
fi

say "building kube-apiserver v$version and etcd from the Go module proxy (about 6 minutes cold)"
(
  cd "$root/hack/envtest"
  go build -trimpath -ldflags "-s -w" -o "$dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "-s -w" -o "$dir/etcd" ./etcd
) >&2
say "built into ${dir#$root/}"
echo "$dir"
