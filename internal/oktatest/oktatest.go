// Package oktatest makes Okta objects as an admin would in the console, for
// tests that check the operator leaves what it did not make alone.
package oktatest

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/keys"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// HandMadeSAMLApp makes a SAML app like a company's Salesforce integration:
// its own ACS URL, audience and recipient, and an admin's note.
func HandMadeSAMLApp(ctx context.Context, c okta.API, label, adminNote string) (*okta.App, error) {
	return c.CreateApp(ctx, &okta.App{Label: label, SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{Notes: &okta.AppNotes{Admin: &adminNote}, SignOn: &okta.SAMLSignOn{
			SSOAcsURL: "https://acme.my.salesforce.com/sso", Audience: "https://saml.salesforce.com",
			Recipient: "https://acme.my.salesforce.com/sso", Destination: "https://acme.my.salesforce.com/sso",
			SubjectNameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", SubjectNameIDTemplate: "${user.email}",
			ResponseSigned: true, AssertionSigned: true, SignatureAlgorithm: "RSA_SHA256", DigestAlgorithm: "SHA256"}}}, true)
}

// HandMadeSAMLIdP makes an inbound SAML IdP like a company's ADFS, with a
// trust key of its own.
func HandMadeSAMLIdP(ctx context.Context, c okta.API, name string) (okta.IdentityProvider, error) {
	certPEM, _, err := keys.SelfSigned("adfs", 2048, time.Now(), 24*time.Hour)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(certPEM)
	key, err := c.CreateIdPKey(ctx, []string{base64.StdEncoding.EncodeToString(block.Bytes)})
	if err != nil {
		return nil, err
	}
	return c.CreateIdentityProvider(ctx, okta.IdentityProvider{"type": "SAML2", "name": name, "issuerMode": "ORG_URL",
		"protocol": map[string]any{"type": "SAML2",
			"endpoints": map[string]any{
				"sso": map[string]any{"url": "https://adfs.acme.example/adfs/ls/", "binding": "HTTP-POST", "destination": "https://adfs.acme.example/adfs/ls/"},
				"acs": map[string]any{"binding": "HTTP-POST", "type": "INSTANCE"}},
			"algorithms": map[string]any{
				"request":  map[string]any{"signature": map[string]any{"algorithm": "SHA-256", "scope": "REQUEST"}},
				"response": map[string]any{"signature": map[string]any{"algorithm": "SHA-256", "scope": "ANY"}}},
			"credentials": map[string]any{"trust": map[string]any{"issuer": "http://adfs.acme.example/adfs/services/trust", "kid": key.Kid}}},
		"policy": map[string]any{"provisioning": map[string]any{"action": "DISABLED", "profileMaster": false,
			"groups": map[string]any{"action": "NONE"}, "conditions": map[string]any{"deprovisioned": map[string]any{"action": "NONE"}, "suspended": map[string]any{"action": "NONE"}}},
			"accountLink":  map[string]any{"action": "DISABLED"},
			"subject":      map[string]any{"userNameTemplate": map[string]any{"template": "idpuser.subjectNameId"}, "matchType": "USERNAME"},
			"maxClockSkew": 120000}})
}
