package controller

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"reflect"
	"strings"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// spokeTrust is what the hub trusts of the spoke: its issuer, its SSO URL
// and the certificate it signs with.
type spokeTrust struct {
	issuer, ssoURL string
	cert           *x509.Certificate
	// app is the spoke's Org2Org app, when referenced (spokeAppRef).
	app *ssov1.OktaSAMLApp
}

// parseCertificate reads one PEM certificate.
func parseCertificate(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// sameCertificate: x5c (as Okta answers it) is cert.
func sameCertificate(x5c string, cert *x509.Certificate) bool {
	got, err := okta.CertificateOf(x5c)
	return err == nil && got.Equal(cert)
}

// fingerprint is a certificate's SHA-256 fingerprint, hex with colons, as
// browsers and openssl show it.
func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// idpGroups are the hub groups an IdP's policy names, by ID.
type idpGroups struct {
	link, jit []string
}

// desiredIdP is the Okta IdP the spec asks for, trusting the spoke with the
// IdP key kid. The names and values are Okta's (the recorded exchanges).
func desiredIdP(p *ssov1.OktaSAMLIdentityProvider, spoke spokeTrust, kid string, groups idpGroups) okta.IdentityProvider {
	spec := p.Spec
	requestScope := "REQUEST"
	if !boolOr(spec.SignRequests, true) {
		requestScope = "NONE"
	}
	sso := map[string]any{"url": spoke.ssoURL, "binding": orDefault(string(spec.RequestBinding), string(ssov1.RequestBindingPost)),
		"destination": orDefault(string(spec.Destination), spoke.ssoURL)}
	return okta.IdentityProvider{
		"type": "SAML2", "name": orDefault(spec.Name, p.Name), "issuerMode": "ORG_URL",
		"protocol": map[string]any{
			"type": "SAML2",
			"endpoints": map[string]any{
				"sso": sso,
				"acs": map[string]any{"binding": "HTTP-POST", "type": acsTypes[orDefault(spec.ACSType, ssov1.ACSTypeTrustSpecific)]},
			},
			"algorithms": map[string]any{
				"request":  map[string]any{"signature": map[string]any{"algorithm": orDefault(string(spec.RequestSignatureAlgorithm), "SHA-256"), "scope": requestScope}},
				"response": map[string]any{"signature": map[string]any{"algorithm": orDefault(string(spec.ResponseSignatureAlgorithm), "SHA-256"), "scope": responseScopes[orDefault(spec.ResponseSignature, ssov1.ResponseSignatureResponseOrAssertion)]}},
			},
			"credentials": map[string]any{"trust": map[string]any{"issuer": spoke.issuer, "kid": kid}},
			"settings":    map[string]any{"nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
		},
		"policy": map[string]any{
			"accountLink":  accountLinkPolicy(spec.AccountLink, groups.link),
			"provisioning": provisioningPolicy(spec.Provisioning, groups.jit),
			"subject": map[string]any{
				"userNameTemplate": map[string]any{"template": orDefault(spec.UsernameTemplate, "idpuser.subjectNameId")},
				"matchType":        matchTypes[orDefault(spec.MatchAgainst, ssov1.MatchAgainstUsername)],
				"filter":           nilIfEmpty(spec.UsernameFilter),
			},
			"maxClockSkew": maxClockSkewMillis(spec),
		},
	}
}

var (
	acsTypes       = map[ssov1.ACSType]string{ssov1.ACSTypeTrustSpecific: "INSTANCE", ssov1.ACSTypeOrg: "ORG"}
	responseScopes = map[ssov1.ResponseSignature]string{ssov1.ResponseSignatureResponse: "RESPONSE",
		ssov1.ResponseSignatureAssertion: "TOKEN", ssov1.ResponseSignatureResponseOrAssertion: "ANY"}
	matchTypes = map[ssov1.MatchAgainst]string{ssov1.MatchAgainstUsername: "USERNAME", ssov1.MatchAgainstEmail: "EMAIL",
		ssov1.MatchAgainstUsernameOrEmail: "USERNAME_OR_EMAIL"}
)

func accountLinkPolicy(link ssov1.AccountLink, groupIDs []string) map[string]any {
	if orDefault(link.Policy, ssov1.AccountLinkDisabled) == ssov1.AccountLinkDisabled {
		return map[string]any{"action": "DISABLED", "filter": nil}
	}
	var filter any
	if len(groupIDs) > 0 {
		filter = map[string]any{"groups": map[string]any{"include": groupIDs}}
	}
	return map[string]any{"action": "AUTO", "filter": filter}
}

func provisioningPolicy(p ssov1.Provisioning, groupIDs []string) map[string]any {
	action := "AUTO"
	if p.IfNoMatch == ssov1.IfNoMatchRedirect {
		action = "DISABLED"
	}
	deprovisioned, suspended := "NONE", "NONE"
	if p.Reactivate {
		deprovisioned, suspended = "REACTIVATE", "UNSUSPEND"
	}
	groups := map[string]any{"action": "NONE"}
	if len(groupIDs) > 0 {
		groups = map[string]any{"action": "ASSIGN", "assignments": groupIDs}
	}
	return map[string]any{"action": action, "profileMaster": p.ProfileSource, "groups": groups,
		"conditions": map[string]any{"deprovisioned": map[string]any{"action": deprovisioned}, "suspended": map[string]any{"action": suspended}}}
}

func maxClockSkewMillis(spec ssov1.OktaSAMLIdentityProviderSpec) int64 {
	if spec.MaxClockSkew.Duration == 0 {
		return 120000 // the schema's default, 2m, for a client that left it out
	}
	return spec.MaxClockSkew.Milliseconds()
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// idpDiffers says whether Okta's IdP differs from what is wanted in any
// field the operator sets (fields Okta adds are not compared).
func idpDiffers(current, want okta.IdentityProvider) bool {
	var normal map[string]any // want as JSON reads it back: numbers as float64
	raw, _ := json.Marshal(want)
	_ = json.Unmarshal(raw, &normal)
	return !within(normal, map[string]any(current))
}

// within: every field of want is in have with the same value; a null in
// want matches a missing field.
func within(want, have map[string]any) bool {
	for k, w := range want {
		h, ok := have[k]
		switch wv := w.(type) {
		case nil:
			if ok && h != nil {
				return false
			}
		case map[string]any:
			hv, _ := h.(map[string]any)
			if !within(wv, hv) {
				return false
			}
		default:
			if !reflect.DeepEqual(w, h) {
				return false
			}
		}
	}
	return true
}
