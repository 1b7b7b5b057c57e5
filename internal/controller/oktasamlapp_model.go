package controller

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/saml"
)

var attributeNamespaces = map[ssov1.AttributeNameFormat]string{
	"":             "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
	"Unspecified":  "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
	"URIReference": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
	"Basic":        "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
}

func orDefault[S ~string](v, def S) S {
	if v == "" {
		return def
	}
	return v
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// desiredApp is the Okta app the spec asks for. secretValues holds the
// values of attribute statements taken from Secrets, by attribute name.
// hub holds the settings a referenced hub IdP publishes (Org2Org). The
// owner note is set by ensureApp, which knows how the app came to be owned.
func desiredApp(app *ssov1.OktaSAMLApp, secretValues map[string]string, spCert *x509.Certificate, hub map[string]any) *okta.App {
	spec := app.Spec
	hidden := spec.Visibility.HideOnDashboard || !boolOr(spec.IDPInitiated.Enabled, true)
	template := orDefault(spec.SignOn.UsernameTemplate, "${source.login}")
	templateType := "CUSTOM"
	if template == "${source.login}" || template == "${source.email}" {
		templateType = "BUILT_IN"
	}
	out := &okta.App{
		Name: spec.Preconfigured, Label: spec.Label, SignOnMode: okta.SignOnModeSAML2,
		Visibility:  &okta.AppVisibility{Hide: okta.AppHide{IOS: hidden, Web: hidden}},
		Credentials: okta.AppCredentials{UserNameTemplate: &okta.UserNameTemplate{Template: template, Type: templateType}},
		Settings:    okta.AppSettings{App: map[string]any{}}, // the owner note: ensureApp
	}
	if spec.Preconfigured != "" {
		if spec.AppSettings != nil {
			_ = json.Unmarshal(spec.AppSettings.Raw, &out.Settings.App)
		}
		for k, v := range hub {
			out.Settings.App[k] = v
		}
		if spec.IDPInitiated.DefaultRelayState != "" {
			out.Settings.SignOn = &okta.SAMLSignOn{DefaultRelayState: spec.IDPInitiated.DefaultRelayState}
		}
		return out
	}
	sp := spec.ServiceProvider
	acs := string(sp.ACSURL)
	so := &okta.SAMLSignOn{
		SSOAcsURL: acs, Audience: sp.EntityID,
		Recipient:                orDefault(string(sp.Recipient), acs),
		Destination:              orDefault(string(sp.Destination), acs),
		SubjectNameIDTemplate:    template,
		SubjectNameIDFormat:      saml.NameIDFormats[string(orDefault(string(spec.SignOn.NameIDFormat), "Unspecified"))],
		ResponseSigned:           boolOr(spec.SignOn.ResponseSigned, true),
		AssertionSigned:          boolOr(spec.SignOn.AssertionSigned, true),
		SignatureAlgorithm:       orDefault(string(spec.SignOn.SignatureAlgorithm), "RSA_SHA256"),
		DigestAlgorithm:          orDefault(string(spec.SignOn.DigestAlgorithm), "SHA256"),
		HonorForceAuthn:          boolOr(spec.SignOn.HonorForceAuthn, true),
		AuthnContextClassRef:     orDefault(spec.SignOn.AuthnContextClassRef, "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"),
		DefaultRelayState:        spec.IDPInitiated.DefaultRelayState,
		SAMLSignedRequestEnabled: spec.SignOn.RequestSignatureRequired,
		SLO:                      &okta.SingleLogout{},
	}
	for _, st := range spec.SignOn.AttributeStatements {
		values := st.Values
		if st.ValueFrom != nil {
			// A literal in Okta's expression language: quoted, quotes escaped.
			values = []string{`"` + strings.ReplaceAll(secretValues[st.Name], `"`, `\"`) + `"`}
		}
		so.AttributeStatements = append(so.AttributeStatements, okta.AttributeStatement{
			Type: "EXPRESSION", Name: st.Name, Namespace: attributeNamespaces[st.NameFormat], Values: values})
	}
	for _, st := range spec.SignOn.GroupAttributeStatements {
		so.AttributeStatements = append(so.AttributeStatements, okta.AttributeStatement{
			Type: "GROUP", Name: st.Name, Namespace: attributeNamespaces[st.NameFormat],
			FilterType: string(st.FilterType), FilterValue: st.FilterValue})
	}
	if len(sp.AdditionalACSURLs) > 0 {
		so.AllowMultipleAcsEndpoints = true
		so.AcsEndpoints = []okta.AcsEndpoint{{URL: acs, Index: 0}}
		for _, e := range sp.AdditionalACSURLs {
			so.AcsEndpoints = append(so.AcsEndpoints, okta.AcsEndpoint{URL: string(e.URL), Index: int(e.Index)})
		}
	}
	if spCert != nil {
		so.SPCertificate = &okta.SPCertificate{X5c: []string{base64.StdEncoding.EncodeToString(spCert.Raw)}}
		if sp.SingleLogoutURL != "" {
			so.SLO = &okta.SingleLogout{Enabled: true, Issuer: sp.EntityID, LogoutURL: string(sp.SingleLogoutURL)}
		}
	}
	out.Settings.SignOn = so
	return out
}

// managedView is the part of an app the operator owns, normalised so that
// the desired app and Okta's answer compare equal when nothing drifted.
func managedView(a *okta.App, catalogKeys map[string]any) any {
	view := struct {
		Label    string
		Hide     *okta.AppHide
		Template *okta.UserNameTemplate
		App      map[string]any
		Note     string
		SignOn   *okta.SAMLSignOn
	}{Label: a.Label, Template: a.Credentials.UserNameTemplate, App: map[string]any{}}
	if a.Visibility != nil {
		view.Hide = &a.Visibility.Hide
	}
	if a.Settings.Notes != nil && a.Settings.Notes.Admin != nil {
		view.Note = *a.Settings.Notes.Admin
	}
	for k := range catalogKeys { // only the catalog settings the spec names
		view.App[k] = a.Settings.App[k]
	}
	if so := a.Settings.SignOn; so != nil {
		c := *so
		c.IdpIssuer, c.RequestCompressed = "", false // set by Okta
		if len(c.AttributeStatements) == 0 {
			c.AttributeStatements = nil
		}
		if len(c.AcsEndpoints) == 0 {
			c.AcsEndpoints = nil
		}
		if c.SLO == nil {
			c.SLO = &okta.SingleLogout{}
		}
		view.SignOn = &c
	}
	var normalised any
	b, _ := json.Marshal(view)
	_ = json.Unmarshal(b, &normalised)
	return normalised
}

// inSync tells whether Okta's app already is what the spec asks for.
func inSync(desired, actual *okta.App) bool {
	return reflect.DeepEqual(managedView(desired, desired.Settings.App), managedView(actual, desired.Settings.App))
}

// applyDesired returns Okta's app with the managed fields replaced; what
// Okta sets (name, signing key, links) is kept, since a replace sends the
// whole object.
func applyDesired(actual, desired *okta.App) *okta.App {
	merged := *actual
	merged.Label = desired.Label
	merged.Visibility = desired.Visibility
	merged.Credentials.UserNameTemplate = desired.Credentials.UserNameTemplate
	settings := desired.Settings
	if actual.Name != "" && desired.Name != "" { // catalog: keep Okta's other settings
		settings.App = map[string]any{}
		for k, v := range actual.Settings.App {
			settings.App[k] = v
		}
		for k, v := range desired.Settings.App {
			settings.App[k] = v
		}
	}
	merged.Settings = settings
	return &merged
}
