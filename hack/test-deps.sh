#!/usr/bin/env bash
# Installs what the tests need beyond Go, from Debian's packages: xmllint and
# the OASIS SAML 2.0 schemas (libxml2-utils and python3-pysaml2, whose package
# ships the XSDs), used to validate rendered metadata; and Chromium, which the
# browser suite (test/browser) drives. A no-op when present.
set -euo pipefail
schemas=/usr/lib/python3/dist-packages/saml2/data/schemas/saml-schema-metadata-2.0.xsd
packages=()
command -v xmllint >/dev/null || packages+=(libxml2-utils)
[ -f "$schemas" ] || packages+=(python3-pysaml2)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "${CHROMIUM:-}" ] || packages+=(chromium fonts-liberation)
if [ ${#packages[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "test-deps: install by hand: ${packages[*]} (or their equivalents)" >&2; exit 1
fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "test-deps: installing ${packages[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
