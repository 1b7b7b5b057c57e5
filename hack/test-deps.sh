#!/usr/bin/env bash
# Installs what the tests need beyond Go: xmllint and the OASIS SAML 2.0
# schemas (Debian's libxml2-utils and python3-pysaml2, whose package ships
# the XSDs), used to validate rendered metadata. A no-op when present.
set -euo pipefail
schemas=/usr/lib/python3/dist-packages/saml2/data/schemas/saml-schema-metadata-2.0.xsd
if command -v xmllint >/dev/null && [ -f "$schemas" ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "test-deps: install xmllint and the SAML 2.0 metadata XSD (python3-pysaml2) by hand" >&2; exit 1
fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "test-deps: installing libxml2-utils and python3-pysaml2" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends libxml2-utils python3-pysaml2 >&2
