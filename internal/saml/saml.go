// Package saml renders the service provider's metadata and reads the
// identity provider's, with crewjam/saml's metadata types. It is pure: no
// network, no cluster.
package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"

	"github.com/crewjam/saml"
)

// NameID format URIs by the API's short names.
var NameIDFormats = map[string]string{
	"EmailAddress":    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
	"Unspecified":     "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
	"Persistent":      "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	"Transient":       "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
	"X509SubjectName": "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
}

// ACS is one assertion consumer service endpoint.
type ACS struct {
	URL   string
	Index int
}

// SP describes the service provider whose metadata is rendered.
type SP struct {
	EntityID string
	// ACS lists the endpoints; the first is the default.
	ACS          []ACS
	SLOURL       string
	NameIDFormat string // a URI
	// Certificate is the SP's signing certificate, if it has one.
	Certificate          *x509.Certificate
	AuthnRequestsSigned  bool
	WantAssertionsSigned bool
}

// RenderSPMetadata renders SAML 2.0 metadata for the SP: every ACS with its
// binding and index, SLO, NameID format, signing certificate, and the
// AuthnRequestsSigned and WantAssertionsSigned flags.
func RenderSPMetadata(sp SP) ([]byte, error) {
	if sp.EntityID == "" || len(sp.ACS) == 0 {
		return nil, fmt.Errorf("SP metadata needs an entity ID and an ACS URL")
	}
	desc := saml.SPSSODescriptor{
		SSODescriptor: saml.SSODescriptor{
			RoleDescriptor: saml.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"},
		},
		AuthnRequestsSigned:  &sp.AuthnRequestsSigned,
		WantAssertionsSigned: &sp.WantAssertionsSigned,
	}
	if sp.Certificate != nil {
		desc.KeyDescriptors = []saml.KeyDescriptor{keyDescriptor(sp.Certificate)}
	}
	if sp.SLOURL != "" {
		desc.SingleLogoutServices = []saml.Endpoint{
			{Binding: saml.HTTPPostBinding, Location: sp.SLOURL},
			{Binding: saml.HTTPRedirectBinding, Location: sp.SLOURL},
		}
	}
	if sp.NameIDFormat != "" {
		desc.NameIDFormats = []saml.NameIDFormat{saml.NameIDFormat(sp.NameIDFormat)}
	}
	for i, acs := range sp.ACS {
		isDefault := i == 0
		desc.AssertionConsumerServices = append(desc.AssertionConsumerServices,
			saml.IndexedEndpoint{Binding: saml.HTTPPostBinding, Location: acs.URL, Index: acs.Index, IsDefault: &isDefault})
	}
	ed := saml.EntityDescriptor{EntityID: sp.EntityID, SPSSODescriptors: []saml.SPSSODescriptor{desc}}
	out, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, err
	}
	// crewjam writes a zero validUntil (year 1), which readers take as
	// expired; the attribute is optional, so it is left out.
	out = bytes.Replace(out, []byte(` validUntil="0001-01-01T00:00:00Z"`), nil, 1)
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

func keyDescriptor(cert *x509.Certificate) saml.KeyDescriptor {
	return saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
		X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(cert.Raw)}},
	}}}
}

// IDP is what an SP needs from the identity provider's metadata.
type IDP struct {
	EntityID string
	// SSOURL is the HTTP-Redirect (else HTTP-POST) single sign-on URL.
	SSOURL       string
	Certificates []*x509.Certificate
}

// ParseIDPMetadata reads Okta's IdP metadata.
func ParseIDPMetadata(data []byte) (*IDP, error) {
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(data, &ed); err != nil {
		return nil, fmt.Errorf("reading IdP metadata: %w", err)
	}
	if len(ed.IDPSSODescriptors) != 1 {
		return nil, fmt.Errorf("IdP metadata has %d IDPSSODescriptors, want 1", len(ed.IDPSSODescriptors))
	}
	d := ed.IDPSSODescriptors[0]
	idp := &IDP{EntityID: ed.EntityID}
	for _, binding := range []string{saml.HTTPPostBinding, saml.HTTPRedirectBinding} {
		for _, s := range d.SingleSignOnServices {
			if s.Binding == binding {
				idp.SSOURL = s.Location
			}
		}
	}
	for _, kd := range d.KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			der, err := base64.StdEncoding.DecodeString(stripSpace(c.Data))
			if err != nil {
				return nil, fmt.Errorf("IdP metadata certificate: %w", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("IdP metadata certificate: %w", err)
			}
			idp.Certificates = append(idp.Certificates, cert)
		}
	}
	if idp.SSOURL == "" || len(idp.Certificates) == 0 {
		return nil, fmt.Errorf("IdP metadata lacks an SSO URL or a signing certificate")
	}
	return idp, nil
}

// WithSigningCertificates returns the IdP metadata with further signing
// certificates published beside its own, so that SPs trust both the active
// and the next key during a rotation.
func WithSigningCertificates(data []byte, extra ...*x509.Certificate) ([]byte, error) {
	if len(extra) == 0 {
		return data, nil
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(data, &ed); err != nil {
		return nil, fmt.Errorf("reading IdP metadata: %w", err)
	}
	if len(ed.IDPSSODescriptors) != 1 {
		return nil, fmt.Errorf("IdP metadata has %d IDPSSODescriptors, want 1", len(ed.IDPSSODescriptors))
	}
	for _, c := range extra {
		ed.IDPSSODescriptors[0].KeyDescriptors = append(ed.IDPSSODescriptors[0].KeyDescriptors, keyDescriptor(c))
	}
	out, err := xml.Marshal(ed)
	if err != nil {
		return nil, err
	}
	out = bytes.Replace(out, []byte(` validUntil="0001-01-01T00:00:00Z"`), nil, 1)
	return append([]byte(xml.Header), out...), nil
}

func stripSpace(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			b = append(b, c)
		}
	}
	return string(b)
}
