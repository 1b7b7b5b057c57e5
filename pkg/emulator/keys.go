package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// signingKey is an app's SAML signing key pair and certificate.
type signingKey struct {
	kid       string
	created   time.Time
	expiresAt time.Time
	cert      *x509.Certificate
	key       *rsa.PrivateKey
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// newSigningKey makes a key pair and a self-signed certificate shaped like
// Okta's (subject O=Okta, OU=SSOProvider, CN=<org>), valid validityYears from
// a minute ago, as Okta's are.
func (s *Server) newSigningKey(validityYears int) (*signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, s.cfg.KeyBits)
	if err != nil {
		return nil, fmt.Errorf("generating an RSA key: %w", err)
	}
	now := s.now().Truncate(time.Second)
	serial := new(big.Int).SetUint64(s.rand.Uint64())
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Country: []string{"US"}, Province: []string{"California"}, Locality: []string{"San Francisco"},
			Organization: []string{"Okta"}, OrganizationalUnit: []string{"SSOProvider"}, CommonName: s.cfg.OrgName,
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidEmailAddress, Value: "info@okta.com"}},
		},
		NotBefore: now.Add(-time.Minute),
		NotAfter:  now.AddDate(validityYears, 0, 0),
	}
	tmpl.Issuer = tmpl.Subject
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kidBytes := make([]byte, 32)
	for i := range 4 {
		v := s.rand.Uint64()
		for j := range 8 {
			kidBytes[i*8+j] = byte(v >> (8 * j))
		}
	}
	return &signingKey{
		kid:       base64.RawURLEncoding.EncodeToString(kidBytes),
		created:   now,
		expiresAt: tmpl.NotAfter,
		cert:      cert,
		key:       key,
	}, nil
}

// jwk renders a key as Okta's JSON Web Key.
func (k *signingKey) jwk() map[string]any {
	return jwkOf(k.kid, k.created, k.expiresAt, k.cert.Raw, &k.key.PublicKey)
}

func jwkOf(kid string, created, expires time.Time, der []byte, pub *rsa.PublicKey) map[string]any {
	sum := sha256.Sum256(der)
	return map[string]any{
		"kty":         "RSA",
		"created":     timestamp(created),
		"lastUpdated": timestamp(created),
		"expiresAt":   timestamp(expires),
		"kid":         kid,
		"use":         "sig",
		"x5c":         []string{base64.StdEncoding.EncodeToString(der)},
		"x5t#S256":    base64.RawURLEncoding.EncodeToString(sum[:]),
		"e":           base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"n":           base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
	}
}

// wrap76 breaks base64 text into 76-character lines, as Okta's metadata does.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteByte('\n')
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

const (
	nameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	nameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
)

// metadataNameIDFormats lists what Okta's metadata advertises: the app's
// format and emailAddress, unspecified first and emailAddress next.
func metadataNameIDFormats(configured string) []string {
	switch configured {
	case nameIDUnspecified:
		return []string{nameIDUnspecified, nameIDEmail}
	case nameIDEmail, "":
		return []string{nameIDEmail}
	}
	return []string{nameIDEmail, configured}
}

// idpMetadata renders the app's IdP metadata for one key, byte for byte in
// Okta's layout: one line except the certificate.
func (s *Server) idpMetadata(a *app, k *signingKey) string {
	sso := s.ssoURLOf(a)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintf(&b, `<md:EntityDescriptor entityID="%s" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">`, a.idpIssuer())
	fmt.Fprintf(&b, `<md:IDPSSODescriptor WantAuthnRequestsSigned="%t" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`, a.requestsSigned())
	b.WriteString(`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>`)
	b.WriteString(wrap76(base64.StdEncoding.EncodeToString(k.cert.Raw)))
	b.WriteString(`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
	if a.sloEnabled() {
		slo := s.baseURL + "/app/" + a.name + "/" + a.externalKey + "/slo/saml"
		fmt.Fprintf(&b, `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s"/>`, slo)
		fmt.Fprintf(&b, `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`, slo)
	}
	for _, f := range metadataNameIDFormats(a.nameIDFormat()) {
		fmt.Fprintf(&b, `<md:NameIDFormat>%s</md:NameIDFormat>`, f)
	}
	fmt.Fprintf(&b, `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s"/>`, sso)
	fmt.Fprintf(&b, `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`, sso)
	b.WriteString(`</md:IDPSSODescriptor></md:EntityDescriptor>`)
	return b.String()
}
