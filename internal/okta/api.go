package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// API is what controllers may ask of Okta. Every call is idempotent in
// effect: deleting or unassigning what is already gone succeeds.
type API interface {
	ListApps(ctx context.Context, q AppQuery) ([]App, error)
	GetApp(ctx context.Context, appID string) (*App, error)
	CreateApp(ctx context.Context, app *App, activate bool) (*App, error)
	UpdateApp(ctx context.Context, app *App) (*App, error)
	ActivateApp(ctx context.Context, appID string) error
	DeactivateApp(ctx context.Context, appID string) error
	DeleteApp(ctx context.Context, appID string) error

	// Throttled tells whether the org's budget would refuse a request in
	// bucket (one of the Bucket names) now, and until when, so a caller can
	// wait before doing any work that leads to it.
	Throttled(ctx context.Context, bucket string) (time.Time, bool)
	// MadeChange tells whether the operator made the change with this
	// request ID (a System Log event's transaction.id) in the org.
	MadeChange(requestID string) bool

	ListAccessPolicies(ctx context.Context) ([]Policy, error)
	AssignAccessPolicy(ctx context.Context, appID, policyID string) error

	GetSAMLMetadata(ctx context.Context, appID, kid string) ([]byte, error)
	ListAppKeys(ctx context.Context, appID string) ([]JWK, error)
	GetAppKey(ctx context.Context, appID, kid string) (*JWK, error)
	GenerateAppKey(ctx context.Context, appID string, validityYears int) (*JWK, error)

	ListAppGroups(ctx context.Context, appID string) ([]AppGroupAssignment, error)
	AssignGroup(ctx context.Context, appID, groupID string, a AppGroupAssignment) (*AppGroupAssignment, error)
	UnassignGroup(ctx context.Context, appID, groupID string) error

	ListAppUsers(ctx context.Context, appID string) ([]AppUser, error)
	ListAppUsersWithProfiles(ctx context.Context, appID string, page func([]AppUser) error) error
	GetAppUser(ctx context.Context, appID, userID string) (*AppUser, error)
	AssignUser(ctx context.Context, appID string, u AppUser) (*AppUser, error)
	UnassignUser(ctx context.Context, appID, userID string) error

	FindGroupByName(ctx context.Context, name string) (*Group, error)
	FindUserByLogin(ctx context.Context, login string) (*User, error)
	GetUser(ctx context.Context, userID string) (*User, error)
	ListUserGroups(ctx context.Context, userID string) ([]Group, error)
	ListGroupMembers(ctx context.Context, groupID string) ([]User, error)

	// LogEvents reads one page of the System Log from a cursor or a time.
	LogEvents(ctx context.Context, q LogQuery) (LogPage, error)

	ListIdentityProviders(ctx context.Context, q string) ([]IdentityProvider, error)
	GetIdentityProvider(ctx context.Context, idpID string) (IdentityProvider, error)
	CreateIdentityProvider(ctx context.Context, idp IdentityProvider) (IdentityProvider, error)
	UpdateIdentityProvider(ctx context.Context, idpID string, idp IdentityProvider) (IdentityProvider, error)
	ActivateIdentityProvider(ctx context.Context, idpID string) error
	DeactivateIdentityProvider(ctx context.Context, idpID string) error
	DeleteIdentityProvider(ctx context.Context, idpID string) error
	ProvisioningConnection(ctx context.Context, appID string) (*ProvisioningConnection, error)
	SetProvisioningToken(ctx context.Context, appID, token string, activate bool) (*ProvisioningConnection, error)
	SetProvisioningConnectionActive(ctx context.Context, appID string, active bool) error
	SetUserProvisioning(ctx context.Context, appID string, caps ProvisioningCapabilities) (*ProvisioningFeature, error)
	ListGroupPushMappings(ctx context.Context, appID string) ([]GroupPushMapping, error)
	CreateGroupPushMapping(ctx context.Context, appID string, m NewGroupPushMapping) (*GroupPushMapping, error)
	SetGroupPushMappingStatus(ctx context.Context, appID, mappingID, status string) (*GroupPushMapping, error)
	DeleteGroupPushMapping(ctx context.Context, appID, mappingID string, deleteTarget bool) error
	AppProfileMapping(ctx context.Context, appID string) (*ProfileMapping, error)
	UpdateProfileMapping(ctx context.Context, mappingID string, properties map[string]*MappingProperty) (*ProfileMapping, error)

	ListIdPKeys(ctx context.Context) ([]JWK, error)
	CreateIdPKey(ctx context.Context, x5c []string) (*JWK, error)
	GetIdPKey(ctx context.Context, kid string) (*JWK, error)
	DeleteIdPKey(ctx context.Context, kid string) error
}

var _ API = (*Client)(nil)

// AppQuery narrows ListApps: Q matches the start of a label or name,
// Filter is an Okta filter such as status eq "ACTIVE".
type AppQuery struct {
	Q, Filter string
	// Limit is the page size (Okta's maximum is 200); all pages are read.
	Limit int
}

func (c *Client) ListApps(ctx context.Context, q AppQuery) ([]App, error) {
	query := url.Values{}
	if q.Q != "" {
		query.Set("q", q.Q)
	}
	if q.Filter != "" {
		query.Set("filter", q.Filter)
	}
	query.Set("limit", strconv.Itoa(clamp(q.Limit, 200, 200)))
	return collect[App](ctx, c, call{path: "/api/v1/apps", query: query})
}

func clamp(n, def, maxN int) int {
	if n <= 0 {
		return def
	}
	return min(n, maxN)
}

func (c *Client) GetApp(ctx context.Context, appID string) (*App, error) {
	var app App
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/apps/" + url.PathEscape(appID), idempotent: true}, &app)
	if err == nil {
		err = answerIs("app", appID, app.ID)
	}
	return &app, err
}

// answerIs refuses an answer that is not the object asked for (a proxy's
// 200 with an error body, another object): acting on it could write the
// wrong object, or one with no ID at all.
func answerIs(kind, want, got string) error {
	if want != got {
		return fmt.Errorf("okta answered a request for %s %s with %s", kind, want, describeID(got))
	}
	return nil
}

func describeID(id string) string {
	if id == "" {
		return "an object without an id"
	}
	return fmt.Sprintf("the object %.40s", id)
}

// CreateApp creates a custom SAML app (app.Name empty) or a catalog app
// (app.Name set). It is never retried: a retry after a lost answer could
// make a second app, so the caller's create-pending marker decides.
func (c *Client) CreateApp(ctx context.Context, app *App, activate bool) (*App, error) {
	var out App
	q := url.Values{"activate": {strconv.FormatBool(activate)}}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/apps", query: q, body: appBody(app)}, &out)
	if err == nil && out.ID == "" {
		err = errors.New("okta answered the app's create with an object without an id")
	}
	return &out, err
}

// UpdateApp replaces the app (Okta's PUT takes the whole object).
func (c *Client) UpdateApp(ctx context.Context, app *App) (*App, error) {
	var out App
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/api/v1/apps/" + url.PathEscape(app.ID), body: appBody(app), idempotent: true}, &out)
	if err == nil {
		err = answerIs("app", app.ID, out.ID)
	}
	return &out, err
}

// appBody is an app as Okta takes it: without the fields Okta sets (id,
// status, timestamps, links), and, for a custom SAML app, with the sign-on
// fields Okta requires filled with Okta's own defaults where unset.
func appBody(app *App) *App {
	body := *app
	body.ID, body.Status, body.Created, body.LastUpdated, body.Links = "", "", nil, nil, AppLinks{}
	if app.Settings.SignOn == nil || app.Name != "" && app.Settings.SignOn.SSOAcsURL == "" {
		return &body // a catalog app: its sign-on settings are overrides
	}
	so := *app.Settings.SignOn
	if so.AttributeStatements == nil {
		so.AttributeStatements = []AttributeStatement{}
	}
	orDefault := func(field *string, def string) {
		if *field == "" {
			*field = def
		}
	}
	orDefault(&so.Recipient, so.SSOAcsURL)
	orDefault(&so.Destination, so.SSOAcsURL)
	orDefault(&so.AuthnContextClassRef, "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	orDefault(&so.IdpIssuer, "http://www.okta.com/${org.externalKey}")
	body.Settings.SignOn = &so
	return &body
}

func (c *Client) lifecycle(ctx context.Context, collection, id, action string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/" + collection + "/" + url.PathEscape(id) + "/lifecycle/" + action, idempotent: true}, nil)
	return err
}

func (c *Client) ActivateApp(ctx context.Context, appID string) error {
	return c.lifecycle(ctx, "apps", appID, "activate")
}

func (c *Client) DeactivateApp(ctx context.Context, appID string) error {
	return c.lifecycle(ctx, "apps", appID, "deactivate")
}

// DeleteApp deletes an INACTIVE app; an app that is already gone is success.
func (c *Client) DeleteApp(ctx context.Context, appID string) error {
	return ignoreNotFound(c.delete(ctx, "/api/v1/apps/"+url.PathEscape(appID)))
}

func (c *Client) delete(ctx context.Context, path string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: path, idempotent: true}, nil)
	return err
}

func ignoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

func (c *Client) Throttled(ctx context.Context, bucket string) (time.Time, bool) {
	return c.budget.Refuses(bucket, ShareOf(ctx))
}

// ListAccessPolicies lists the org's app sign-on policies.
func (c *Client) ListAccessPolicies(ctx context.Context) ([]Policy, error) {
	return collect[Policy](ctx, c, call{path: "/api/v1/policies", query: url.Values{"type": {"ACCESS_POLICY"}, "limit": {"200"}}})
}

// AssignAccessPolicy makes policyID the app's sign-on policy.
func (c *Client) AssignAccessPolicy(ctx context.Context, appID, policyID string) error {
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/api/v1/apps/" + url.PathEscape(appID) + "/policies/" + url.PathEscape(policyID), idempotent: true}, nil)
	return err
}

// GetSAMLMetadata returns the app's IdP metadata XML for one signing key
// (the active one when kid is empty).
func (c *Client) GetSAMLMetadata(ctx context.Context, appID, kid string) ([]byte, error) {
	q := url.Values{}
	if kid != "" {
		q.Set("kid", kid)
	}
	resp, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/apps/" + url.PathEscape(appID) + "/sso/saml/metadata",
		query: q, accept: "application/xml", idempotent: true}, nil)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

func (c *Client) ListAppKeys(ctx context.Context, appID string) ([]JWK, error) {
	var keys []JWK
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/apps/" + url.PathEscape(appID) + "/credentials/keys", idempotent: true}, &keys)
	return keys, err
}

func (c *Client) GetAppKey(ctx context.Context, appID, kid string) (*JWK, error) {
	var key JWK
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/apps/" + url.PathEscape(appID) + "/credentials/keys/" + url.PathEscape(kid), idempotent: true}, &key)
	return &key, err
}

// GenerateAppKey adds a new signing key to the app (not yet in use). Not
// retried, since a retry could add a second key.
func (c *Client) GenerateAppKey(ctx context.Context, appID string, validityYears int) (*JWK, error) {
	var key JWK
	q := url.Values{"validityYears": {strconv.Itoa(validityYears)}}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/apps/" + url.PathEscape(appID) + "/credentials/keys/generate", query: q}, &key)
	return &key, err
}

func (c *Client) ListAppGroups(ctx context.Context, appID string) ([]AppGroupAssignment, error) {
	return collect[AppGroupAssignment](ctx, c, call{path: "/api/v1/apps/" + url.PathEscape(appID) + "/groups", query: url.Values{"limit": {"200"}}})
}

// AssignGroup assigns (or re-assigns, with a new priority and profile) a group.
func (c *Client) AssignGroup(ctx context.Context, appID, groupID string, a AppGroupAssignment) (*AppGroupAssignment, error) {
	if a.Profile == nil {
		a.Profile = map[string]any{}
	}
	a.ID, a.LastUpdated = "", nil // set by Okta
	var out AppGroupAssignment
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/api/v1/apps/" + url.PathEscape(appID) + "/groups/" + url.PathEscape(groupID), body: a, idempotent: true}, &out)
	return &out, err
}

func (c *Client) UnassignGroup(ctx context.Context, appID, groupID string) error {
	return ignoreNotFound(c.delete(ctx, "/api/v1/apps/"+url.PathEscape(appID)+"/groups/"+url.PathEscape(groupID)))
}

func (c *Client) ListAppUsers(ctx context.Context, appID string) ([]AppUser, error) {
	return collect[AppUser](ctx, c, call{path: "/api/v1/apps/" + url.PathEscape(appID) + "/users", query: url.Values{"limit": {"500"}}})
}

// ListAppUsersWithProfiles lists the app's users with each Okta user
// embedded (expand=user): their profiles and status in the same pages, not
// one read per user. Each page is handed to page as it comes, so a caller
// can keep what it needs of 100,000 users instead of all of them.
func (c *Client) ListAppUsersWithProfiles(ctx context.Context, appID string, page func([]AppUser) error) error {
	return listAll(ctx, c, call{path: "/api/v1/apps/" + url.PathEscape(appID) + "/users", query: url.Values{"limit": {"500"}, "expand": {"user"}}}, page)
}

func (c *Client) GetAppUser(ctx context.Context, appID, userID string) (*AppUser, error) {
	var out AppUser
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/apps/" + url.PathEscape(appID) + "/users/" + url.PathEscape(userID), idempotent: true}, &out)
	return &out, err
}

// AssignUser assigns a user directly; assigning again updates the profile.
func (c *Client) AssignUser(ctx context.Context, appID string, u AppUser) (*AppUser, error) {
	var out AppUser
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/apps/" + url.PathEscape(appID) + "/users", body: u, idempotent: true}, &out)
	return &out, err
}

func (c *Client) UnassignUser(ctx context.Context, appID, userID string) error {
	return ignoreNotFound(c.delete(ctx, "/api/v1/apps/"+url.PathEscape(appID)+"/users/"+url.PathEscape(userID)))
}

// FindGroupByName finds the Okta group with exactly this name; a NotFound
// APIError when there is none.
func (c *Client) FindGroupByName(ctx context.Context, name string) (*Group, error) {
	q := url.Values{"search": {`profile.name eq ` + strconv.Quote(name)}, "limit": {"2"}}
	groups, err := collect[Group](ctx, c, call{path: "/api/v1/groups", query: q})
	if err != nil {
		return nil, err
	}
	for i := range groups {
		if groups[i].Profile.Name == name {
			return &groups[i], nil
		}
	}
	return nil, &APIError{StatusCode: http.StatusNotFound, Method: http.MethodGet, Path: "/api/v1/groups",
		ErrorCode: "E0000007", ErrorSummary: "Not found: no group named " + strconv.Quote(name)}
}

// FindUserByLogin reads a user by login (Okta accepts a login in place of
// the ID).
func (c *Client) FindUserByLogin(ctx context.Context, login string) (*User, error) {
	return c.GetUser(ctx, login)
}

// ListGroupMembers lists a group's members, in pages of Okta's maximum
// (1,000).
func (c *Client) ListGroupMembers(ctx context.Context, groupID string) ([]User, error) {
	return collect[User](ctx, c, call{path: "/api/v1/groups/" + url.PathEscape(groupID) + "/users", query: url.Values{"limit": {"1000"}}})
}

// ListUserGroups lists the groups a user is a member of.
func (c *Client) ListUserGroups(ctx context.Context, userID string) ([]Group, error) {
	return collect[Group](ctx, c, call{path: "/api/v1/users/" + url.PathEscape(userID) + "/groups", query: url.Values{"limit": {"200"}}})
}

func (c *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	var u User
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/users/" + url.PathEscape(userID), idempotent: true}, &u)
	return &u, err
}

func (c *Client) ListIdentityProviders(ctx context.Context, q string) ([]IdentityProvider, error) {
	query := url.Values{"limit": {"200"}}
	if q != "" {
		query.Set("q", q)
	}
	return collect[IdentityProvider](ctx, c, call{path: "/api/v1/idps", query: query})
}

func (c *Client) GetIdentityProvider(ctx context.Context, idpID string) (IdentityProvider, error) {
	var out IdentityProvider
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/idps/" + url.PathEscape(idpID), idempotent: true}, &out)
	if err == nil {
		err = answerIs("identity provider", idpID, out.ID())
	}
	return out, err
}

// CreateIdentityProvider is not retried, like every create.
func (c *Client) CreateIdentityProvider(ctx context.Context, idp IdentityProvider) (IdentityProvider, error) {
	var out IdentityProvider
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/idps", body: idp}, &out)
	return out, err
}

// UpdateIdentityProvider replaces an IdP; the fields Okta sets are dropped
// from what was read back.
func (c *Client) UpdateIdentityProvider(ctx context.Context, idpID string, idp IdentityProvider) (IdentityProvider, error) {
	body := IdentityProvider{}
	for k, v := range idp {
		switch k {
		case "id", "created", "lastUpdated", "_links":
		default:
			body[k] = v
		}
	}
	var out IdentityProvider
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/api/v1/idps/" + url.PathEscape(idpID), body: body, idempotent: true}, &out)
	return out, err
}

func (c *Client) ActivateIdentityProvider(ctx context.Context, idpID string) error {
	return c.lifecycle(ctx, "idps", idpID, "activate")
}

func (c *Client) DeactivateIdentityProvider(ctx context.Context, idpID string) error {
	return c.lifecycle(ctx, "idps", idpID, "deactivate")
}

func (c *Client) DeleteIdentityProvider(ctx context.Context, idpID string) error {
	return ignoreNotFound(c.delete(ctx, "/api/v1/idps/"+url.PathEscape(idpID)))
}

// ListIdPKeys lists the certificates the org trusts IdPs with.
func (c *Client) ListIdPKeys(ctx context.Context) ([]JWK, error) {
	return collect[JWK](ctx, c, call{path: "/api/v1/idps/credentials/keys"})
}

func (c *Client) CreateIdPKey(ctx context.Context, x5c []string) (*JWK, error) {
	var out JWK
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/idps/credentials/keys", body: map[string]any{"x5c": x5c}}, &out)
	return &out, err
}

func (c *Client) GetIdPKey(ctx context.Context, kid string) (*JWK, error) {
	var out JWK
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/idps/credentials/keys/" + url.PathEscape(kid), idempotent: true}, &out)
	return &out, err
}

func (c *Client) DeleteIdPKey(ctx context.Context, kid string) error {
	return ignoreNotFound(c.delete(ctx, "/api/v1/idps/credentials/keys/"+url.PathEscape(kid)))
}
