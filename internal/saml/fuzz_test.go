package saml

import (
	"os"
	"testing"
)

// FuzzParseIDPMetadata feeds IdP metadata as an org (or something posing as
// one) might answer it: the parser refuses or returns a usable IdP, and
// never panics. Seeds: Okta's metadata and damaged forms of it.
func FuzzParseIDPMetadata(f *testing.F) {
	okta, err := os.ReadFile("testdata/okta-idp-metadata.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(okta)
	f.Add(okta[:len(okta)/2])
	f.Add([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:IDPSSODescriptor/><md:IDPSSODescriptor/></md:EntityDescriptor>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><x>&b;</x>`))
	f.Add([]byte("<html><body>Service Unavailable</body></html>"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		idp, err := ParseIDPMetadata(data)
		if err != nil {
			return
		}
		if idp.SSOURL == "" || len(idp.Certificates) == 0 {
			t.Fatalf("accepted metadata without an SSO URL or a certificate: %+v", idp)
		}
		if _, err := WithSigningCertificates(data, idp.Certificates...); err != nil {
			t.Fatalf("metadata that parses could not take a further certificate: %v", err)
		}
	})
}
