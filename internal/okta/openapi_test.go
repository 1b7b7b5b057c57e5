package okta_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"sigs.k8s.io/yaml"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const specFile = "testdata/okta-api/openapi/okta-management-APIs-oasv3-noEnums-inheritance.yaml"

// knownDeviations are places where real Okta (as recorded) and its spec
// disagree; the emulator follows the recordings. Each must still occur, so
// the list cannot go stale.
var knownDeviations = map[string]string{
	"GET /api/v1/apps/{appId}/sso/saml/metadata: response Content-Type": "Okta answers application/xml;charset=ISO-8859-1 (every recording); the spec says text/xml",
	"PUT /api/v1/apps/{appId}: request at /name":                        "the spec marks name read-only, yet a replace carries the whole app, name included, in every recorded PUT, and Okta accepts it",
	"GET /api/v1/policies: response at /_embedded/resourceType":         "Okta lists a policy with _embedded.resourceType a string (\"APP\", in every recorded list); the spec says an object",
	"POST /api/v1/apps/{appId}/users/{userId}: request":                 "the spec's AppUserUpdateRequest is a oneOf of two schemas whose properties are all optional, so every body matches both; Okta takes a credentials or a profile update",
	"POST /api/v1/groups/{groupId}/owners: response at /lastUpdated":    "Okta answers an added owner's lastUpdated as \"Wed Mar 04 10:08:01 UTC 2026\" (every recording); the spec says date-time",
	"GET /api/v1/groups/{groupId}/owners: response at /*/lastUpdated":   "Okta lists owners with lastUpdated as \"2026-03-04 10:08:01.0\" (every recording); the spec says date-time",
	"GET /api/v1/idps/{}/metadata.xml: no such operation in the spec":   "Okta serves an IdP's SP metadata there (recorded 8 times in the provider's fixtures); the spec omits the operation",
	"POST /api/v1/apps: request at /name":                               "a catalog app (Org2Org) is created by its name, as Okta's Org2Org guide and every catalog create do; the spec marks name read-only",
	"POST /api/v1/apps: response at /signOn/subjectNameIdTemplate":      "a catalog SAML app (Org2Org) answers settings.signOn with its overrides only (defaultRelayState, the ACS and audience overrides, attribute statements); the spec's SamlApplication requires a custom app's full sign-on settings",
	"POST /api/v1/mappings/{mappingId}: request at /pushStatus":         "the spec's ProfileMappingRequest lists expression and pushStatus as required beside properties, at the top level, where Okta's own examples never put them: they belong to each property, as Okta takes them",
	"POST /api/v1/apps/{appId}/connections/default: request":            "the spec's body is a oneOf of the token and the OAuth request, whose properties are all optional beside authScheme, so a token body matches both; Okta takes either",
}

// loadSpec reads Okta's OpenAPI document, adjusted in two ways: its examples
// hold dangling references and play no part in validation, so they are
// dropped; and it marks fields non-nullable that Okta answers with null
// (accessibility.errorRedirectUrl, settings.notes, signOn.spIssuer, app user
// externalId, IdP policy filters: null in hundreds of recorded answers), so
// null is allowed everywhere. Every other rule applies.
func loadSpec(t *testing.T, serverURL string) routers.Router {
	t.Helper()
	raw, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatalf("Okta's OpenAPI document is in testdata/okta-api/openapi: %v", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	adjustSpec(m)
	data, _ := json.Marshal(m)
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

func adjustSpec(v any) {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "examples")
		delete(t, "example")
		if _, isSchema := t["type"].(string); isSchema {
			t["nullable"] = true
		}
		for _, e := range t {
			adjustSpec(e)
		}
	case []any:
		for _, e := range t {
			adjustSpec(e)
		}
	}
}

// validatingTransport checks each request and its answer against the spec.
type validatingTransport struct {
	t      *testing.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]int      // route → exchanges validated
	issues map[string][]string // "route: what" → details
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	if req.URL.Path == "/oauth2/v1/token" { // part of Okta's OAuth spec, not the management API's
		return resp, nil
	}
	check := req.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(check)
	if err != nil {
		name := req.Method + " " + oktaObjectID.ReplaceAllString(req.URL.Path, "/{}")
		v.note(name, "no such operation in the spec", err)
		v.mu.Lock()
		v.seen[name]++
		v.mu.Unlock()
		return resp, nil
	}
	name := req.Method + " " + route.Path
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		v.note(name, "request", err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		what := "response"
		if strings.Contains(err.Error(), "Content-Type") {
			what = "response Content-Type"
		}
		v.note(name, what, err)
	}
	v.mu.Lock()
	v.seen[name]++
	v.mu.Unlock()
	return resp, nil
}

var (
	errorAt      = regexp.MustCompile(`Error at "([^"]*)"`)
	listIndex    = regexp.MustCompile(`^/[0-9]+/`)
	oktaObjectID = regexp.MustCompile(`/[0-9a-z]{3}[A-Za-z0-9]{17}\b`)
)

// note records an issue keyed by route, kind and the JSON path it is at
// (the innermost one, a list index as *), so that a known deviation names
// exactly one place.
func (v *validatingTransport) note(route, what string, err error) {
	path := ""
	if m := errorAt.FindAllStringSubmatch(err.Error(), -1); len(m) > 0 {
		path = listIndex.ReplaceAllString(m[len(m)-1][1], "/*/")
	}
	key := route + ": " + what
	if path != "" {
		key += " at " + path
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.issues[key] = append(v.issues[key], strings.SplitN(err.Error(), "\n", 2)[0])
}

// TestConformsToOktaSpec runs every client call against the emulator and
// validates the requests and answers with Okta's OpenAPI document.
func TestConformsToOktaSpec(t *testing.T) {
	ctx := context.Background()
	org, err := emulator.New(emulator.Config{APIToken: token, KeyBits: 1024, Seed: &emulator.Seed{
		Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users:  []emulator.SeedUser{{Login: "alice@example.com", FirstName: "Alice", LastName: "Smith", Groups: []string{"Engineering"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(t, org)
	v := &validatingTransport{t: t, router: loadSpec(t, srv), seen: map[string]int{}, issues: map[string][]string{}}
	c, err := okta.New(okta.Config{OrgURL: srv, APIToken: token, Transport: v, Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	app, err := c.CreateApp(ctx, samlApp("Conformance"), true)
	must(err)
	policies, err := c.ListAccessPolicies(ctx)
	must(err)
	must(c.AssignAccessPolicy(ctx, app.ID, policies[0].ID))
	_, err = c.GetApp(ctx, app.ID)
	must(err)
	_, err = c.ListApps(ctx, okta.AppQuery{Q: "Conf", Filter: `status eq "ACTIVE"`})
	must(err)
	key, err := c.GenerateAppKey(ctx, app.ID, 3)
	must(err)
	_, err = c.GetAppKey(ctx, app.ID, key.Kid)
	must(err)
	_, err = c.ListAppKeys(ctx, app.ID)
	must(err)
	_, err = c.GetSAMLMetadata(ctx, app.ID, key.Kid)
	must(err)
	app.Credentials.Signing.Kid = key.Kid
	_, err = c.UpdateApp(ctx, app)
	must(err)
	group, err := c.FindGroupByName(ctx, "Engineering")
	must(err)
	prio := 0
	_, err = c.AssignGroup(ctx, app.ID, group.ID, okta.AppGroupAssignment{Priority: &prio, Profile: map[string]any{"role": "Editor"}})
	must(err)
	_, err = c.ListAppGroups(ctx, app.ID)
	must(err)
	alice, err := c.FindUserByLogin(ctx, "alice@example.com")
	must(err)
	_, err = c.AssignUser(ctx, app.ID, okta.AppUser{ID: alice.ID, Scope: "USER", Credentials: &okta.AppUserCredentials{UserName: "alice@example.com"}})
	must(err)
	_, err = c.GetAppUser(ctx, app.ID, alice.ID)
	must(err)
	_, err = c.ListAppUsers(ctx, app.ID)
	must(err)
	must(c.UnassignGroup(ctx, app.ID, group.ID)) // first: Okta keeps a direct assignment a group also grants
	must(c.UnassignUser(ctx, app.ID, alice.ID))

	idpKey, err := c.CreateIdPKey(ctx, []string{base64.StdEncoding.EncodeToString(testCertificate(t))})
	must(err)
	_, err = c.GetIdPKey(ctx, idpKey.Kid)
	must(err)
	idp, err := c.CreateIdentityProvider(ctx, okta.IdentityProvider{
		"type": "SAML2", "name": "Spoke org",
		"protocol": map[string]any{"type": "SAML2",
			"endpoints":   map[string]any{"sso": map[string]any{"url": "https://spoke.example.com/app/okta_org2org/exk1/sso/saml", "binding": "HTTP-POST"}, "acs": map[string]any{"binding": "HTTP-POST", "type": "INSTANCE"}},
			"credentials": map[string]any{"trust": map[string]any{"issuer": "http://www.okta.com/exk1", "kid": idpKey.Kid}},
		},
		"policy": map[string]any{"provisioning": map[string]any{"action": "AUTO"}, "subject": map[string]any{"userNameTemplate": map[string]any{"template": "idpuser.email"}, "matchType": "USERNAME"}, "maxClockSkew": 120000},
	})
	must(err)
	_, err = c.GetIdentityProvider(ctx, idp.ID())
	must(err)
	_, err = c.ListIdentityProviders(ctx, "Spoke")
	must(err)
	_, err = c.UpdateIdentityProvider(ctx, idp.ID(), idp)
	must(err)
	must(c.DeactivateIdentityProvider(ctx, idp.ID()))
	must(c.DeleteIdentityProvider(ctx, idp.ID()))
	must(c.DeleteIdPKey(ctx, idpKey.Kid))
	_, err = c.ListIdPKeys(ctx)
	must(err)
	_, err = c.ListGroupMembers(ctx, group.ID)
	must(err)
	_, err = c.ListUserGroups(ctx, alice.ID)
	must(err)
	_, err = c.GetUser(ctx, alice.ID)
	must(err)
	page, err := c.LogEvents(ctx, okta.LogQuery{Since: time.Now().Add(-time.Hour), Filter: `eventType eq "user.lifecycle.create"`, Limit: 5})
	must(err)
	if len(page.Events) == 0 || page.Next == "" {
		t.Errorf("the System Log gave %d events and next %q", len(page.Events), page.Next)
	}
	_, err = c.LogEvents(ctx, okta.LogQuery{Cursor: page.Next})
	must(err)
	provisioningExchanges(ctx, t, c, srv, group.ID)
	rawExchanges(t, srv, v, app.ID, group.ID, alice.ID)
	must(c.DeactivateApp(ctx, app.ID))
	must(c.ActivateApp(ctx, app.ID))
	must(c.DeactivateApp(ctx, app.ID))
	must(c.DeleteApp(ctx, app.ID))
	_, err = c.GetApp(ctx, app.ID) // a 404 answer is validated too
	if !okta.IsNotFound(err) {
		t.Fatalf("GetApp after delete: %v", err)
	}

	routes := make([]string, 0, len(v.seen))
	for r := range v.seen {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	t.Logf("validated %d operations: %s", len(routes), strings.Join(routes, "; "))
	served := map[string]bool{}
	for _, r := range routes {
		served[templateOf(r)] = true
	}
	for _, r := range org.Routes() {
		if !served[templateOf(r)] {
			t.Errorf("the emulator serves %s, which no exchange here validated against the spec", r)
		}
	}
	for issue, details := range v.issues {
		if _, known := knownDeviations[issue]; !known {
			t.Errorf("%s: %s", issue, details[0])
		}
	}
	for issue, why := range knownDeviations {
		if _, still := v.issues[issue]; !still {
			t.Errorf("known deviation %q (%s) no longer occurs; remove it", issue, why)
		}
	}
}

// provisioningExchanges sets up an Org2Org app's provisioning to the org
// itself (the emulator provisions through the org's API either way) and
// goes through every call of the connection, the feature and group push.
func provisioningExchanges(ctx context.Context, t *testing.T, c *okta.Client, orgURL, groupID string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	o2o, err := c.CreateApp(ctx, &okta.App{Name: "okta_org2org", Label: "Hub", SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{App: map[string]any{"acsUrl": orgURL + "/sso/saml2/0oa1", "audRestriction": orgURL, "baseUrl": orgURL}}}, true)
	must(err)
	_, err = c.ProvisioningConnection(ctx, o2o.ID)
	must(err)
	if _, err := c.ListAppFeatures(ctx, o2o.ID); err == nil {
		t.Error("the features of an app with no connection were listed")
	}
	_, err = c.SetProvisioningToken(ctx, o2o.ID, token, true)
	must(err)
	must(c.SetProvisioningConnectionActive(ctx, o2o.ID, false))
	must(c.SetProvisioningConnectionActive(ctx, o2o.ID, true))
	var caps okta.ProvisioningCapabilities
	caps.Create.LifecycleCreate, caps.Update.Profile, caps.Update.LifecycleDeactivate = okta.Enabled(true), okta.Enabled(true), okta.Enabled(true)
	caps.Update.Password = okta.PasswordSetting{Status: "DISABLED", Seed: "RANDOM", Change: "KEEP_EXISTING"}
	_, err = c.SetUserProvisioning(ctx, o2o.ID, caps)
	must(err)
	_, err = c.UserProvisioning(ctx, o2o.ID)
	must(err)
	_, err = c.ListAppFeatures(ctx, o2o.ID)
	must(err)
	m, err := c.CreateGroupPushMapping(ctx, o2o.ID, okta.NewGroupPushMapping{SourceGroupID: groupID, TargetGroupName: "Engineering (pushed)"})
	must(err)
	_, err = c.GetGroupPushMapping(ctx, o2o.ID, m.ID)
	must(err)
	_, err = c.ListGroupPushMappings(ctx, o2o.ID)
	must(err)
	pm, err := c.AppProfileMapping(ctx, o2o.ID)
	must(err)
	_, err = c.UpdateProfileMapping(ctx, pm.ID, map[string]*okta.MappingProperty{"title": {Expression: "user.title", PushStatus: "PUSH"}})
	must(err)
	_, err = c.SetGroupPushMappingStatus(ctx, o2o.ID, m.ID, "INACTIVE")
	must(err)
	must(c.DeleteGroupPushMapping(ctx, o2o.ID, m.ID, false))
	must(c.DeactivateApp(ctx, o2o.ID))
	must(c.DeleteApp(ctx, o2o.ID))
}

func newHTTPServer(t *testing.T, org *emulator.Server) string {
	t.Helper()
	ts := httptest.NewServer(org.Handler())
	t.Cleanup(ts.Close)
	org.SetBaseURL(ts.URL)
	return ts.URL
}

func testCertificate(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "spoke"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(2, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// templateOf names an operation the same way whatever its parameters are
// called ({appID} in the emulator, {appId} in the spec).
func templateOf(route string) string { return pathParam.ReplaceAllString(route, "{}") }

// rawExchanges calls, through the validating transport, the operations the
// operator's client does not use: the rest of what an org serves (users'
// and groups' lifecycles, policies, IdP metadata), so that every one is
// checked against the spec.
func rawExchanges(t *testing.T, base string, v *validatingTransport, appID, groupID, userID string) {
	t.Helper()
	hc := &http.Client{Transport: v}
	send := func(method, path, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "SSWS "+token)
		req.Header.Set("Accept", "application/json")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, want)
		}
		return string(out)
	}
	idOf := func(body string) string {
		var obj struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal([]byte(body), &obj)
		return obj.ID
	}
	send("GET", "/.well-known/okta-organization", "", 200)

	policy := idOf(send("POST", "/api/v1/policies", `{"name":"Strict","type":"ACCESS_POLICY","priority":1}`, 200))
	send("GET", "/api/v1/policies/"+policy, "", 200)
	send("PUT", "/api/v1/policies/"+policy, `{"name":"Stricter","type":"ACCESS_POLICY","priority":1}`, 200)
	send("POST", "/api/v1/policies/"+policy+"/lifecycle/deactivate", "", 204)
	send("POST", "/api/v1/policies/"+policy+"/lifecycle/activate", "", 204)
	send("DELETE", "/api/v1/policies/"+policy, "", 204)

	send("PUT", "/api/v1/apps/"+appID+"/groups/"+groupID, `{"priority":0}`, 200)
	send("GET", "/api/v1/apps/"+appID+"/groups/"+groupID, "", 200)
	send("POST", "/api/v1/apps/"+appID+"/users", `{"id":"`+userID+`","scope":"USER","credentials":{"userName":"alice@example.com"}}`, 200)
	send("POST", "/api/v1/apps/"+appID+"/users/"+userID, `{"credentials":{"userName":"alice@example.com"}}`, 200)
	send("DELETE", "/api/v1/apps/"+appID+"/groups/"+groupID, "", 204)
	send("DELETE", "/api/v1/apps/"+appID+"/users/"+userID, "", 204)

	group := idOf(send("POST", "/api/v1/groups", `{"profile":{"name":"Contractors","description":"Outside help"}}`, 200))
	send("GET", "/api/v1/groups?q=Contr", "", 200)
	send("GET", "/api/v1/groups/"+group, "", 200)
	send("PUT", "/api/v1/groups/"+group, `{"profile":{"name":"Contractors","description":"Outside help, paid"}}`, 200)
	send("PUT", "/api/v1/groups/"+group+"/users/"+userID, "", 204)
	send("POST", "/api/v1/groups/"+group+"/owners", `{"id":"`+userID+`","type":"USER"}`, 201)
	send("GET", "/api/v1/groups/"+group+"/owners", "", 200)
	send("DELETE", "/api/v1/groups/"+group+"/owners/"+userID, "", 204)
	send("GET", "/api/v1/groups/"+group+"/users", "", 200)
	send("DELETE", "/api/v1/groups/"+group+"/users/"+userID, "", 204)
	send("DELETE", "/api/v1/groups/"+group, "", 204)

	user := idOf(send("POST", "/api/v1/users?activate=false", `{"profile":{"login":"bob@example.com","email":"bob@example.com","firstName":"Bob","lastName":"Jones"}}`, 200))
	send("GET", "/api/v1/users?search="+strings.ReplaceAll(`profile.lastName eq "Jones"`, " ", "%20"), "", 200)
	send("POST", "/api/v1/users/"+user+"/lifecycle/activate?sendEmail=false", "", 200)
	send("POST", "/api/v1/users/"+user+"/lifecycle/reactivate?sendEmail=false", "", 200)
	send("POST", "/api/v1/users/"+user, `{"profile":{"title":"Engineer"}}`, 200)
	send("PUT", "/api/v1/users/"+user, `{"profile":{"login":"bob@example.com","email":"bob@example.com","firstName":"Bob","lastName":"Jones","title":"Lead"}}`, 200)
	password := idOf(send("POST", "/api/v1/users", `{"profile":{"login":"cy@example.com","email":"cy@example.com","firstName":"Cy","lastName":"Ng"},"credentials":{"password":{"value":"Correct-Horse-9"}}}`, 200))
	send("POST", "/api/v1/users/"+password+"/lifecycle/suspend", "", 200)
	send("POST", "/api/v1/users/"+password+"/lifecycle/unsuspend", "", 200)
	send("POST", "/api/v1/users/"+password+"/lifecycle/unlock", "", 403) // not locked out
	send("POST", "/api/v1/users/"+user+"/lifecycle/deactivate", "", 200)
	send("DELETE", "/api/v1/users/"+user, "", 204)

	idpKey := idOf(send("POST", "/api/v1/idps/credentials/keys", `{"x5c":["`+base64.StdEncoding.EncodeToString(testCertificate(t))+`"]}`, 200))
	_ = idpKey
	var key struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal([]byte(send("GET", "/api/v1/idps/credentials/keys", "", 200)), &[]any{&key})
	idp := idOf(send("POST", "/api/v1/idps?activate=false", `{"type":"SAML2","name":"Spoke two","protocol":{"type":"SAML2",`+
		`"endpoints":{"sso":{"url":"https://spoke.example.com/sso","binding":"HTTP-POST"},"acs":{"binding":"HTTP-POST","type":"INSTANCE"}},`+
		`"credentials":{"trust":{"issuer":"http://www.okta.com/exk2","kid":"`+key.Kid+`"}}},`+
		`"policy":{"provisioning":{"action":"AUTO"},"subject":{"userNameTemplate":{"template":"idpuser.email"},"matchType":"USERNAME"},"maxClockSkew":120000}}`, 200))
	send("POST", "/api/v1/idps/"+idp+"/lifecycle/activate", "", 200)
	send("GET", "/api/v1/idps/"+idp+"/metadata.xml", "", 200)
	send("POST", "/api/v1/idps/"+idp+"/lifecycle/deactivate", "", 200)
	send("DELETE", "/api/v1/idps/"+idp, "", 204)
}
