package okta_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const token = "00T0kenThatMustNeverBeWritten-xyz"

// fakeClock is shared by an emulator and a client so that rate-limit windows
// pass without waiting.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

type env struct {
	org    *emulator.Server
	url    string
	client *okta.Client
}

// newEnv starts an emulated org and a client for it.
func newEnv(t *testing.T, ecfg emulator.Config, ccfg okta.Config) *env {
	t.Helper()
	ecfg.APIToken = token
	if ecfg.KeyBits == 0 {
		ecfg.KeyBits = 1024 // fast keys; the size is not under test here
	}
	org, err := emulator.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(org.Handler())
	t.Cleanup(ts.Close)
	org.SetBaseURL(ts.URL)
	ccfg.OrgURL = ts.URL
	if ccfg.OAuth == nil && ccfg.APIToken == "" {
		ccfg.APIToken = token
	}
	if ccfg.Budget == nil {
		ccfg.Budget = okta.NewBudget(ccfg.MaxAPICapacityPercent, ccfg.Now)
	}
	if ccfg.RetryBaseDelay == 0 {
		ccfg.RetryBaseDelay = time.Millisecond
	}
	c, err := okta.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{org: org, url: ts.URL, client: c}
}

func samlApp(label string) *okta.App {
	return &okta.App{
		Label: label, SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{SignOn: &okta.SAMLSignOn{
			SSOAcsURL: "https://sp.example.com/saml/acs", Audience: "https://sp.example.com/saml/metadata",
			SubjectNameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", SubjectNameIDTemplate: "${user.email}",
			ResponseSigned: true, AssertionSigned: true, SignatureAlgorithm: "RSA_SHA256", DigestAlgorithm: "SHA256",
		}},
	}
}

func TestAppLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, emulator.Config{}, okta.Config{})
	app, err := e.client.CreateApp(ctx, samlApp("Backup Portal"), true)
	if err != nil {
		t.Fatal(err)
	}
	if app.ID == "" || app.Status != okta.StatusActive || app.Credentials.Signing == nil || app.Credentials.Signing.Kid == "" {
		t.Fatalf("created app = %+v", app)
	}
	keys, err := e.client.ListAppKeys(ctx, app.ID)
	if err != nil || len(keys) != 1 || keys[0].Kid != app.Credentials.Signing.Kid {
		t.Fatalf("ListAppKeys = %+v, %v", keys, err)
	}
	md, err := e.client.GetSAMLMetadata(ctx, app.ID, keys[0].Kid)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(md), "<ds:X509Certificate>")
	wrapped, _, _ := strings.Cut(rest, "</ds:X509Certificate>")
	cert := strings.ReplaceAll(wrapped, "\n", "")
	if cert != keys[0].X5c[0] {
		t.Errorf("metadata certificate differs from the key's x5c")
	}

	next, err := e.client.GenerateAppKey(ctx, app.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if years := next.ExpiresAt.Sub(next.Created).Hours() / 24 / 365; years < 1.99 || years > 2.01 {
		t.Errorf("generated key valid %.2f years, want 2", years)
	}
	app.Credentials.Signing.Kid = next.Kid
	updated, err := e.client.UpdateApp(ctx, app)
	if err != nil || updated.Credentials.Signing.Kid != next.Kid {
		t.Fatalf("UpdateApp to the new key = %+v, %v", updated.Credentials, err)
	}

	if err := e.client.DeleteApp(ctx, app.ID); !okta.IsConflict(err) || okta.IsAuth(err) {
		t.Errorf("deleting an ACTIVE app: %v; want a conflict (deactivate first), not an auth error", err)
	}
	if err := e.client.DeactivateApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteApp(ctx, app.ID); err != nil {
		t.Errorf("deleting a deleted app = %v, want success", err)
	}
	if _, err := e.client.GetApp(ctx, app.ID); !okta.IsNotFound(err) {
		t.Errorf("GetApp after delete = %v, want not found", err)
	}
}

func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, emulator.Config{}, okta.Config{})
	bad, err := okta.New(okta.Config{OrgURL: e.url, APIToken: "wrong", Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}
	invalid := samlApp("No ACS")
	invalid.Settings.SignOn.SSOAcsURL = ""
	tests := map[string]struct {
		call  func() error
		check func(error) bool
	}{
		"missing app is not found": {
			call:  func() error { _, err := e.client.GetApp(ctx, "0oa00000000000000000"); return err },
			check: okta.IsNotFound,
		},
		"bad settings are invalid with Okta's causes": {
			call: func() error { _, err := e.client.CreateApp(ctx, invalid, true); return err },
			check: func(err error) bool {
				apiErr, ok := okta.IsInvalid(err)
				return ok && apiErr.ErrorCode == "E0000001" && strings.Contains(strings.Join(apiErr.ErrorCauses, " "), "ssoAcsUrl")
			},
		},
		"wrong token is an auth error": {
			call:  func() error { _, err := bad.GetApp(ctx, "0oa00000000000000000"); return err },
			check: okta.IsAuth,
		},
		"unknown group name is not found": {
			call:  func() error { _, err := e.client.FindGroupByName(ctx, "nobody"); return err },
			check: okta.IsNotFound,
		},
		"unassigning what is not assigned succeeds": {
			call:  func() error { return e.client.UnassignGroup(ctx, "0oa00000000000000000", "00g00000000000000000") },
			check: func(err error) bool { return err == nil },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); !tc.check(err) {
				t.Errorf("got %v", err)
			}
		})
	}
}

// TestBudgetNeverExceedsBucket sends 1,000 calls through a 100-per-minute
// bucket on a fake clock: the client never sends a request the bucket would
// refuse, and waits (by the clock) for each reset instead.
func TestBudgetNeverExceedsBucket(t *testing.T) {
	tests := map[string]struct {
		capacityPercent int
		wantPerWindow   int
	}{
		"whole bucket":             {capacityPercent: 100, wantPerWindow: 100},
		"default half leaves room": {capacityPercent: 50, wantPerWindow: 50},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clock := &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
			e := newEnv(t, emulator.Config{Now: clock.Now, RateLimits: map[string]int{"/api/v1/apps/{id}": 100}},
				okta.Config{Now: clock.Now, MaxAPICapacityPercent: tc.capacityPercent})
			app, err := e.client.CreateApp(ctx, samlApp("Budget"), true)
			if err != nil {
				t.Fatal(err)
			}
			e.org.ResetStats()
			sent, windows, inWindow, maxInWindow := 0, 1, 0, 0
			for sent < 1000 {
				_, err := e.client.GetApp(ctx, app.ID)
				if retryAt, limited := okta.IsRateLimited(err); limited {
					clock.advanceTo(retryAt)
					windows++
					inWindow = 0
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				sent++
				inWindow++
				maxInWindow = max(maxInWindow, inWindow)
			}
			stats := e.org.Stats()
			if stats.Statuses["429"] != 0 {
				t.Errorf("the org refused %d requests; the budget should have held them", stats.Statuses["429"])
			}
			if got := stats.Routes["GET /api/v1/apps/{appID}"]; got != 1000 {
				t.Errorf("sent %d requests, want 1000", got)
			}
			if maxInWindow > tc.wantPerWindow {
				t.Errorf("%d requests in one window, want at most %d", maxInWindow, tc.wantPerWindow)
			}
			t.Logf("1000 calls in %d windows, at most %d per window", windows, maxInWindow)
		})
	}
}

func TestHonours429AndReset(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, emulator.Config{Now: clock.Now, Faults: emulator.Faults{Force429: 1}}, okta.Config{Now: clock.Now})
	_, err := e.client.GetApp(ctx, "0oa00000000000000000")
	retryAt, limited := okta.IsRateLimited(err)
	if !limited || !retryAt.After(clock.Now()) {
		t.Fatalf("a 429 gave %v (retry at %v), want a rate-limited error with a future reset", err, retryAt)
	}
	before := e.org.Stats().Total
	if _, err := e.client.GetApp(ctx, "0oa00000000000000000"); err == nil {
		t.Fatal("a call before the reset went through")
	} else if _, limited := okta.IsRateLimited(err); !limited {
		t.Fatalf("a call before the reset = %v, want rate limited", err)
	}
	if e.org.Stats().Total != before {
		t.Error("a call the budget knew would be refused was sent")
	}
	clock.advanceTo(retryAt)
	if _, err := e.client.GetApp(ctx, "0oa00000000000000000"); !okta.IsNotFound(err) {
		t.Errorf("after the reset the call should reach the org: %v", err)
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		faults       emulator.Faults
		call         func(c *okta.Client) error
		wantErr      bool
		wantRequests int
	}{
		"idempotent read retried through two 500s": {
			faults:       emulator.Faults{Force5xx: 2},
			call:         func(c *okta.Client) error { _, err := c.ListApps(ctx, okta.AppQuery{}); return err },
			wantRequests: 3,
		},
		"503 retried too": {
			faults:       emulator.Faults{Force5xx: 1, ErrorStatus: 503},
			call:         func(c *okta.Client) error { _, err := c.ListApps(ctx, okta.AppQuery{}); return err },
			wantRequests: 2,
		},
		"gives up after three retries": {
			faults:       emulator.Faults{ErrorRate: 1},
			call:         func(c *okta.Client) error { _, err := c.ListApps(ctx, okta.AppQuery{}); return err },
			wantErr:      true,
			wantRequests: 4,
		},
		"a create is never retried (it could duplicate)": {
			faults:       emulator.Faults{Force5xx: 1},
			call:         func(c *okta.Client) error { _, err := c.CreateApp(ctx, samlApp("Once"), true); return err },
			wantErr:      true,
			wantRequests: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, emulator.Config{Faults: tc.faults}, okta.Config{})
			err := tc.call(e.client)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if got := e.org.Stats().Total; got != tc.wantRequests {
				t.Errorf("%d requests reached the org, want %d", got, tc.wantRequests)
			}
		})
	}
}

func TestPaging(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, emulator.Config{}, okta.Config{})
	for _, label := range []string{"a1", "a2", "a3", "a4", "a5"} {
		if _, err := e.client.CreateApp(ctx, samlApp(label), true); err != nil {
			t.Fatal(err)
		}
	}
	e.org.ResetStats()
	apps, err := e.client.ListApps(ctx, okta.AppQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 5 {
		t.Errorf("ListApps read %d apps over pages, want 5", len(apps))
	}
	if got := e.org.Stats().Routes["GET /api/v1/apps"]; got != 3 {
		t.Errorf("read %d pages, want 3 (2+2+1)", got)
	}

	// A next link to another host is never followed with the credential.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://attacker.example.com/api/v1/apps?after=x>; rel="next"`)
		_, _ = w.Write([]byte(`[]`))
	}))
	defer evil.Close()
	c, err := okta.New(okta.Config{OrgURL: evil.URL, APIToken: token, Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListApps(ctx, okta.AppQuery{}); err == nil || !strings.Contains(err.Error(), "outside the org") {
		t.Errorf("following a foreign next link: %v", err)
	}
}

// An org URL can be a team's choice (an OktaOrg): what it answers is
// bounded, and nothing of an error body but Okta's summaries, cut short,
// is kept.
func TestHostileOrgAnswers(t *testing.T) {
	ctx := context.Background()
	secretLine := "internal-only page: db password hunter2"
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"an answer over 8 MiB", 200, "[" + strings.Repeat(`{"id":"0oa1"},`, 1<<20) + `{"id":"0oa1"}]`, "over 8 MiB"},
		{"an error page that is not Okta's", 500, "<html>" + secretLine + "</html>", "Internal Server Error"},
		{"an Okta-shaped error with a long summary", 400, `{"errorCode":"E0000001","errorSummary":"` + strings.Repeat("x", 300) + secretLine + `"}`, strings.Repeat("x", 200) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := okta.New(okta.Config{OrgURL: srv.URL, APIToken: token, Budget: okta.NewBudget(100, nil), MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListApps(ctx, okta.AppQuery{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the body reached the error: %v", err)
			}
		})
	}
}

func TestAssignments(t *testing.T) {
	ctx := context.Background()
	seed := &emulator.Seed{
		Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{
			{Login: "alice@example.com", FirstName: "Alice", LastName: "A", Groups: []string{"Engineering"}},
			{Login: "bob@example.com", FirstName: "Bob", LastName: "B"},
		},
	}
	e := newEnv(t, emulator.Config{Seed: seed}, okta.Config{})
	app, err := e.client.CreateApp(ctx, samlApp("Assign"), true)
	if err != nil {
		t.Fatal(err)
	}
	group, err := e.client.FindGroupByName(ctx, "Engineering")
	if err != nil {
		t.Fatal(err)
	}
	prio := 3
	if _, err := e.client.AssignGroup(ctx, app.ID, group.ID, okta.AppGroupAssignment{Priority: &prio, Profile: map[string]any{"role": "Editor"}}); err != nil {
		t.Fatal(err)
	}
	bob, err := e.client.FindUserByLogin(ctx, "bob@example.com")
	if err != nil || bob.Login() != "bob@example.com" {
		t.Fatalf("FindUserByLogin = %+v, %v", bob, err)
	}
	if _, err := e.client.AssignUser(ctx, app.ID, okta.AppUser{ID: bob.ID, Scope: "USER"}); err != nil {
		t.Fatal(err)
	}
	groups, err := e.client.ListAppGroups(ctx, app.ID)
	if err != nil || len(groups) != 1 || *groups[0].Priority != 3 || groups[0].Profile["role"] != "Editor" {
		t.Fatalf("ListAppGroups = %+v, %v", groups, err)
	}
	users, err := e.client.ListAppUsers(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]string{}
	for _, u := range users {
		scopes[u.Credentials.UserName] = u.Scope
	}
	if scopes["alice@example.com"] != "GROUP" || scopes["bob@example.com"] != "USER" || len(scopes) != 2 {
		t.Errorf("app users by scope = %v, want alice via GROUP and bob as USER", scopes)
	}
	if err := e.client.UnassignUser(ctx, app.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetAppUser(ctx, app.ID, bob.ID); !okta.IsNotFound(err) {
		t.Errorf("bob after unassign: %v, want not found", err)
	}
}

func TestOAuthPrivateKeyJWT(t *testing.T) {
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	e := newEnv(t, emulator.Config{}, okta.Config{OAuth: &okta.OAuthConfig{ClientID: "0oaservice", PrivateKeyPEM: keyPEM, Scopes: []string{"okta.apps.read"}}})
	e.org.AddOAuthClient("0oaservice", &key.PublicKey, []string{"okta.apps.read"})
	e.org.SetDPoPRequired("0oaservice", false) // a Bearer service app; DPoP: TestDPoP
	for range 5 {
		if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.org.Stats().Routes["POST /oauth2/v1/token"]; got != 1 {
		t.Errorf("fetched %d tokens for 5 calls, want 1 (cached until expiry)", got)
	}
	if e.client.UsesDPoP() {
		t.Error("DPoP in use for a service app that does not require it")
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	c, err := okta.New(okta.Config{OrgURL: e.url, Budget: okta.NewBudget(100, nil),
		OAuth: &okta.OAuthConfig{ClientID: "0oaservice", PrivateKeyPEM: otherPEM, Scopes: []string{"okta.apps.read"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListApps(ctx, okta.AppQuery{})
	var te *okta.TokenError
	if !errors.As(err, &te) || !okta.IsAuth(err) {
		t.Errorf("a wrong key gave %v, want a token error counted as an auth failure", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Error("the error quotes the private key")
	}
}

func TestOAuthScopesEnforced(t *testing.T) {
	ctx := context.Background()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	e := newEnv(t, emulator.Config{}, okta.Config{OAuth: &okta.OAuthConfig{ClientID: "0oareader", PrivateKeyPEM: keyPEM, Scopes: []string{"okta.apps.read"}}})
	e.org.AddOAuthClient("0oareader", &key.PublicKey, []string{"okta.apps.read"})
	if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil {
		t.Fatalf("reading with okta.apps.read: %v", err)
	}
	_, err := e.client.CreateApp(ctx, samlApp("No scope"), true)
	if !okta.IsAuth(err) || !strings.Contains(err.Error(), "E0000006") {
		t.Errorf("writing with only okta.apps.read = %v, want a 403 E0000006 auth error", err)
	}
}

func TestCABundle(t *testing.T) {
	ctx := context.Background()
	org, err := emulator.New(emulator.Config{APIToken: token, KeyBits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(org.Handler())
	defer ts.Close()
	org.SetBaseURL(ts.URL)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})

	trusted, err := okta.New(okta.Config{OrgURL: ts.URL, APIToken: token, CABundle: caPEM, Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trusted.ListApps(ctx, okta.AppQuery{}); err != nil {
		t.Errorf("with the CA bundle: %v", err)
	}
	untrusted, _ := okta.New(okta.Config{OrgURL: ts.URL, APIToken: token, Budget: okta.NewBudget(100, nil), MaxRetries: -1})
	if _, err := untrusted.ListApps(ctx, okta.AppQuery{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA bundle: %v, want a certificate error", err)
	}
	if _, err := okta.New(okta.Config{OrgURL: ts.URL, APIToken: token, CABundle: []byte("not PEM")}); err == nil {
		t.Error("a CA bundle without a certificate was accepted")
	}
}

func TestOneBudgetPerOrg(t *testing.T) {
	a, _ := okta.New(okta.Config{OrgURL: "https://acme.okta.com", APIToken: "a"})
	b, _ := okta.New(okta.Config{OrgURL: "https://acme.okta.com/", APIToken: "b"})
	other, _ := okta.New(okta.Config{OrgURL: "https://other.okta.com", APIToken: "a"})
	if a.Budget() != b.Budget() {
		t.Error("two clients of one org have separate budgets")
	}
	if a.Budget() == other.Budget() {
		t.Error("two orgs share a budget")
	}
}

func TestTimeoutsRetried(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, emulator.Config{Faults: emulator.Faults{Latency: emulator.Duration(200 * time.Millisecond)}},
		okta.Config{RequestTimeout: 20 * time.Millisecond})
	_, err := e.client.ListApps(ctx, okta.AppQuery{})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("a slow org gave %v, want a timeout", err)
	}
	// The emulator counts an abandoned request when its handler returns.
	deadline := time.Now().Add(5 * time.Second)
	for e.org.Stats().Total < 4 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if got := e.org.Stats().Total; got != 4 {
		t.Errorf("%d attempts, want 4 (one and three retries)", got)
	}
}

func TestCatalogApp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, emulator.Config{}, okta.Config{})
	app, err := e.client.CreateApp(ctx, &okta.App{
		Name: "okta_org2org", Label: "Hub org", SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{App: map[string]any{
			"acsUrl": "https://hub.okta.com/sso/saml2/0oahub", "audRestriction": "https://www.okta.com/saml2/service-provider/sphub", "baseUrl": "https://hub.okta.com",
		}},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "okta_org2org" || app.Settings.App["baseUrl"] != "https://hub.okta.com" {
		t.Errorf("catalog app = %+v", app)
	}
	_, err = e.client.CreateApp(ctx, &okta.App{Name: "okta_org2org", Label: "Hub org", SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{App: map[string]any{}}}, true)
	if apiErr, ok := okta.IsInvalid(err); !ok || !strings.Contains(strings.Join(apiErr.ErrorCauses, " "), "settings.app.acsUrl") {
		t.Errorf("a catalog app without its settings: %v", err)
	}
}

func TestAListingThatNeverEndsIsRefused(t *testing.T) {
	cases := map[string]func(r *http.Request) string{
		"the same next page again": func(*http.Request) string { return `</api/v1/apps?after=0oa1>; rel="next"` },
		"a next page of its own":   func(r *http.Request) string { return `<` + r.URL.Path + `?` + r.URL.RawQuery + `>; rel="next"` },
	}
	for name, next := range cases {
		t.Run(name, func(t *testing.T) {
			calls := 0
			org := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				w.Header().Set("Link", next(r))
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`[{"id":"0oa1","status":"ACTIVE"}]`))
			}))
			defer org.Close()
			c, err := okta.New(okta.Config{OrgURL: org.URL, APIToken: token, Budget: okta.NewBudget(100, nil)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListApps(context.Background(), okta.AppQuery{})
			if err == nil || !strings.Contains(err.Error(), "does not end") || calls > 3 {
				t.Errorf("got %v after %d calls; want a refusal after at most 3", err, calls)
			}
		})
	}
}

func TestThrottledTellsWithoutSpending(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, emulator.Config{Now: clock.Now, RateLimits: map[string]int{"/api/v1/apps": 4}},
		okta.Config{Now: clock.Now, MaxAPICapacityPercent: 50})
	if _, throttled := e.client.Throttled(context.Background(), "/api/v1/apps"); throttled {
		t.Fatal("throttled before any answer taught the budget the bucket's limit")
	}
	if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil { // 1 of the share of 2
		t.Fatal(err)
	}
	for range 3 { // asking spends nothing
		if _, throttled := e.client.Throttled(context.Background(), "/api/v1/apps"); throttled {
			t.Fatal("throttled with one request of the share left")
		}
	}
	if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil {
		t.Fatal(err)
	}
	until, throttled := e.client.Throttled(context.Background(), "/api/v1/apps")
	if !throttled || !until.After(clock.Now()) {
		t.Fatalf("the share spent: throttled %t until %s", throttled, until)
	}
	if _, err := e.client.ListApps(ctx, okta.AppQuery{}); !okta.IsNotSent(err) {
		t.Fatalf("a request past the share: %v, want one refused before it was sent", err)
	}
	clock.advanceTo(until)
	if _, throttled := e.client.Throttled(context.Background(), "/api/v1/apps"); throttled {
		t.Error("still throttled after the reset")
	}
}

// A 429 holds its bucket until its reset even when an answer to a request
// sent before it arrives after it with room to spare and an earlier reset
// (the org's other clients spent the bucket, or Okta's counts differ).
func TestA429HoldsUntilItsReset(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	b := okta.NewBudget(50, func() time.Time { return now })
	header := func(limit, remaining int, reset time.Time) http.Header {
		h := http.Header{}
		h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
		h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
		return h
	}
	blocked := now.Add(60 * time.Second)
	b.Observe("/api/v1/apps/{id}", http.StatusTooManyRequests, header(0, 0, blocked))
	b.Observe("/api/v1/apps/{id}", http.StatusOK, header(500, 400, now.Add(10*time.Second)))
	for _, at := range []time.Duration{time.Second, 30 * time.Second, 59 * time.Second} {
		now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC).Add(at)
		if until, refused := b.Refuses("/api/v1/apps/{id}", okta.Share{}); !refused || !until.Equal(blocked) {
			t.Errorf("%s after the 429: refused %v until %v, want refused until %v", at, refused, until, blocked)
		}
	}
	now = blocked
	if _, refused := b.Refuses("/api/v1/apps/{id}", okta.Share{}); refused {
		t.Error("still refused at the 429's reset")
	}
}

func TestCanonicalOrgURL(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"as written":               {"https://acme.okta.com", "https://acme.okta.com"},
		"upper case host":          {"https://ACME.Okta.com", "https://acme.okta.com"},
		"default port":             {"https://acme.okta.com:443", "https://acme.okta.com"},
		"trailing slash":           {"https://acme.okta.com/", "https://acme.okta.com"},
		"all of them":              {"HTTPS://ACME.okta.com:443//", "https://acme.okta.com"},
		"another port stays":       {"https://acme.okta.com:8443", "https://acme.okta.com:8443"},
		"loopback http":            {"http://127.0.0.1:80/", "http://127.0.0.1"},
		"loopback with a port":     {"http://localhost:8080", "http://localhost:8080"},
		"a newline as echo writes": {"https://acme.okta.com\n", "https://acme.okta.com"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := okta.CanonicalOrgURL(tc.in)
			if err != nil || got.String() != tc.want {
				t.Fatalf("okta.CanonicalOrgURL(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"http://acme.okta.com", "acme okta com", "ftp://acme.okta.com", ""} {
		if _, err := okta.CanonicalOrgURL(bad); err == nil {
			t.Errorf("okta.CanonicalOrgURL(%q) accepted", bad)
		}
	}
	a, _ := okta.New(okta.Config{OrgURL: "https://ACME.okta.com:443/", APIToken: "t"})
	b, _ := okta.New(okta.Config{OrgURL: "https://acme.okta.com", APIToken: "t"})
	if a.OrgURL() != b.OrgURL() || okta.BudgetFor(a.OrgURL(), 50, nil) != okta.BudgetFor(b.OrgURL(), 50, nil) {
		t.Error("two spellings of one org have two budgets")
	}
}

// TestDPoP: a service app that requires DPoP, as Okta's new ones do. The
// client finds out by itself (invalid_dpop_proof), takes the nonce Okta
// hands out (use_dpop_nonce), sends "DPoP <token>" with a fresh proof on
// every request and every retry, and follows a new nonce mid-run.
func TestDPoP(t *testing.T) {
	ctx := context.Background()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	e := newEnv(t, emulator.Config{}, okta.Config{OAuth: &okta.OAuthConfig{ClientID: "0oadpop", PrivateKeyPEM: keyPEM, Scopes: []string{"okta.apps.manage"}}})
	e.org.AddOAuthClient("0oadpop", &key.PublicKey, []string{"okta.apps.manage"})
	for range 3 {
		if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil {
			t.Fatalf("with DPoP required: %v", err)
		}
	}
	st := e.org.Stats()
	if !e.client.UsesDPoP() {
		t.Error("DPoP not in use for a service app that requires it")
	}
	if got := st.RouteStatuses["POST /oauth2/v1/token"]; got["400"] != 2 || got["200"] != 1 {
		t.Errorf("token requests by status %v, want 400 (no proof), 400 (no nonce), 200", got)
	}

	// A new nonce mid-run: one 401 use_dpop_nonce, answered at once with a
	// new proof.
	e.org.RotateDPoPNonce()
	e.org.ResetStats()
	if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil {
		t.Fatalf("after the nonce changed: %v", err)
	}
	if got := e.org.Stats().RouteStatuses["GET /api/v1/apps"]; got["401"] != 1 || got["200"] != 1 {
		t.Errorf("after a nonce change, answers %v, want one 401 then one 200", got)
	}

	// A 5xx retried: each attempt has its own proof (a replayed jti would be
	// refused).
	e.org.ResetStats()
	e.org.SetFaults(emulator.Faults{Force5xx: 2, ErrorStatus: 503})
	if _, err := e.client.GetApp(ctx, "0oaNoSuchApp12345678"); !okta.IsNotFound(err) {
		t.Errorf("after two 503s: %v, want the app's 404", err)
	}
	if got := e.org.Stats().RouteStatuses["GET /api/v1/apps/{appID}"]; got["503"] != 2 || got["404"] != 1 || got["401"] != 0 {
		t.Errorf("answers %v, want two 503s then a 404 and no refused proof", got)
	}

}

// TestDPoPRefusals: the local org refuses what Okta refuses.
func TestDPoPRefusals(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	e := newEnv(t, emulator.Config{}, okta.Config{APIToken: token})
	e.org.AddOAuthClient("0oadpop", &key.PublicKey, []string{"okta.apps.read"})
	seen := &recordingTransport{}
	c, err := okta.New(okta.Config{OrgURL: e.url, Budget: okta.NewBudget(100, nil), Transport: seen,
		OAuth: &okta.OAuthConfig{ClientID: "0oadpop", PrivateKeyPEM: keyPEM, Scopes: []string{"okta.apps.read"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListApps(context.Background(), okta.AppQuery{}); err != nil {
		t.Fatal(err)
	}
	var api *http.Request
	for _, r := range seen.requests {
		if r.URL.Path == "/api/v1/apps" {
			api = r
		}
	}
	if api == nil || !strings.HasPrefix(api.Header.Get("Authorization"), "DPoP ") || api.Header.Get("DPoP") == "" {
		t.Fatalf("the API request was not a DPoP presentation: %v", api)
	}
	send := func(authorization, proof string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/apps", nil)
		req.Header.Set("Authorization", authorization)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	tokenOnly := strings.TrimPrefix(api.Header.Get("Authorization"), "DPoP ")
	for name, tc := range map[string]struct{ authz, proof, want string }{
		"a replayed proof (jti seen)":       {"DPoP " + tokenOnly, api.Header.Get("DPoP"), "invalid_dpop_proof"},
		"no proof":                          {"DPoP " + tokenOnly, "", "invalid_dpop_proof"},
		"the bound token shown as a Bearer": {"Bearer " + tokenOnly, "", ""},
	} {
		status, challenge := send(tc.authz, tc.proof)
		if status != http.StatusUnauthorized || !strings.Contains(challenge, tc.want) {
			t.Errorf("%s: %d %q, want 401 naming %q", name, status, challenge, tc.want)
		}
	}
}

// recordingTransport keeps every request it sends.
type recordingTransport struct{ requests []*http.Request }

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.requests = append(t.requests, r.Clone(r.Context()))
	return http.DefaultTransport.RoundTrip(r)
}

// TestDPoPAfterA429: the request sent again after a 429's reset carries a
// proof of its own (a replayed jti would be refused), on the org's clock.
func TestDPoPAfterA429(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	e := newEnv(t, emulator.Config{Now: clock.Now}, okta.Config{Now: clock.Now,
		OAuth: &okta.OAuthConfig{ClientID: "0oadpop", PrivateKeyPEM: keyPEM, Scopes: []string{"okta.apps.read"}}})
	e.org.AddOAuthClient("0oadpop", &key.PublicKey, []string{"okta.apps.read"})
	if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil { // the token, with DPoP
		t.Fatal(err)
	}
	e.org.SetFaults(emulator.Faults{Force429: 1})
	_, err := e.client.ListApps(ctx, okta.AppQuery{})
	retryAt, limited := okta.IsRateLimited(err)
	if !limited {
		t.Fatalf("want the 429 first, got %v", err)
	}
	clock.advanceTo(retryAt)
	e.org.ResetStats()
	if _, err := e.client.ListApps(ctx, okta.AppQuery{}); err != nil {
		t.Fatalf("after the 429's reset: %v", err)
	}
	if got := e.org.Stats().RouteStatuses["GET /api/v1/apps"]; got["200"] != 1 || got["401"] != 0 {
		t.Errorf("after the reset, answers %v: want one 200 and no refused proof", got)
	}
}

// TestMadeChange: the client knows its own changes in the System Log by
// their transaction ID (the request's X-Okta-Request-Id), and a change made
// by anyone else is not its own.
func TestMadeChange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, emulator.Config{}, okta.Config{})
	since := time.Now().Add(-time.Minute)
	app, err := e.client.CreateApp(ctx, samlApp("Wiki"), true)
	if err != nil {
		t.Fatal(err)
	}
	app.Label = "Wiki (renamed)"
	if _, err := e.client.UpdateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/apps/"+app.ID+"/lifecycle/deactivate", nil)
	req.Header.Set("Authorization", "SSWS "+token) // an administrator, by hand
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	page, err := e.client.LogEvents(ctx, okta.LogQuery{Since: since, Filter: okta.EventTypeFilter("application.lifecycle.create", "application.lifecycle.update", "application.lifecycle.deactivate")})
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{}
	for _, ev := range page.Events {
		own[ev.EventType] = e.client.MadeChange(ev.Transaction.ID)
	}
	want := map[string]bool{"application.lifecycle.create": true, "application.lifecycle.update": true, "application.lifecycle.deactivate": false}
	if len(own) != len(want) {
		t.Fatalf("events %v, want %v", own, want)
	}
	for eventType, mine := range want {
		if own[eventType] != mine {
			t.Errorf("%s: the client's own change = %v, want %v", eventType, own[eventType], mine)
		}
	}
	if e.client.MadeChange("") {
		t.Error("an event without a transaction counts as the client's own")
	}
}
