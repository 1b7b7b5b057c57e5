#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 5s): make test runs a
# short round, `make fuzz FUZZTIME=10m` a long one. The seed corpora (f.Add,
# and testdata/fuzz/<Target> once a failure has been found) also run in
# every plain go test. A failing input is written to testdata/fuzz and
# reported; commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
targets=(
  "./internal/saml FuzzParseIDPMetadata"
  "./internal/okta FuzzAnswers"
  "./internal/scim FuzzServiceProviderAnswers"
  "./internal/accountsync FuzzMappings"
  "./examples/saml-sp FuzzACS"
)
for t in "${targets[@]}"; do
  read -r pkg target <<<"$t"
  echo "fuzz: $target ($pkg) for $fuzztime"
  go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 | grep -v '^fuzz: elapsed' || {
    echo "fuzz: $target failed; the input is under $pkg/testdata/fuzz/$target" >&2
    exit 1
  }
done
