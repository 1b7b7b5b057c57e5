package emulator

import (
	"cmp"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// app is one app integration of the org.
type app struct {
	id, name, label, status, signOnMode string
	externalKey, linkID                 string
	created, lastUpdated                time.Time

	accessibility    accessibility
	visibility       visibility
	userNameTemplate userNameTemplate
	settingsApp      map[string]any
	implicitAssign   bool
	notes            map[string]any

	family signOnFamily
	// signOn is set for custom SAML apps, catalogSignOn for SAML catalog
	// apps.
	signOn        *samlSignOn
	catalogSignOn *catalogSignOn
	// oauthSettings and oauthCredentials are an OIDC client's
	// settings.oauthClient and credentials.oauthClient.
	oauthSettings, oauthCredentials map[string]any
	clientSecret                    string
	// password is set for apps Okta signs in to with a stored password;
	// autoLogin is a custom SWA app's settings.signOn.
	password  *passwordCredentials
	autoLogin map[string]any

	keys      []*signingKey
	activeKid string
	// accessPolicy is the app's sign-on policy (Identity Engine orgs).
	accessPolicy string

	groups ordered[*appGroup]
	users  ordered[*appUser]
	// prov is the app's provisioning to another org (Org2Org), once set up.
	prov *provisioning
}

type accessibility struct {
	SelfService      bool    `json:"selfService"`
	ErrorRedirectURL *string `json:"errorRedirectUrl"`
	LoginRedirectURL *string `json:"loginRedirectUrl"`
}

type visibility struct {
	AutoLaunch        bool            `json:"autoLaunch"`
	AutoSubmitToolbar bool            `json:"autoSubmitToolbar"`
	AppLinks          map[string]bool `json:"appLinks"`
	Hide              struct {
		IOS bool `json:"iOS"`
		Web bool `json:"web"`
	} `json:"hide"`
}

type userNameTemplate struct {
	Template   string `json:"template"`
	Type       string `json:"type"`
	Suffix     string `json:"suffix,omitempty"`
	PushStatus string `json:"pushStatus,omitempty"`
}

// samlSignOn is settings.signOn of a custom SAML 2.0 app, in Okta's answer
// shape: every key is always present.
type samlSignOn struct {
	DefaultRelayState         string               `json:"defaultRelayState"`
	SSOAcsURL                 string               `json:"ssoAcsUrl"`
	IdpIssuer                 string               `json:"idpIssuer"`
	Audience                  string               `json:"audience"`
	Recipient                 string               `json:"recipient"`
	Destination               string               `json:"destination"`
	SubjectNameIDTemplate     string               `json:"subjectNameIdTemplate"`
	SubjectNameIDFormat       string               `json:"subjectNameIdFormat"`
	ResponseSigned            bool                 `json:"responseSigned"`
	AssertionSigned           bool                 `json:"assertionSigned"`
	SignatureAlgorithm        string               `json:"signatureAlgorithm"`
	DigestAlgorithm           string               `json:"digestAlgorithm"`
	HonorForceAuthn           bool                 `json:"honorForceAuthn"`
	AuthnContextClassRef      string               `json:"authnContextClassRef"`
	SPIssuer                  *string              `json:"spIssuer"`
	RequestCompressed         bool                 `json:"requestCompressed"`
	AttributeStatements       []attributeStatement `json:"attributeStatements"`
	InlineHooks               []any                `json:"inlineHooks"`
	AssertionEncryption       map[string]any       `json:"assertionEncryption"`
	AllowMultipleAcsEndpoints bool                 `json:"allowMultipleAcsEndpoints"`
	AcsEndpoints              []acsEndpoint        `json:"acsEndpoints"`
	SAMLSignedRequestEnabled  bool                 `json:"samlSignedRequestEnabled"`
	SLO                       singleLogout         `json:"slo"`
	SPCertificate             *spCertificate       `json:"spCertificate,omitempty"`
}

type attributeStatement struct {
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Namespace   string   `json:"namespace"`
	Values      []string `json:"values,omitempty"`
	FilterType  string   `json:"filterType,omitempty"`
	FilterValue string   `json:"filterValue,omitempty"`
}

type acsEndpoint struct {
	URL   string `json:"url"`
	Index int    `json:"index"`
}

type singleLogout struct {
	Enabled   bool   `json:"enabled"`
	Issuer    string `json:"issuer,omitempty"`
	LogoutURL string `json:"logoutUrl,omitempty"`
}

type spCertificate struct {
	X5c []string `json:"x5c"`
}

// catalogSignOn is settings.signOn of a catalog app: overrides only.
type catalogSignOn struct {
	DefaultRelayState   *string              `json:"defaultRelayState"`
	SSOAcsURLOverride   *string              `json:"ssoAcsUrlOverride"`
	AudienceOverride    *string              `json:"audienceOverride"`
	RecipientOverride   *string              `json:"recipientOverride"`
	DestinationOverride *string              `json:"destinationOverride"`
	AttributeStatements []attributeStatement `json:"attributeStatements"`
}

// catalogApp describes an Okta Integration Network app the org knows.
type catalogApp struct {
	// settings are the keys of settings.app, null when not given.
	settings []string
	// required settings must be given.
	required []string
	// acsSetting and audienceSetting name the settings that hold the SP's
	// ACS URL and audience, so the IdP can sign in to it.
	acsSetting, audienceSetting string
	// attributes are the attribute statements the catalog app sends.
	attributes []attributeStatement
	// modes maps the sign-on modes a create may ask for to the one Okta
	// answers with (catalog apps asked for AUTO_LOGIN become
	// BROWSER_PLUGIN); SAML_2_0 only when nil.
	modes map[string]string
	// linkName names the app's tile link; name_link when empty.
	linkName string
	// oauthClient apps are OIDC clients with their own settings.oauthClient
	// (oidc_client); OIDC catalog apps have none.
	oauthClient bool
}

// modeOf is the sign-on mode Okta answers for a create asking for mode.
func (c catalogApp) modeOf(mode string) (string, bool) {
	if c.modes == nil {
		return mode, mode == "SAML_2_0"
	}
	answered, ok := c.modes[mode]
	return answered, ok
}

// familyOf tells how an app of an answered sign-on mode signs users in.
func familyOf(mode string) signOnFamily {
	switch mode {
	case "SAML_2_0", "SAML_1_1":
		return familySAML
	case "OPENID_CONNECT":
		return familyOAuth
	case "BOOKMARK":
		return familyBookmark
	case "":
		return familyNone
	}
	return familyPassword
}

// catalog is the part of the Okta Integration Network the emulator knows.
var catalog = map[string]catalogApp{
	"okta_org2org": {
		settings:        []string{"acsUrl", "audRestriction", "baseUrl"},
		required:        []string{"acsUrl", "audRestriction", "baseUrl"},
		acsSetting:      "acsUrl",
		audienceSetting: "audRestriction",
		// The attributes the Org2Org guide lists, so the hub can create the user.
		attributes: []attributeStatement{{Name: "FirstName", Values: []string{"user.firstName"}},
			{Name: "LastName", Values: []string{"user.lastName"}}, {Name: "Email", Values: []string{"user.email"}}},
		linkName: "login",
	},
	"pagerduty": {settings: []string{"adminUserId", "baseUrl", "subdomain"}, required: []string{"subdomain"},
		modes: map[string]string{"SAML_2_0": "SAML_2_0", "AUTO_LOGIN": "BROWSER_PLUGIN"}, linkName: "login"},
	// bookmark is a tile that opens a URL (signOnMode BOOKMARK): a spoke's
	// way to a hub app, in hub and spoke federation.
	"bookmark": {settings: []string{"requestIntegration", "url"}, required: []string{"url"},
		modes: map[string]string{"BOOKMARK": "BOOKMARK"}, linkName: "login"},
	// oidc_client is the custom OIDC app integration.
	"oidc_client": {modes: map[string]string{"OPENID_CONNECT": "OPENID_CONNECT"}, oauthClient: true},
	"strongdm":    {settings: []string{"base_url"}, modes: map[string]string{"OPENID_CONNECT": "OPENID_CONNECT"}},
	"deel":        {modes: map[string]string{"OPENID_CONNECT": "OPENID_CONNECT"}},
	"applauz":     {modes: map[string]string{"OPENID_CONNECT": "OPENID_CONNECT"}},
	// The custom password apps: SWA with two or three fields, basic auth,
	// and the secure password store.
	"template_swa": {settings: []string{"loginUrlRegex", "usernameField", "redirectUrl", "buttonField", "checkbox", "passwordField", "url"},
		required: []string{"url"}, modes: map[string]string{"BROWSER_PLUGIN": "BROWSER_PLUGIN"}, linkName: "login"},
	"template_swa3field": {settings: []string{"loginUrlRegex", "extraFieldSelector", "extraFieldValue", "redirectUrl", "userNameSelector", "passwordSelector", "buttonSelector", "targetURL"},
		required: []string{"targetURL"}, modes: map[string]string{"BROWSER_PLUGIN": "BROWSER_PLUGIN"}, linkName: "login"},
	"template_basic_auth": {settings: []string{"loginUrlRegex", "authURL", "url"}, required: []string{"url", "authURL"},
		modes: map[string]string{"BASIC_AUTH": "BASIC_AUTH"}, linkName: "login"},
	"template_sps": {settings: []string{"usernameField", "passwordField", "url", "optionalField1", "optionalField1Value",
		"optionalField2", "optionalField2Value", "optionalField3", "optionalField3Value"},
		required: []string{"url"}, modes: map[string]string{"SECURE_PASSWORD_STORE": "SECURE_PASSWORD_STORE"}, linkName: "login"},
	// sharepoint_onpremise signs in with SAML 1.1, where a catalog app's
	// sign-on settings are fewer overrides.
	"sharepoint_onpremise": {settings: []string{"groupFilter", "siteURL", "attributeStatements"}, required: []string{"siteURL"},
		modes: map[string]string{"SAML_1_1": "SAML_1_1"}, linkName: "login"},
	// office365 is asked for as AUTO_LOGIN and answers BROWSER_PLUGIN, with
	// the links the request names (one per Microsoft 365 app).
	"office365": {settings: []string{"tenantType", "wsFedConfigureType", "occSettings", "windowsTransportEnabled", "domain", "msftTenant",
		"domains", "office365ProvisioningType", "requireAdminConsent", "office365FlexibleProvisioningMode"},
		required: []string{"domain", "msftTenant"}, modes: map[string]string{"AUTO_LOGIN": "BROWSER_PLUGIN"}, linkName: "login"},
	// deelhr is asked for as AUTO_LOGIN and answered with no sign-on mode.
	"deelhr":      {modes: map[string]string{"AUTO_LOGIN": ""}},
	"aws_console": {modes: map[string]string{"AUTO_LOGIN": "BROWSER_PLUGIN"}, linkName: "aws_console_login"},
}

// appRequest is a create or replace request body.
type appRequest struct {
	Name          string         `json:"name"`
	Label         string         `json:"label"`
	SignOnMode    string         `json:"signOnMode"`
	Accessibility *accessibility `json:"accessibility"`
	Visibility    *visibility    `json:"visibility"`
	Credentials   *struct {
		UserNameTemplate *userNameTemplate `json:"userNameTemplate"`
		Signing          *struct {
			Kid string `json:"kid"`
		} `json:"signing"`
		Scheme         string         `json:"scheme"`
		RevealPassword bool           `json:"revealPassword"`
		UserName       string         `json:"userName"`
		OAuthClient    map[string]any `json:"oauthClient"`
	} `json:"credentials"`
	Settings *struct {
		App                map[string]any  `json:"app"`
		ImplicitAssignment bool            `json:"implicitAssignment"`
		Notes              map[string]any  `json:"notes"`
		SignOn             json.RawMessage `json:"signOn"`
		OAuthClient        map[string]any  `json:"oauthClient"`
	} `json:"settings"`
}

// signOnModeValue is an app's signOnMode as Okta answers it: null for a
// catalog app without one.
func signOnModeValue(mode string) any {
	if mode == "" {
		return nil
	}
	return mode
}

// takesMode tells whether a replace may name this sign-on mode: none, the
// app's own, or for a catalog app the mode it was asked for at create
// (AUTO_LOGIN for one Okta answers as BROWSER_PLUGIN).
func (a *app) takesMode(mode string) bool {
	if mode == "" || mode == a.signOnMode {
		return true
	}
	answered, ok := catalog[a.name].modeOf(mode)
	return a.fromCatalog() && ok && answered == a.signOnMode
}

// appLinksOr is visibility.appLinks: those the app was given when it has
// several (office365: one per Microsoft 365 app), else its one link.
func (a *app) appLinksOr(name string) map[string]bool {
	if len(a.visibility.AppLinks) > 1 {
		return a.visibility.AppLinks
	}
	return map[string]bool{name: true}
}

// fromCatalog tells a catalog app from a custom one, whose generated name
// is never a catalog name.
func (a *app) fromCatalog() bool {
	_, ok := catalog[a.name]
	return ok
}

func (a *app) idpIssuer() string { return "http://www.okta.com/" + a.externalKey }

func (a *app) requestsSigned() bool { return a.signOn != nil && a.signOn.SAMLSignedRequestEnabled }

func (a *app) sloEnabled() bool { return a.signOn != nil && a.signOn.SLO.Enabled }

func (a *app) nameIDFormat() string {
	if a.signOn != nil {
		return a.signOn.SubjectNameIDFormat
	}
	if a.signOnMode == "SAML_1_1" {
		return nameIDUnspecified
	}
	return nameIDEmail // catalog apps advertise emailAddress
}

func (a *app) activeKey() *signingKey {
	for _, k := range a.keys {
		if k.kid == a.activeKid {
			return k
		}
	}
	return nil
}

func (a *app) key(kid string) *signingKey {
	for _, k := range a.keys {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

var (
	nameIDFormats = map[string]bool{
		nameIDUnspecified: true,
		nameIDEmail:       true,
		"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent":                 true,
		"urn:oasis:names:tc:SAML:2.0:nameid-format:transient":                  true,
		"urn:oasis:names:tc:SAML:1.1:nameid-format:x509SubjectName":            true,
		"urn:oasis:names:tc:SAML:2.0:nameid-format:entity":                     true,
		"urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName": true,
	}
	attributeNamespaces = map[string]bool{
		"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified": true,
		"urn:oasis:names:tc:SAML:2.0:attrname-format:uri":         true,
		"urn:oasis:names:tc:SAML:2.0:attrname-format:basic":       true,
	}
	groupFilterTypes = map[string]bool{"STARTS_WITH": true, "EQUALS": true, "CONTAINS": true, "REGEX": true}
)

// parseCustomSignOn validates a custom SAML app's settings.signOn and fills
// Okta's defaults, returning the validation causes when it is refused.
func parseCustomSignOn(raw json.RawMessage) (*samlSignOn, []string) {
	so := &samlSignOn{}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, []string{"settings.signOn: required for a custom SAML 2.0 app"}
	}
	if err := json.Unmarshal(raw, so); err != nil {
		return nil, []string{"settings.signOn: " + err.Error()}
	}
	var causes []string
	need := func(ok bool, cause string) {
		if !ok {
			causes = append(causes, cause)
		}
	}
	need(so.SSOAcsURL != "", "ssoAcsUrl: Single sign on URL is required")
	need(so.SSOAcsURL == "" || validURL(so.SSOAcsURL), "ssoAcsUrl: Single sign on URL is not a valid URL")
	need(so.Audience != "", "audience: Audience URI is required")
	need(so.Recipient == "" || validURL(so.Recipient), "recipient: Recipient URL is not a valid URL")
	need(so.Destination == "" || validURL(so.Destination), "destination: Destination URL is not a valid URL")
	setDefault(&so.Recipient, so.SSOAcsURL)
	setDefault(&so.Destination, so.SSOAcsURL)
	setDefault(&so.SubjectNameIDTemplate, "${source.login}")
	setDefault(&so.SubjectNameIDFormat, nameIDUnspecified)
	setDefault(&so.SignatureAlgorithm, "RSA_SHA256")
	setDefault(&so.DigestAlgorithm, "SHA256")
	setDefault(&so.AuthnContextClassRef, "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	need(nameIDFormats[so.SubjectNameIDFormat], "subjectNameIdFormat: unknown Name ID format "+so.SubjectNameIDFormat)
	need(so.SignatureAlgorithm == "RSA_SHA256" || so.SignatureAlgorithm == "RSA_SHA1", "signatureAlgorithm: must be RSA_SHA256 or RSA_SHA1")
	need(so.DigestAlgorithm == "SHA256" || so.DigestAlgorithm == "SHA1", "digestAlgorithm: must be SHA256 or SHA1")
	for i, st := range so.AttributeStatements {
		at := "attributeStatements[" + strconv.Itoa(i) + "]"
		need(st.Name != "", at+".name: required")
		setDefault(&so.AttributeStatements[i].Namespace, "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified")
		need(attributeNamespaces[so.AttributeStatements[i].Namespace], at+".namespace: unknown name format")
		switch st.Type {
		case "EXPRESSION", "":
			so.AttributeStatements[i].Type = "EXPRESSION"
			so.AttributeStatements[i].FilterType, so.AttributeStatements[i].FilterValue = "", ""
		case "GROUP":
			need(groupFilterTypes[st.FilterType], at+".filterType: must be STARTS_WITH, EQUALS, CONTAINS or REGEX")
			need(st.FilterValue != "", at+".filterValue: required")
			so.AttributeStatements[i].Values = nil
		default:
			causes = append(causes, at+".type: must be EXPRESSION or GROUP")
		}
	}
	seen := map[int]bool{}
	for _, e := range so.AcsEndpoints {
		need(validURL(e.URL), "acsEndpoints: "+e.URL+" is not a valid URL")
		need(!seen[e.Index], "acsEndpoints: index "+strconv.Itoa(e.Index)+" is used twice")
		seen[e.Index] = true
	}
	if so.SAMLSignedRequestEnabled || so.SLO.Enabled {
		need(so.SPCertificate != nil && len(so.SPCertificate.X5c) == 1 && validCertificate(so.SPCertificate.X5c[0]),
			"spCertificate: a valid certificate is required to verify signed requests and logout")
	}
	if so.SLO.Enabled {
		need(validURL(so.SLO.LogoutURL), "slo.logoutUrl: required when SLO is enabled")
		need(so.SLO.Issuer != "", "slo.issuer: required when SLO is enabled")
		so.SPIssuer = &so.SLO.Issuer // Okta answers with the SP's SLO issuer here
	}
	if so.AttributeStatements == nil {
		so.AttributeStatements = []attributeStatement{}
	}
	if so.AcsEndpoints == nil {
		so.AcsEndpoints = []acsEndpoint{}
	}
	so.IdpIssuer = "http://www.okta.com/${org.externalKey}"
	if so.InlineHooks == nil {
		so.InlineHooks = []any{}
	}
	so.AssertionEncryption = map[string]any{"enabled": false}
	return so, causes
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func validCertificate(b64 string) bool {
	der, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(b64, "\n", ""))
	if err != nil {
		return false
	}
	_, err = x509.ParseCertificate(der)
	return err == nil
}

// applyRequest validates a create or replace body against a (new or
// existing) app and sets its fields. It returns Okta's error when refused.
func (s *Server) applyRequest(a *app, req *appRequest) *apiError {
	if strings.TrimSpace(req.Label) == "" {
		e := errValidation("label", "label: The field cannot be left blank")
		return &e
	}
	if req.Settings == nil {
		e := errValidation("settings", "settings: required")
		return &e
	}
	if e := s.applySignOn(a, req); e != nil {
		return e
	}
	if req.Credentials != nil && req.Credentials.Signing != nil && req.Credentials.Signing.Kid != "" {
		if a.key(req.Credentials.Signing.Kid) == nil {
			e := errValidation("credentials.signing.kid", "credentials.signing.kid: the app has no key "+req.Credentials.Signing.Kid)
			return &e
		}
		a.activeKid = req.Credentials.Signing.Kid
	}
	a.label = req.Label
	if req.Accessibility != nil {
		a.accessibility = *req.Accessibility
	}
	if req.Visibility != nil {
		a.visibility = *req.Visibility
	}
	a.userNameTemplate = userNameTemplate{Template: "${source.login}", Type: "BUILT_IN"}
	if req.Credentials != nil && req.Credentials.UserNameTemplate != nil {
		a.userNameTemplate = *req.Credentials.UserNameTemplate
		setDefault(&a.userNameTemplate.Type, "BUILT_IN")
	}
	if a.family == familyPassword && a.userNameTemplate.Type == "CUSTOM" {
		// Okta would not push a custom user name to a password app's users.
		setDefault(&a.userNameTemplate.PushStatus, "DONT_PUSH")
	}
	a.implicitAssign = req.Settings.ImplicitAssignment
	a.notes = map[string]any{"admin": nil, "enduser": nil}
	for k, v := range req.Settings.Notes {
		a.notes[k] = v
	}
	return nil
}

// applySignOn sets what an app of each family needs to sign users in.
func (s *Server) applySignOn(a *app, req *appRequest) *apiError {
	if !a.fromCatalog() && a.family == familySAML {
		so, causes := parseCustomSignOn(req.Settings.SignOn)
		if len(causes) > 0 {
			e := errValidation("settings", causes...)
			return &e
		}
		s.linkInlineHooks(so.InlineHooks)
		a.signOn, a.settingsApp = so, map[string]any{}
		return nil
	}
	settings, e := catalogAppSettings(catalog[a.name], req)
	if e != nil {
		return e
	}
	a.settingsApp = settings
	switch {
	case a.family == familySAML:
		return applyCatalogSignOn(a, req)
	case a.family == familyOAuth && catalog[a.name].oauthClient:
		return s.applyOAuthClient(a, req)
	case a.family == familyPassword && !a.fromCatalog():
		if e := applyAutoLoginSignOn(a, req.Settings.SignOn); e != nil {
			return e
		}
		return applyPasswordCredentials(a, req)
	case a.family == familyPassword:
		return applyPasswordCredentials(a, req)
	}
	return nil
}

// linkInlineHooks adds the link Okta answers with to each SAML assertion
// inline hook an app names.
func (s *Server) linkInlineHooks(hooks []any) {
	for _, h := range hooks {
		if hook, ok := h.(map[string]any); ok {
			if id, _ := hook["id"].(string); id != "" {
				hook["_links"] = map[string]any{"self": map[string]any{"href": s.baseURL + "/api/v1/inlineHooks/" + id,
					"hints": map[string]any{"allow": []string{"GET", "PUT", "DELETE"}}}}
			}
		}
	}
}

// catalogAppSettings is settings.app of a catalog app: its known keys,
// null when not given.
func catalogAppSettings(entry catalogApp, req *appRequest) (map[string]any, *apiError) {
	settings := map[string]any{}
	for _, k := range entry.settings {
		if v := req.Settings.App[k]; v != "" { // Okta answers an empty setting as null
			settings[k] = v
		} else {
			settings[k] = nil
		}
	}
	var missing []string
	for _, k := range entry.required {
		if v, _ := settings[k].(string); v == "" {
			missing = append(missing, "settings.app."+k+": required")
		}
	}
	if len(missing) > 0 {
		e := errValidation("settings", missing...)
		return nil, &e
	}
	return settings, nil
}

func applyCatalogSignOn(a *app, req *appRequest) *apiError {
	so := &catalogSignOn{AttributeStatements: []attributeStatement{}}
	if len(req.Settings.SignOn) > 0 {
		if err := json.Unmarshal(req.Settings.SignOn, so); err != nil {
			e := errValidation("settings", "settings.signOn: "+err.Error())
			return &e
		}
		for _, p := range []**string{&so.DefaultRelayState, &so.SSOAcsURLOverride, &so.AudienceOverride, &so.RecipientOverride, &so.DestinationOverride} {
			if *p != nil && **p == "" {
				*p = nil
			}
		}
	}
	a.catalogSignOn = so
	return nil
}

// appNameSlug turns a label into the middle part of a generated app name.
func appNameSlug(label string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(label) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *Server) renderApp(a *app) map[string]any {
	appLinkName := a.name + "_link"
	if name := catalog[a.name].linkName; name != "" {
		appLinkName = name // catalog apps name their links; login is the sign-in tile
	}
	settings := map[string]any{
		"app": a.settingsApp,
		"notifications": map[string]any{"vpn": map[string]any{
			"network": map[string]any{"connection": "DISABLED"}, "message": nil, "helpUrl": nil}},
		"manualProvisioning": false,
		"implicitAssignment": a.implicitAssign,
		"notes":              a.notes,
	}
	if s.answersSince(releaseEmOptIn) {
		settings["emOptInStatus"] = "NONE"
	}
	s.renderSignOnSettings(a, settings)
	self := s.baseURL + "/api/v1/apps/" + a.id
	links := map[string]any{
		"uploadLogo": map[string]any{"href": self + "/logo", "hints": map[string]any{"allow": []string{"POST"}}},
		"appLinks":   []any{map[string]any{"name": appLinkName, "href": s.baseURL + "/home/" + a.name + "/" + a.id + "/" + a.linkID, "type": "text/html"}},
		"groups":     link(self + "/groups"),
		"logo":       []any{map[string]any{"name": "medium", "href": s.baseURL + "/assets/img/logos/default.png", "type": "image/png"}},
		"users":      link(self + "/users"),
	}
	switch a.family {
	case familySAML:
		if a.signOnMode == "SAML_2_0" {
			links["metadata"] = map[string]any{"href": self + "/sso/saml/metadata", "type": "application/xml"}
		}
		links["help"] = map[string]any{"href": strings.Replace(s.baseURL, "://", "://admin.", 1) + "/app/" + a.name + "/" + a.id + "/setup/help/" + a.signOnMode + "/instructions", "type": "text/html"}
	case familyOAuth:
		if catalog[a.name].oauthClient {
			links["clientCredentials"] = []any{map[string]any{"name": "secrets", "href": self + "/credentials/secrets"}}
		}
	}
	if s.hasAccessPolicies() {
		links["policies"] = map[string]any{"href": self + "/policies", "hints": map[string]any{"allow": []string{"PUT"}}}
		links["profileEnrollment"] = link(s.baseURL + "/api/v1/policies/rst" + a.id[3:])
		links["accessPolicy"] = link(s.baseURL + "/api/v1/policies/" + cmp.Or(a.accessPolicy, "rst"+a.id[3:]))
	}
	if a.status == "ACTIVE" {
		links["deactivate"] = link(self + "/lifecycle/deactivate")
	} else {
		links["activate"] = link(self + "/lifecycle/activate")
	}
	out := map[string]any{
		"id":            a.id,
		"orn":           "orn:okta:idp:" + s.org.id + ":apps:" + a.name + ":" + a.id,
		"name":          a.name,
		"label":         a.label,
		"status":        a.status,
		"lastUpdated":   timestamp(a.lastUpdated),
		"created":       timestamp(a.created),
		"accessibility": a.accessibility,
		"visibility": map[string]any{
			"autoLaunch": a.visibility.AutoLaunch, "autoSubmitToolbar": a.visibility.AutoSubmitToolbar,
			"hide": a.visibility.Hide, "appLinks": a.appLinksOr(appLinkName),
		},
		"features":    []string{},
		"signOnMode":  signOnModeValue(a.signOnMode),
		"credentials": a.renderCredentials(),
		"settings":    settings,
		"_links":      links,
	}
	if s.answersSince(releaseUniversalLogout) {
		out["universalLogout"] = s.universalLogoutOf(a)
	}
	return out
}

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	var req appRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	a := &app{status: "ACTIVE", name: strings.ToLower(req.Name)}
	if r.URL.Query().Get("activate") == "false" {
		a.status = "INACTIVE"
	}
	mode, e := signOnModeOf(&req)
	if e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	a.signOnMode, a.family = mode, familyOf(mode)
	var keys []*signingKey
	if a.family == familySAML {
		// Generating a key is slow; do it before taking the org lock.
		key, err := s.newSigningKey(10)
		if err != nil {
			s.writeError(w, http.StatusInternalServerError, errInternal)
			return
		}
		keys = []*signingKey{key}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a.id, a.externalKey, a.linkID = s.newID("0oa"), s.newID("exk"), s.newID("aln") // an OIDC client's ID is its app's
	if e := s.applyRequest(a, &req); e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	now := s.now()
	a.created, a.lastUpdated = now, now
	if len(keys) > 0 {
		a.keys, a.activeKid = keys, keys[0].kid
	}
	if a.family == familyOAuth {
		a.activeKid = s.org.tokenKid // OIDC apps sign with the org's key
	}
	a.groups, a.users = newOrdered[*appGroup](), newOrdered[*appUser]()
	a.accessPolicy = s.org.defaultAccessPolicy
	if a.name == "" {
		s.org.appCounter++
		a.name = s.cfg.OrgName + "_" + appNameSlug(a.label) + "_" + strconv.Itoa(s.org.appCounter)
	}
	s.org.apps.put(a.id, a)
	writeJSON(w, http.StatusOK, s.renderWithSecret(a))
}

// renderWithSecret is the answer to a create or a replace, the only ones
// that show an OIDC client's secret; reads never do.
func (s *Server) renderWithSecret(a *app) map[string]any {
	out := s.renderApp(a)
	if a.clientSecret != "" {
		creds := maps.Clone(a.oauthCredentials)
		creds["client_secret"] = a.clientSecret
		out["credentials"].(map[string]any)["oauthClient"] = creds
	}
	return out
}

// signOnModeOf is the sign-on mode Okta answers for a create: a custom app
// of a mode it accepts without a name, or a catalog app in one of its modes.
func signOnModeOf(req *appRequest) (string, *apiError) {
	if req.Name == "" {
		if _, ok := customModes[req.SignOnMode]; !ok {
			e := errValidation("signOnMode", "signOnMode: an app without a catalog name must be SAML_2_0 or AUTO_LOGIN; name the catalog app (oidc_client, template_swa, bookmark ...) for other modes")
			return "", &e
		}
		return req.SignOnMode, nil
	}
	entry, ok := catalog[strings.ToLower(req.Name)]
	if !ok {
		e := errValidation("name", "name: no app named "+req.Name+" in this org's catalog")
		return "", &e
	}
	mode, ok := entry.modeOf(req.SignOnMode)
	if !ok {
		e := errValidation("signOnMode", "signOnMode: the "+req.Name+" app does not support "+req.SignOnMode)
		return "", &e
	}
	return mode, nil
}

// lookupApp finds the app of the request's {appID}, answering 404 if none.
// Callers hold s.mu.
func (s *Server) lookupApp(w http.ResponseWriter, r *http.Request) (*app, bool) {
	id := r.PathValue("appID")
	a, ok := s.org.apps.get(id)
	if !ok {
		kind := "AppInstance"
		if s.org.deletedOAuthApps[id] {
			kind = "OAuth2AppInstance" // Okta remembers what a deleted app was
		}
		s.writeError(w, http.StatusNotFound, errNotFound(id, kind))
	}
	return a, ok
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.lookupApp(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderApp(a))
	}
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	filter, err := parseExpr(r.URL.Query().Get("filter"))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, errValidation("filter", err.Error()))
		return
	}
	q := strings.ToLower(r.URL.Query().Get("q"))
	var matched []*app
	for _, a := range s.org.apps.list() {
		if q != "" && !strings.HasPrefix(strings.ToLower(a.label), q) && !strings.HasPrefix(strings.ToLower(a.name), q) {
			continue
		}
		if !filter(map[string]string{"status": a.status, "name": a.name, "id": a.id, "label": a.label, "signOnMode": a.signOnMode}) {
			continue
		}
		matched = append(matched, a)
	}
	writeList(s, w, r, matched, 200, 200, func(a *app) string { return a.id },
		s.renderApp)
}

func (s *Server) updateApp(w http.ResponseWriter, r *http.Request) {
	var req appRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	if req.Name != "" && strings.ToLower(req.Name) != a.name {
		s.writeError(w, http.StatusBadRequest, errValidation("name", "name: an app's name cannot change"))
		return
	}
	if !a.takesMode(req.SignOnMode) {
		s.writeError(w, http.StatusBadRequest, errValidation("signOnMode", "signOnMode: an app's sign-on mode cannot change"))
		return
	}
	if a.family == familyPassword && !a.fromCatalog() && a.status != "ACTIVE" && req.Credentials != nil && req.Credentials.Scheme == sharedCredentials {
		// As recorded: a custom SWA app that is not active takes no shared credentials.
		s.writeError(w, http.StatusBadRequest, apiError{Code: "E0000024", Summary: "Bad request. This operation on app metadata is not yet supported.",
			Causes: []string{"This operation on app metadata is not yet supported: No active instances."}})
		return
	}
	updated := *a
	if e := s.applyRequest(&updated, &req); e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	updated.lastUpdated = s.now()
	*a = updated
	writeJSON(w, http.StatusOK, s.renderWithSecret(a))
}

func (s *Server) setAppStatus(w http.ResponseWriter, r *http.Request, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	if a.status != status {
		a.status, a.lastUpdated = status, s.now()
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) activateApp(w http.ResponseWriter, r *http.Request) { s.setAppStatus(w, r, "ACTIVE") }

func (s *Server) deactivateApp(w http.ResponseWriter, r *http.Request) {
	s.setAppStatus(w, r, "INACTIVE")
}

func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	if a.status == "ACTIVE" {
		s.writeError(w, http.StatusForbidden, apiError{Code: "E0000056", Summary: "Delete application forbidden.",
			Causes: []string{"The application must be deactivated before it can be deleted."}})
		return
	}
	s.org.apps.remove(a.id)
	if a.family == familyOAuth {
		s.org.deletedOAuthApps[a.id] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getAppMetadata(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	kid := r.URL.Query().Get("kid")
	if kid == "" {
		kid = a.activeKid
	}
	k := a.key(kid)
	if k == nil {
		s.writeError(w, http.StatusNotFound, errNotFound(kid, "Key"))
		return
	}
	body := s.idpMetadata(a, k)
	w.Header().Set("Content-Type", "application/xml;charset=ISO-8859-1")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

func (s *Server) listAppKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	keys := make([]any, 0, len(a.keys))
	for _, k := range a.keys {
		keys = append(keys, k.jwk())
	}
	writeJSON(w, http.StatusOK, keys)
}

func (s *Server) getAppKey(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	k := a.key(r.PathValue("kid"))
	if k == nil {
		s.writeError(w, http.StatusNotFound, errNotFound(r.PathValue("kid"), "Key"))
		return
	}
	writeJSON(w, http.StatusOK, k.jwk())
}

func (s *Server) generateAppKey(w http.ResponseWriter, r *http.Request) {
	years, err := strconv.Atoi(r.URL.Query().Get("validityYears"))
	if err != nil || years < 2 || years > 10 {
		s.writeError(w, http.StatusBadRequest, errValidation("validityYears", "validityYears: must be a whole number from 2 to 10"))
		return
	}
	s.mu.Lock()
	_, ok := s.lookupApp(w, r)
	s.mu.Unlock()
	if !ok {
		return
	}
	key, err := s.newSigningKey(years)
	if err != nil {
		s.writeError(w, http.StatusInternalServerError, errInternal)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r) // it may have been deleted meanwhile
	if !ok {
		return
	}
	a.keys = append(a.keys, key)
	writeJSON(w, http.StatusCreated, key.jwk())
}
