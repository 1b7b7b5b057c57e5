package emulator_test

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// federation is a hub and a spoke org in one process, wired by hand as the
// Org2Org guide says: the spoke's Org2Org app posts to the hub IdP's ACS.
type federation struct {
	hub, spoke       *okta.Client
	hubURL, spokeURL string
	hubOrg           *emulator.Server
	idp              okta.IdentityProvider
	spokeApp         *okta.App
	relay            string // a hub URL the login should end on
}

func startOrg(t *testing.T, name, token string, seed *emulator.Seed) (*emulator.Server, *okta.Client, string) {
	t.Helper()
	org, err := emulator.Start(emulator.Config{APIToken: token, OrgName: name, KeyBits: 2048, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = org.Close() })
	c, err := okta.New(okta.Config{OrgURL: org.BaseURL(), APIToken: token, Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return org, c, org.BaseURL()
}

// newFederation wires a spoke (alice and bob in Engineering, which is
// assigned to the Org2Org app) to a hub whose IdP has the given policy.
func newFederation(t *testing.T, policy map[string]any, hubUsers ...emulator.SeedUser) *federation {
	t.Helper()
	ctx := context.Background()
	f := &federation{}
	var err error
	f.hubOrg, f.hub, f.hubURL = startOrg(t, "hub", "hub-token", &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Spoke users"}}, Users: hubUsers})
	_, f.spoke, f.spokeURL = startOrg(t, "spoke", "spoke-token", &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{
			{Login: "alice@example.com", FirstName: "Alice", LastName: "Smith", Password: password, Groups: []string{"Engineering"}},
			{Login: "bob@corp.example", FirstName: "Bob", LastName: "Jones", Password: password, Groups: []string{"Engineering"}},
		}})
	placeholder := map[string]any{"acsUrl": "https://hub.invalid/acs", "audRestriction": "https://hub.invalid", "baseUrl": f.hubURL}
	if f.spokeApp, err = f.spoke.CreateApp(ctx, &okta.App{Name: "okta_org2org", Label: "Hub", SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{App: placeholder}}, true); err != nil {
		t.Fatal(err)
	}
	eng, err := f.spoke.FindGroupByName(ctx, "Engineering")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.spoke.AssignGroup(ctx, f.spokeApp.ID, eng.ID, okta.AppGroupAssignment{}); err != nil {
		t.Fatal(err)
	}
	keys, err := f.spoke.ListAppKeys(ctx, f.spokeApp.ID)
	if err != nil || len(keys) == 0 {
		t.Fatalf("spoke app keys: %v %v", keys, err)
	}
	trusted, err := f.hub.CreateIdPKey(ctx, keys[0].X5c)
	if err != nil {
		t.Fatal(err)
	}
	spokeGroup, _ := f.hub.FindGroupByName(ctx, "Spoke users")
	body := okta.IdentityProvider{"type": "SAML2", "name": "Spoke", "protocol": map[string]any{
		"type":        "SAML2",
		"endpoints":   map[string]any{"sso": map[string]any{"url": f.spokeURL + "/app/okta_org2org/" + f.spokeApp.ID + "/sso/saml", "binding": "HTTP-POST"}, "acs": map[string]any{"binding": "HTTP-POST", "type": "INSTANCE"}},
		"algorithms":  map[string]any{"response": map[string]any{"signature": map[string]any{"algorithm": "SHA-256", "scope": "ANY"}}},
		"credentials": map[string]any{"trust": map[string]any{"issuer": "http://www.okta.com/" + externalKey(t, f.spoke, f.spokeApp.ID), "kid": trusted.Kid}},
	}, "policy": map[string]any{
		"subject":      map[string]any{"userNameTemplate": map[string]any{"template": "idpuser.subjectNameId"}, "matchType": "USERNAME"},
		"provisioning": map[string]any{"action": "AUTO", "groups": map[string]any{"action": "ASSIGN", "assignments": []string{spokeGroup.ID}}},
		"accountLink":  map[string]any{"action": "DISABLED"},
		"maxClockSkew": 120000,
	}}
	for k, v := range policy {
		body["policy"].(map[string]any)[k] = v
	}
	if f.idp, err = f.hub.CreateIdentityProvider(ctx, body); err != nil {
		t.Fatal(err)
	}
	acs := f.hubURL + "/sso/saml2/" + f.idp.ID()
	audience := f.idp.Audience()
	f.spokeApp.Settings.App = map[string]any{"acsUrl": acs, "audRestriction": audience, "baseUrl": f.hubURL}
	if _, err := f.spoke.UpdateApp(ctx, f.spokeApp); err != nil {
		t.Fatal(err)
	}
	f.relay = f.hubURL + "/app/UserHome?from=spoke"
	return f
}

// externalKey is the app's key in its SSO URL and issuer.
func externalKey(t *testing.T, c *okta.Client, appID string) string {
	t.Helper()
	md, err := c.GetSAMLMetadata(context.Background(), appID, "")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`entityID="http://www\.okta\.com/([^"]+)"`).FindSubmatch(md)
	if m == nil {
		t.Fatalf("no entity ID in the app's metadata:\n%s", md)
	}
	return string(m[1])
}

// signInThroughSpoke is a spoke user clicking a bookmark for a hub URL: the
// spoke signs them in (HTTP Basic) and posts to the hub, which answers.
func (f *federation) signInThroughSpoke(t *testing.T, login string) (int, string, string) {
	t.Helper()
	b := newBrowser(t)
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	exk := strings.TrimPrefix(f.idp["protocol"].(map[string]any)["credentials"].(map[string]any)["trust"].(map[string]any)["issuer"].(string), "http://www.okta.com/")
	req, _ := http.NewRequest(http.MethodGet, f.spokeURL+"/app/okta_org2org/"+exk+"/sso/saml?RelayState="+url.QueryEscape(f.relay), nil)
	req.SetBasicAuth(login, password)
	status, page := b.do(req)
	if status != http.StatusOK {
		t.Fatalf("the spoke answered %d: %s", status, page)
	}
	resp, err := b.c.Do(postOf(t, page))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := make([]byte, 4096)
	n, _ := resp.Body.Read(body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body[:n])
}

// postOf is the request the page's auto-submitting form sends.
func postOf(t *testing.T, page string) *http.Request {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form on the page:\n%s", page)
	}
	form := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], html.UnescapeString(in[2]))
	}
	req, _ := http.NewRequest(http.MethodPost, html.UnescapeString(m[1]), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func TestHubTakesASpokeUser(t *testing.T) {
	f := newFederation(t, nil)
	status, location, body := f.signInThroughSpoke(t, "alice@example.com")
	if status != http.StatusFound || location != f.relay {
		t.Fatalf("the hub answered %d to %q (%s), want a redirect to the RelayState", status, location, body)
	}
	u, err := f.hub.FindUserByLogin(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatalf("alice was not created in the hub: %v", err)
	}
	groups, err := f.hub.ListUserGroups(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		names = append(names, g.Profile.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "Spoke users") {
		t.Errorf("the JIT user is in %v, want the IdP's group Spoke users", names)
	}
	if u.Profile["firstName"] != "Alice" || u.Profile["lastName"] != "Smith" {
		t.Errorf("the JIT user's profile is %v, want the names the Org2Org app sent", u.Profile)
	}
	// A second sign-in finds the user it created, and creates nobody.
	if status, _, body := f.signInThroughSpoke(t, "alice@example.com"); status != http.StatusFound {
		t.Fatalf("the second sign-in: %d %s", status, body)
	}
}

func TestHubPublishesTheIdPsMetadata(t *testing.T) {
	f := newFederation(t, nil)
	req, _ := http.NewRequest(http.MethodGet, f.hubURL+"/api/v1/idps/"+f.idp.ID()+"/metadata.xml", nil)
	req.Header.Set("Authorization", "SSWS hub-token")
	status, body := newBrowser(t).do(req)
	audience := f.idp.Audience()
	if status != http.StatusOK || !strings.Contains(body, `entityID="`+audience+`"`) || !strings.Contains(body, `Location="`+f.hubURL+"/sso/saml2/"+f.idp.ID()+`"`) {
		t.Fatalf("metadata %d:\n%s", status, body)
	}
}

func TestHubRefusals(t *testing.T) {
	tests := map[string]struct {
		policy   map[string]any
		hubUsers []emulator.SeedUser
		login    string
		want     string
	}{
		"a username the filter refuses": {
			policy: map[string]any{"subject": map[string]any{"userNameTemplate": map[string]any{"template": "idpuser.subjectNameId"},
				"matchType": "USERNAME", "filter": `^[a-z.]+@example\.com$`}},
			login: "bob@corp.example", want: "does not match the identity provider's filter",
		},
		"an unknown user with JIT off": {
			policy: map[string]any{"provisioning": map[string]any{"action": "DISABLED", "groups": map[string]any{"action": "NONE"}}},
			login:  "alice@example.com", want: "JIT is off",
		},
		"an existing hub user the link policy does not link": {
			hubUsers: []emulator.SeedUser{{Login: "alice@example.com", FirstName: "Alice", LastName: "Hub", Password: password}},
			login:    "alice@example.com", want: "account link policy does not link it",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFederation(t, tc.policy, tc.hubUsers...)
			status, _, body := f.signInThroughSpoke(t, tc.login)
			if status != http.StatusForbidden || !strings.Contains(html.UnescapeString(body), tc.want) {
				t.Fatalf("the hub answered %d %q, want 403 with %q", status, body, tc.want)
			}
		})
	}
}

func TestHubLinksAnExistingUserWhenThePolicySaysAuto(t *testing.T) {
	f := newFederation(t, map[string]any{"accountLink": map[string]any{"action": "AUTO"}},
		emulator.SeedUser{Login: "alice@example.com", FirstName: "Alice", LastName: "Hub", Password: password})
	if status, location, body := f.signInThroughSpoke(t, "alice@example.com"); status != http.StatusFound || location != f.relay {
		t.Fatalf("the hub answered %d to %q (%s)", status, location, body)
	}
}

func TestHubRefusesAResponseNotSignedByTheTrustedKey(t *testing.T) {
	f := newFederation(t, nil)
	b := newBrowser(t)
	exk := strings.TrimPrefix(f.idp["protocol"].(map[string]any)["credentials"].(map[string]any)["trust"].(map[string]any)["issuer"].(string), "http://www.okta.com/")
	req, _ := http.NewRequest(http.MethodGet, f.spokeURL+"/app/okta_org2org/"+exk+"/sso/saml", nil)
	req.SetBasicAuth("alice@example.com", password)
	_, page := b.do(req)
	post := postOf(t, page)
	_ = post.ParseForm()
	raw, _ := base64.StdEncoding.DecodeString(post.PostForm.Get("SAMLResponse"))
	forged := strings.Replace(string(raw), "alice@example.com", "mallory@example.com", 1)
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(forged))}}
	status, body := b.post(f.hubURL+"/sso/saml2/"+f.idp.ID(), form)
	if status != http.StatusForbidden || !strings.Contains(body, "signature") {
		t.Fatalf("a forged response got %d %q, want 403 naming the signature", status, body)
	}
	if _, err := f.hub.FindUserByLogin(context.Background(), "mallory@example.com"); !okta.IsNotFound(err) {
		t.Errorf("the forged user exists in the hub: %v", err)
	}
}

func TestABookmarkTileOpensItsURL(t *testing.T) {
	_, c, orgURL := startOrg(t, "spoke", "spoke-token", nil)
	target := "https://hub.example.com/home/wiki?x=1"
	app, err := c.CreateApp(context.Background(), &okta.App{Name: "bookmark", Label: "Wiki", SignOnMode: okta.SignOnModeBookmark,
		Settings: okta.AppSettings{App: map[string]any{"url": target, "requestIntegration": false}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if app.Settings.App["url"] != target {
		t.Errorf("settings.app.url = %v", app.Settings.App["url"])
	}
	b := newBrowser(t)
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.c.Get(app.Links.AppLinks[0].Href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != target {
		t.Fatalf("the tile answered %d to %q, want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), target)
	}
	if !strings.HasPrefix(app.Links.AppLinks[0].Href, orgURL) {
		t.Errorf("tile %s is not the org's", app.Links.AppLinks[0].Href)
	}
	if _, err := c.CreateApp(context.Background(), &okta.App{Name: "bookmark", Label: "No URL", SignOnMode: okta.SignOnModeBookmark,
		Settings: okta.AppSettings{App: map[string]any{}}}, true); err == nil {
		t.Error("a bookmark without a URL was accepted")
	}
}
