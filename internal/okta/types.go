package okta

import (
	"crypto/x509"
	"encoding/base64"
	"strings"
	"time"
)

// App is an Okta app integration, in the fields the operator manages. Okta's
// replace (PUT) takes the whole object, so a read-modify-write keeps these.
type App struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Label      string `json:"label"`
	Status     string `json:"status,omitempty"`
	SignOnMode string `json:"signOnMode"`
	// Created and LastUpdated are set by Okta.
	Created     *time.Time     `json:"created,omitempty"`
	LastUpdated *time.Time     `json:"lastUpdated,omitempty"`
	Visibility  *AppVisibility `json:"visibility,omitempty"`
	Credentials AppCredentials `json:"credentials"`
	Settings    AppSettings    `json:"settings"`
	Links       AppLinks       `json:"_links,omitzero"`
}

// App statuses.
const (
	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"
)

// Sign-on modes: a SAML 2.0 app, and a bookmark app (a tile that opens a URL).
const (
	SignOnModeSAML2    = "SAML_2_0"
	SignOnModeBookmark = "BOOKMARK"
)

// AppVisibility controls the app's tile.
type AppVisibility struct {
	AutoSubmitToolbar bool    `json:"autoSubmitToolbar"`
	Hide              AppHide `json:"hide"`
}

// AppHide hides the tile on the web dashboard and on iOS.
type AppHide struct {
	IOS bool `json:"iOS"`
	Web bool `json:"web"`
}

// AppCredentials holds the username template and the signing key in use.
type AppCredentials struct {
	UserNameTemplate *UserNameTemplate `json:"userNameTemplate,omitempty"`
	Signing          *AppSigning       `json:"signing,omitempty"`
}

// UserNameTemplate makes the app username; Type is BUILT_IN or CUSTOM.
type UserNameTemplate struct {
	Template string `json:"template"`
	Type     string `json:"type"`
}

// AppSigning names the key Okta signs assertions with.
type AppSigning struct {
	Kid string `json:"kid,omitempty"`
}

// AppSettings holds the catalog app settings and the SAML settings.
type AppSettings struct {
	// App is the catalog app's own settings (settings.app), free-form.
	App    map[string]any `json:"app"`
	Notes  *AppNotes      `json:"notes,omitempty"`
	SignOn *SAMLSignOn    `json:"signOn,omitempty"`
}

// AppNotes are the notes shown to admins and to end users.
type AppNotes struct {
	Admin   *string `json:"admin"`
	Enduser *string `json:"enduser"`
}

// SAMLSignOn is settings.signOn of a SAML 2.0 app. Custom apps use the plain
// fields; catalog apps use the *Override fields.
type SAMLSignOn struct {
	DefaultRelayState         string               `json:"defaultRelayState,omitempty"`
	SSOAcsURL                 string               `json:"ssoAcsUrl,omitempty"`
	IdpIssuer                 string               `json:"idpIssuer,omitempty"`
	Audience                  string               `json:"audience,omitempty"`
	Recipient                 string               `json:"recipient,omitempty"`
	Destination               string               `json:"destination,omitempty"`
	SubjectNameIDTemplate     string               `json:"subjectNameIdTemplate,omitempty"`
	SubjectNameIDFormat       string               `json:"subjectNameIdFormat,omitempty"`
	ResponseSigned            bool                 `json:"responseSigned"`
	AssertionSigned           bool                 `json:"assertionSigned"`
	SignatureAlgorithm        string               `json:"signatureAlgorithm,omitempty"`
	DigestAlgorithm           string               `json:"digestAlgorithm,omitempty"`
	HonorForceAuthn           bool                 `json:"honorForceAuthn"`
	AuthnContextClassRef      string               `json:"authnContextClassRef,omitempty"`
	RequestCompressed         bool                 `json:"requestCompressed"`
	AttributeStatements       []AttributeStatement `json:"attributeStatements"`
	AllowMultipleAcsEndpoints bool                 `json:"allowMultipleAcsEndpoints"`
	AcsEndpoints              []AcsEndpoint        `json:"acsEndpoints,omitempty"`
	SAMLSignedRequestEnabled  bool                 `json:"samlSignedRequestEnabled"`
	SLO                       *SingleLogout        `json:"slo,omitempty"`
	SPCertificate             *SPCertificate       `json:"spCertificate,omitempty"`

	SSOAcsURLOverride   string `json:"ssoAcsUrlOverride,omitempty"`
	AudienceOverride    string `json:"audienceOverride,omitempty"`
	RecipientOverride   string `json:"recipientOverride,omitempty"`
	DestinationOverride string `json:"destinationOverride,omitempty"`
}

// AttributeStatement is one SAML attribute: Type EXPRESSION with Values, or
// GROUP with a filter.
type AttributeStatement struct {
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Namespace   string   `json:"namespace"`
	Values      []string `json:"values,omitempty"`
	FilterType  string   `json:"filterType,omitempty"`
	FilterValue string   `json:"filterValue,omitempty"`
}

// AcsEndpoint is one ACS URL the SP may request by index.
type AcsEndpoint struct {
	URL   string `json:"url"`
	Index int    `json:"index"`
}

// SingleLogout configures SAML single logout.
type SingleLogout struct {
	Enabled   bool   `json:"enabled"`
	Issuer    string `json:"issuer,omitempty"`
	LogoutURL string `json:"logoutUrl,omitempty"`
}

// SPCertificate is the SP's certificate (base64 DER), used to verify signed
// requests and logout messages.
type SPCertificate struct {
	X5c []string `json:"x5c"`
}

// AppLinks are the links of an app the operator follows or hands over.
type AppLinks struct {
	Metadata *Link  `json:"metadata,omitempty"`
	AppLinks []Link `json:"appLinks,omitempty"`
	// AccessPolicy links the app's sign-on policy; orgs without app
	// sign-on policies (Classic Engine, until 2025) have none.
	AccessPolicy *Link `json:"accessPolicy,omitempty"`
}

// AccessPolicyID is the ID of the app's sign-on policy, empty when the org
// links none.
func (a *App) AccessPolicyID() string {
	if a.Links.AccessPolicy == nil {
		return ""
	}
	href := strings.TrimRight(a.Links.AccessPolicy.Href, "/")
	return href[strings.LastIndex(href, "/")+1:]
}

// Policy is an app sign-on (access) policy.
type Policy struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	System bool   `json:"system"`
}

// Link is one _links entry.
type Link struct {
	Name string `json:"name,omitempty"`
	Href string `json:"href"`
}

// JWK is an app signing key or an IdP trust key.
type JWK struct {
	Kid         string    `json:"kid"`
	Kty         string    `json:"kty"`
	Use         string    `json:"use"`
	Alg         string    `json:"alg,omitempty"`
	Created     time.Time `json:"created"`
	LastUpdated time.Time `json:"lastUpdated"`
	ExpiresAt   time.Time `json:"expiresAt"`
	X5c         []string  `json:"x5c"`
	X5tS256     string    `json:"x5t#S256"`
	E           string    `json:"e"`
	N           string    `json:"n"`
}

// AppGroupAssignment is a group's assignment to an app.
type AppGroupAssignment struct {
	ID          string         `json:"id,omitempty"`
	Priority    *int           `json:"priority,omitempty"`
	Profile     map[string]any `json:"profile"`
	LastUpdated *time.Time     `json:"lastUpdated,omitempty"`
}

// AppUser is a user's access to an app: Scope USER (direct) or GROUP.
type AppUser struct {
	ID          string              `json:"id"`
	Scope       string              `json:"scope,omitempty"`
	Status      string              `json:"status,omitempty"`
	Credentials *AppUserCredentials `json:"credentials,omitempty"`
	Profile     map[string]any      `json:"profile,omitempty"`
	// Embedded holds the Okta user when listed with expand=user.
	Embedded *AppUserEmbedded `json:"_embedded,omitempty"`
}

// AppUserEmbedded is what expand=user adds to an app user.
type AppUserEmbedded struct {
	User *User `json:"user,omitempty"`
}

// AppUserCredentials is the username the app sees.
type AppUserCredentials struct {
	UserName string `json:"userName,omitempty"`
}

// Group is an Okta group.
type Group struct {
	ID      string       `json:"id"`
	Type    string       `json:"type"`
	Profile GroupProfile `json:"profile"`
}

// GroupProfile names a group.
type GroupProfile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// User is an Okta user.
type User struct {
	ID      string         `json:"id"`
	Status  string         `json:"status"`
	Profile map[string]any `json:"profile"`
}

// Okta user states that take away the use of apps: a deactivated user
// (DEPROVISIONED) or a suspended one. A LOCKED_OUT user is not among them:
// a lockout (too many wrong passwords) lifts by itself or at the help desk,
// and is no reason to take an assignment or an account away.
const (
	UserDeprovisioned = "DEPROVISIONED"
	UserSuspended     = "SUSPENDED"
)

// UserLeft says whether a user in this state has lost the use of apps: an
// SSOBinding does not assign them, an AccountSync deactivates their account.
func UserLeft(status string) bool {
	return status == UserDeprovisioned || status == UserSuspended
}

// Login returns the user's login.
func (u *User) Login() string {
	s, _ := u.Profile["login"].(string)
	return s
}

// IdentityProvider is an inbound SAML 2.0 IdP (the hub side of federation)
// as Okta's JSON object; its settings are many and nested, so it is kept
// free-form and read through helpers.
type IdentityProvider map[string]any

// ID returns the IdP's Okta ID.
func (p IdentityProvider) ID() string { s, _ := p["id"].(string); return s }

// Type returns the IdP's protocol family (SAML2, OIDC, GOOGLE ...).
func (p IdentityProvider) Type() string { s, _ := p["type"].(string); return s }

// Name returns the IdP's name.
func (p IdentityProvider) Name() string { s, _ := p["name"].(string); return s }

// Created is when Okta created the IdP (zero when absent).
func (p IdentityProvider) Created() time.Time {
	s, _ := p["created"].(string)
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// Status returns ACTIVE or INACTIVE.
func (p IdentityProvider) Status() string { s, _ := p["status"].(string); return s }

// trust is the IdP's protocol.credentials.trust object (nil when absent).
func (p IdentityProvider) trust() map[string]any {
	protocol, _ := p["protocol"].(map[string]any)
	credentials, _ := protocol["credentials"].(map[string]any)
	trust, _ := credentials["trust"].(map[string]any)
	return trust
}

// TrustKid is the ID of the IdP key the IdP verifies responses with.
func (p IdentityProvider) TrustKid() string { s, _ := p.trust()["kid"].(string); return s }

// SetTrustKid points the IdP at another IdP key; false when the IdP has no
// trust object to change.
func (p IdentityProvider) SetTrustKid(kid string) bool {
	t := p.trust()
	if t == nil {
		return false
	}
	t["kid"] = kid
	return true
}

// Audience is the audience the org expects in this IdP's assertions (its
// SP entity ID), which the IdP's side must send.
func (p IdentityProvider) Audience() string { s, _ := p.trust()["audience"].(string); return s }

// ACSURL is where the IdP's side must post its responses.
func (p IdentityProvider) ACSURL() string {
	links, _ := p["_links"].(map[string]any)
	acs, _ := links["acs"].(map[string]any)
	s, _ := acs["href"].(string)
	return s
}

// CertificateOf parses an x5c entry (base64 DER, as Okta answers it, line
// breaks and all).
func CertificateOf(x5c string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\n", "", "\r", "").Replace(x5c))
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
