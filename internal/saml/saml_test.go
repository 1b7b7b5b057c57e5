package saml

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oktaop/okta-sso-operator/internal/keys"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func spCertificate(t *testing.T) []byte {
	t.Helper()
	pemBytes, err := os.ReadFile("testdata/sp.crt")
	if err != nil {
		t.Fatal(err)
	}
	return pemBytes
}

func TestRenderSPMetadata(t *testing.T) {
	cert, err := keys.ParseCertificatePEM(spCertificate(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]SP{
		"vendor": {
			EntityID: "druva-cloud", ACS: []ACS{{URL: "https://cloud.druva.com/wrsaml/consume"}},
			NameIDFormat: NameIDFormats["EmailAddress"], WantAssertionsSigned: true,
		},
		"backup-portal": {
			EntityID: "https://backup.example.com/saml/metadata",
			ACS:      []ACS{{URL: "https://backup.example.com/saml/acs"}, {URL: "https://backup-eu.example.com/saml/acs", Index: 1}},
			SLOURL:   "https://backup.example.com/saml/slo", NameIDFormat: NameIDFormats["Persistent"],
			Certificate: cert, AuthnRequestsSigned: true, WantAssertionsSigned: true,
		},
	}
	for name, sp := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := RenderSPMetadata(sp)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".sp-metadata.xml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("metadata differs from %s (-want +got):\n%s", golden, diff)
			}
			validateAgainstOASISSchema(t, golden)
		})
	}
	if _, err := RenderSPMetadata(SP{EntityID: "x"}); err == nil {
		t.Error("metadata without an ACS URL was rendered")
	}
}

const schemaDir = "/usr/lib/python3/dist-packages/saml2/data/schemas"

// validateAgainstOASISSchema runs xmllint with the SAML 2.0 metadata XSD that
// Debian's python3-pysaml2 ships (hack/test-deps.sh installs both; make test
// requires them). The XSD imports W3C schemas by URL; a catalog maps those
// to the package's local copies, so nothing is fetched.
func validateAgainstOASISSchema(t *testing.T, file string) {
	t.Helper()
	xsd := filepath.Join(schemaDir, "saml-schema-metadata-2.0.xsd")
	xmllint, err := exec.LookPath("xmllint")
	if _, statErr := os.Stat(xsd); statErr != nil || err != nil {
		if os.Getenv("REQUIRE_XMLLINT") != "" {
			t.Fatal("xmllint and the SAML XSDs are needed: run hack/test-deps.sh")
		}
		t.Skip("xmllint or the SAML metadata XSD is missing: run hack/test-deps.sh")
	}
	catalog := filepath.Join(t.TempDir(), "catalog.xml")
	entries := ""
	for url, local := range map[string]string{
		"http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd": "xmldsig-core-schema.xsd",
		"http://www.w3.org/TR/2002/REC-xmlenc-core-20021210/xenc-schema.xsd":          "xenc-schema.xsd",
		"http://www.w3.org/2001/xml.xsd":                                              "xml.xsd",
	} {
		entries += `<uri name="` + url + `" uri="file://` + filepath.Join(schemaDir, local) + `"/>`
	}
	doc := `<?xml version="1.0"?><catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">` + entries + `</catalog>`
	if err := os.WriteFile(catalog, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, file)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+catalog)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s does not validate against the OASIS SAML 2.0 metadata schema:\n%s", file, out)
	}
}

func TestParseIDPMetadataAndExtraCertificates(t *testing.T) {
	okta, err := os.ReadFile("testdata/okta-idp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := ParseIDPMetadata(okta)
	if err != nil {
		t.Fatal(err)
	}
	if idp.EntityID != "http://www.okta.com/exkkwrj4p78hNElUI1d7" || idp.SSOURL == "" || len(idp.Certificates) != 1 {
		t.Fatalf("parsed %+v", idp)
	}
	next, _ := keys.ParseCertificatePEM(spCertificate(t))
	both, err := WithSigningCertificates(okta, next)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseIDPMetadata(both)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Certificates) != 2 || !bytes.Equal(again.Certificates[1].Raw, next.Raw) || again.SSOURL != idp.SSOURL {
		t.Errorf("after adding a certificate: %d certificates, SSO URL %q", len(again.Certificates), again.SSOURL)
	}
	validateAgainstOASISSchema(t, "testdata/okta-idp-metadata.xml")
	if _, err := ParseIDPMetadata([]byte("<not-metadata/>")); err == nil {
		t.Error("a document without an IDPSSODescriptor was accepted")
	}
}
