#!/usr/bin/env bash
# Fails when generated files are stale, code is not gofmt'ed, or go vet finds
# something. Generated files are compared before and after `make generate`, so
# the check works on uncommitted work too; a failure leaves them regenerated.
set -euo pipefail
cd "$(dirname "$0")/.."

generated() {
  { find api config/crd/bases config/rbac -name 'zz_generated.*.go' -o -path 'config/crd/bases/*.yaml' -o -name role.yaml
    find charts/okta-sso-operator/templates/crds charts/okta-sso-operator/files -type f
    find config/argocd -name '*.lua' -o -name argocd-cm.yaml; echo docs/argocd.md
    echo docs/api-reference.md; } | sort | xargs -r sha256sum 2>/dev/null
}

before=$(generated)
make --no-print-directory generate >/dev/null
after=$(generated)
if [ "$before" != "$after" ]; then
  echo "verify: generated files were out of date (now regenerated; review and commit them):"
  diff <(echo "$before") <(echo "$after") | sed -n 's/^[<>] [0-9a-f]*  /  /p' | sort -u
  exit 1
fi

unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go' | grep -v '^hack/envtest/'))
if [ -n "$unformatted" ]; then
  echo "verify: gofmt needed on:"; echo "$unformatted"; exit 1
fi

# A clone has nothing beside it: tests, scripts and make targets read only
# the repository (the reference data they need is copied into testdata).
# (The pattern's last letter is bracketed so this script does not match itself.)
outside=$(git grep -n -I -e '\.\./share[d]' -- ':!*.md' || true)
if [ -n "$outside" ]; then
  echo "verify: these read the shared folder beside the repository, which a clone does not have:"; echo "$outside"; exit 1
fi

go vet ./...
echo "verify: generated files, gofmt, go vet and self-containment are clean"
