package emulator

import (
	"encoding/json"
	"strings"
)

// An org holds apps of every sign-on mode, not only the SAML apps the
// operator manages: the operator lists past them, and bindings may assign
// groups to them. Each family below answers in the shape Okta's recordings
// show for it.

// signOnFamily is how an app signs users in, which decides the shape of
// its credentials and settings.
type signOnFamily string

const (
	familySAML     signOnFamily = "saml"     // a signing key; settings.signOn
	familyOAuth    signOnFamily = "oauth"    // an OAuth 2.0 / OIDC client
	familyPassword signOnFamily = "password" // a user name and password Okta stores and fills in
	familyBookmark signOnFamily = "bookmark" // a tile that opens a URL
	familyNone     signOnFamily = "none"     // a catalog app Okta answers with no sign-on mode (deelhr)
)

// customModes are the sign-on modes an app without a catalog name may use.
var customModes = map[string]signOnFamily{"SAML_2_0": familySAML, "AUTO_LOGIN": familyPassword}

// passwordCredentials are credentials.scheme and revealPassword of an app
// Okta signs in to with a stored password.
type passwordCredentials struct {
	Scheme         string `json:"scheme"`
	RevealPassword bool   `json:"revealPassword"`
	// UserName is the one user name everyone signs in with, under
	// SHARED_USERNAME_AND_PASSWORD (the password is never answered).
	UserName string `json:"userName"`
}

const sharedCredentials = "SHARED_USERNAME_AND_PASSWORD"

var passwordSchemes = map[string]bool{"EDIT_USERNAME_AND_PASSWORD": true, "ADMIN_SETS_CREDENTIALS": true,
	"EDIT_PASSWORD_ONLY": true, "EXTERNAL_PASSWORD_SYNC": true, "SHARED_USERNAME_AND_PASSWORD": true}

// oauthClientDefaults are the keys Okta adds to an OIDC client's
// settings.oauthClient when a create leaves them out.
var oauthClientDefaults = map[string]any{"client_uri": nil, "logo_uri": nil, "consent_method": "TRUSTED",
	"participate_slo": false, "wildcard_redirect": "DISABLED", "dpop_bound_access_tokens": false,
	"issuer_mode": "ORG_URL", "idp_initiated_login": map[string]any{"mode": "DISABLED", "default_scope": []any{}}}

var tokenAuthMethods = map[string]bool{"client_secret_basic": true, "client_secret_post": true,
	"client_secret_jwt": true, "private_key_jwt": true, "none": true}

// applyOAuthClient validates an OIDC client's settings and credentials and
// fills what Okta generates: the client ID (the app's ID) and, for methods
// that use one, a client secret kept across updates.
func (s *Server) applyOAuthClient(a *app, req *appRequest) *apiError {
	settings := map[string]any{}
	for k, v := range oauthClientDefaults {
		settings[k] = v
	}
	for k, v := range req.Settings.OAuthClient {
		settings[k] = v
	}
	var causes []string
	if types, _ := settings["grant_types"].([]any); len(types) == 0 {
		causes = append(causes, "settings.oauthClient.grant_types: at least one grant type is required")
	}
	if appType, _ := settings["application_type"].(string); appType == "" {
		causes = append(causes, "settings.oauthClient.application_type: required (web, native, browser or service)")
	}
	creds := map[string]any{"autoKeyRotation": true, "token_endpoint_auth_method": "client_secret_basic", "pkce_required": false}
	if req.Credentials != nil {
		for k, v := range req.Credentials.OAuthClient {
			creds[k] = v
		}
	}
	method, _ := creds["token_endpoint_auth_method"].(string)
	if !tokenAuthMethods[method] {
		causes = append(causes, "credentials.oauthClient.token_endpoint_auth_method: unknown method "+method)
	}
	if len(causes) > 0 {
		e := errValidation("settings", causes...)
		return &e
	}
	creds["client_id"] = a.id
	delete(creds, "client_secret")
	if strings.HasPrefix(method, "client_secret") && a.clientSecret == "" {
		a.clientSecret = s.newSecret()
	}
	a.oauthSettings, a.oauthCredentials = settings, creds
	return nil
}

// newSecret is a client secret in Okta's form: 64 URL-safe characters.
func (s *Server) newSecret() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 64)
	for i := range b {
		b[i] = alphabet[s.rand.IntN(len(alphabet))]
	}
	return string(b)
}

// applyPasswordCredentials reads the scheme of an app Okta signs in to
// with a stored password.
func applyPasswordCredentials(a *app, req *appRequest) *apiError {
	creds := passwordCredentials{Scheme: "EDIT_USERNAME_AND_PASSWORD"}
	if req.Credentials != nil {
		if req.Credentials.Scheme != "" {
			creds.Scheme = req.Credentials.Scheme
		}
		creds.RevealPassword = req.Credentials.RevealPassword
		if creds.Scheme == sharedCredentials {
			creds.UserName = req.Credentials.UserName
		}
	}
	if !passwordSchemes[creds.Scheme] {
		e := errValidation("credentials.scheme", "credentials.scheme: unknown scheme "+creds.Scheme)
		return &e
	}
	a.password = &creds
	return nil
}

// applyAutoLoginSignOn reads settings.signOn of a custom SWA app (AUTO_LOGIN
// without a catalog name): the login page Okta fills in.
func applyAutoLoginSignOn(a *app, raw json.RawMessage) *apiError {
	var so struct {
		LoginURL    string  `json:"loginUrl"`
		RedirectURL *string `json:"redirectUrl"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &so); err != nil {
			e := errValidation("settings", "settings.signOn: "+err.Error())
			return &e
		}
	}
	if !validURL(so.LoginURL) {
		e := errValidation("settings", "settings.signOn.loginUrl: a valid login URL is required")
		return &e
	}
	a.autoLogin = map[string]any{"loginUrl": so.LoginURL, "redirectUrl": so.RedirectURL}
	return nil
}

// renderCredentials is an app's credentials in its family's shape.
func (a *app) renderCredentials() map[string]any {
	creds := map[string]any{"userNameTemplate": a.userNameTemplate, "signing": map[string]any{}}
	switch a.family {
	case familySAML:
		creds["signing"] = map[string]any{"kid": a.activeKid}
	case familyOAuth:
		creds["signing"] = map[string]any{"kid": a.activeKid}
		if a.oauthCredentials != nil {
			creds["oauthClient"] = a.oauthCredentials
		}
	case familyPassword:
		creds["scheme"], creds["revealPassword"] = a.password.Scheme, a.password.RevealPassword
		if a.password.Scheme == sharedCredentials {
			creds["userName"], creds["password"] = a.password.UserName, map[string]any{}
		}
	}
	return creds
}

// renderSignOnSettings adds the family's own keys to settings.
func (s *Server) renderSignOnSettings(a *app, settings map[string]any) {
	switch {
	case a.signOn != nil && a.signOn.DefaultRelayState == "" && s.answersSince(releaseNullRelayState):
		settings["signOn"] = withNull(a.signOn, "defaultRelayState")
	case a.signOn != nil:
		settings["signOn"] = a.signOn
	case a.catalogSignOn != nil && a.signOnMode == "SAML_1_1":
		so := a.catalogSignOn
		settings["signOn"] = map[string]any{"defaultRelayState": so.DefaultRelayState, "ssoAcsUrlOverride": so.SSOAcsURLOverride,
			"audienceOverride": so.AudienceOverride, "recipientOverride": so.RecipientOverride}
	case a.catalogSignOn != nil:
		settings["signOn"] = a.catalogSignOn
	case a.autoLogin != nil:
		settings["signOn"] = a.autoLogin
	}
	if a.oauthSettings != nil {
		settings["oauthClient"] = a.oauthSettings
	}
}

// universalLogoutOf is what Okta says of an app's Universal Logout support:
// null until 2026, then the global token revocation custom SAML and OIDC
// apps can have, and UNSUPPORTED for the rest.
func (s *Server) universalLogoutOf(a *app) any {
	if !s.answersSince(releaseUniversalLogoutStatus) || a.family == familyBookmark {
		return nil
	}
	if a.signOn != nil || a.oauthSettings != nil {
		return map[string]any{"status": "DISABLED", "supportType": "FULL", "identityStack": "NOT_SHARED", "protocol": "GLOBAL_TOKEN_REVOCATION"}
	}
	return map[string]any{"status": "UNSUPPORTED"}
}

// withNull is v as a JSON object with key set to null.
func withNull(v any, key string) map[string]any {
	data, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	out[key] = nil
	return out
}
