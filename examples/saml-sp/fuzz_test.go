package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
)

// FuzzACS posts whatever a browser (or an attacker) might post to the SP's
// assertion consumer service: the SP refuses it, and never panics or signs
// anyone in. The IdP it trusts is one whose key the fuzzer does not have.
func FuzzACS(f *testing.F) {
	dir := f.TempDir()
	writeConnectionSecret(f, dir)
	sp := &reloadingSP{dir: dir, url: url.URL{Scheme: "http", Host: "sp.example.com"}, entityID: "http://sp.example.com/saml/metadata"}
	if _, err := sp.current(); err != nil {
		f.Fatal(err)
	}
	response := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ` +
		`ID="_1" Version="2.0" IssueInstant="2026-12-01T00:00:00Z" Destination="http://sp.example.com/saml/acs">` +
		`<saml:Issuer>http://www.okta.com/exk1</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<saml:Assertion ID="_2" Version="2.0" IssueInstant="2026-12-01T00:00:00Z"><saml:Issuer>http://www.okta.com/exk1</saml:Issuer>` +
		`<saml:Subject><saml:NameID>mallory@example.com</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>`
	for _, seed := range []string{response, "", "not xml", `<samlp:Response`, strings.Repeat("<a>", 1000),
		`<!DOCTYPE r [<!ENTITY x "xxxxxxxx">]><r>&x;&x;</r>`} {
		f.Add(base64.StdEncoding.EncodeToString([]byte(seed)), "/")
	}
	f.Add("!!!not base64!!!", "https://evil.example.com/")
	f.Fuzz(func(t *testing.T, samlResponse, relayState string) {
		form := url.Values{"SAMLResponse": {samlResponse}, "RelayState": {relayState}}
		req := httptest.NewRequest(http.MethodPost, "http://sp.example.com/saml/acs", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		sp.serve(rec, req, nil)
		for _, c := range rec.Result().Cookies() {
			if c.Name == "token" && c.Value != "" {
				t.Fatalf("a forged response signed someone in (status %d)", rec.Code)
			}
		}
		if rec.Code < 400 {
			t.Fatalf("a forged response was taken: %d", rec.Code)
		}
	})
}

// writeConnectionSecret writes an IdP's metadata and the SP's key pair, as
// the operator's connection Secret holds them.
func writeConnectionSecret(f testing.TB, dir string) {
	idpCert, _ := certificate(f, "idp")
	spCert, spKey := certificate(f, "sp")
	metadata := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor entityID="http://www.okta.com/exk1" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">`+
		`<md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`+
		`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`+
		`<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>`+
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.okta.com/app/x/exk1/sso/saml"/>`+
		`</md:IDPSSODescriptor></md:EntityDescriptor>`, base64.StdEncoding.EncodeToString(idpCert))
	keyDER := x509.MarshalPKCS1PrivateKey(spKey)
	for name, data := range map[string][]byte{
		"idp-metadata.xml": []byte(metadata),
		"tls.crt":          pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: spCert}),
		"tls.key":          pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			f.Fatal(err)
		}
	}
}

func certificate(f testing.TB, name string) ([]byte, *rsa.PrivateKey) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		f.Fatal(err)
	}
	return der, key
}

// A person who took minutes on the sign-in form, or whose browser dropped
// the request cookie on the IdP's cross-site POST, lands on the SP's home
// page, not on a request index the SP does not serve.
func TestRequestTrackingSurvivesASlowPerson(t *testing.T) {
	dir := t.TempDir()
	writeConnectionSecret(t, dir)
	for _, scheme := range []string{"http", "https"} {
		sp := &reloadingSP{dir: dir, url: url.URL{Scheme: scheme, Host: "sp.example.com"}, entityID: scheme + "://sp.example.com/saml/metadata"}
		m, err := sp.current()
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		saml.TimeNow = func() time.Time { return time.Now().Add(-100 * time.Second) } // the request was made 100 s ago
		index, err := m.RequestTracker.TrackRequest(w, httptest.NewRequest(http.MethodGet, "/", nil), "id-1")
		saml.TimeNow = time.Now
		if err != nil {
			t.Fatal(err)
		}
		cookie := w.Result().Cookies()[0]
		acs := httptest.NewRequest(http.MethodPost, "/saml/acs", nil)
		acs.AddCookie(cookie)
		if _, err := m.RequestTracker.GetTrackedRequest(acs, index); err != nil {
			t.Errorf("%s: a request made 100 s ago is no longer known: %v", scheme, err)
		}
		if cookie.MaxAge < 300 {
			t.Errorf("%s: the request cookie lasts %d s: a person needs minutes", scheme, cookie.MaxAge)
		}
		if scheme == "https" && (cookie.SameSite != http.SameSiteNoneMode || !cookie.Secure) {
			t.Errorf("https: the request cookie is SameSite=%v Secure=%v: the IdP's cross-site POST would drop it", cookie.SameSite, cookie.Secure)
		}
	}
	for loc, home := range map[string]bool{"/saml/Xy3index": true, "Xy3index": true, "//attacker.example.com/": true, "/": false, "/reports": false, "https://idp.example.com/sso": false} {
		w := httptest.NewRecorder()
		h := homeWhenUntracked{ResponseWriter: w}
		h.Header().Set("Location", loc)
		h.WriteHeader(http.StatusFound)
		if got := w.Header().Get("Location"); (got == "/") != (home || loc == "/") {
			t.Errorf("a redirect to %q became %q", loc, got)
		}
	}
}
