package emulator_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// personOrg is an org with alice (who can sign in) for sign-in tests.
func personOrg(t *testing.T, classic bool, clock *fakeClock) (string, *okta.Client) {
	t.Helper()
	org, err := emulator.New(emulator.Config{APIToken: "t", KeyBits: 1024, Classic: classic, Now: clock.Now, Seed: &emulator.Seed{
		Users: []emulator.SeedUser{{Login: "alice@example.com", FirstName: "Alice", LastName: "Smith", Password: password}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(org.Handler())
	t.Cleanup(srv.Close)
	org.SetBaseURL(srv.URL)
	c, err := okta.New(okta.Config{OrgURL: srv.URL, APIToken: "t", Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, c
}

// The sign-in form in each engine's shape, with the fields Okta's own
// widget has, Okta's messages, and its lockout after ten wrong passwords.
func TestSignInFormInEachEngine(t *testing.T) {
	tests := map[string]struct {
		classic bool
		// fields a browser test written against Okta looks for on the first page
		firstPage []string
		// signIn answers the form(s) with a username and a password
		signIn func(b *browser, base, page, username, password string) (int, string)
	}{
		"Identity Engine: identifier first, then the password": {
			firstPage: []string{`name="identifier"`, `data-type="save"`, `value="Next"`, `class="siw-main-view identify primary-auth"`},
			signIn: func(b *browser, base, page, username, pw string) (int, string) {
				status, page := b.submitForm(base, page, url.Values{"identifier": {username}})
				if status != http.StatusOK || !strings.Contains(page, `name="credentials.passcode"`) || !strings.Contains(page, `data-se="cancel"`) {
					b.t.Fatalf("the password step: %d\n%s", status, page)
				}
				return b.submitForm(base, page, url.Values{"credentials.passcode": {pw}})
			},
		},
		"Classic: the widget's username and password": {
			classic:   true,
			firstPage: []string{`id="okta-signin-username"`, `id="okta-signin-password"`, `id="okta-signin-submit"`, `value="Sign In"`},
			signIn: func(b *browser, base, page, username, pw string) (int, string) {
				return b.submitForm(base, page, url.Values{"username": {username}, "password": {pw}})
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			base, api := personOrg(t, tc.classic, &fakeClock{now: time.Now()})
			b := newBrowser(t)
			_, page := b.get(base + "/login/login.htm")
			for _, field := range tc.firstPage {
				if !strings.Contains(page, field) {
					t.Errorf("the first page has no %s:\n%s", field, page)
				}
			}
			if !strings.Contains(page, `<p class="okta-org">emulator</p>`) {
				t.Errorf("the page does not name the org:\n%s", page)
			}

			status, page := tc.signIn(b, base, page, "alice@example.com", "wrong")
			if status != http.StatusOK || !strings.Contains(page, "Unable to sign in") || !strings.Contains(page, `value="alice@example.com"`) {
				t.Fatalf("a wrong password: %d\n%s", status, page)
			}
			status, page = tc.signIn(b, base, page, "nobody@example.com", "wrong")
			if !strings.Contains(page, "Unable to sign in") {
				t.Fatalf("an unknown user is told the same: %d\n%s", status, page)
			}
			for range 9 { // ten wrong passwords in a row in all
				_, page = tc.signIn(b, base, page, "alice@example.com", "wrong")
			}
			if !strings.Contains(html.UnescapeString(page), "Your account is locked") {
				t.Fatalf("after ten wrong passwords:\n%s", page)
			}
			_, page = tc.signIn(b, base, page, "alice@example.com", password)
			if !strings.Contains(html.UnescapeString(page), "Your account is locked") {
				t.Fatalf("a locked user with the right password:\n%s", page)
			}
			alice, err := api.GetUser(context.Background(), "alice@example.com")
			if err != nil || alice.Status != "LOCKED_OUT" {
				t.Fatalf("alice through the API: %+v, %v", alice, err)
			}
			req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/users/"+alice.ID+"/lifecycle/unlock", nil)
			req.Header.Set("Authorization", "SSWS t")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("unlock: %v %v", resp, err)
			}
			resp.Body.Close()
			status, page = tc.signIn(b, base, page, "  alice@example.com ", password)
			if status != http.StatusOK || !strings.Contains(page, "My Apps") {
				t.Fatalf("unlocked, with spaces around the username: %d\n%s", status, page)
			}
		})
	}
}

// An abandoned sign-in form expires; a session ends after Okta's idle
// time; a form brought back by Back sends a signed-in person on to My Apps.
func TestAttemptsAndSessionsExpire(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	base, _ := personOrg(t, true, clock)
	signIn := func(b *browser, page string) (int, string) {
		return b.submitForm(base, page, url.Values{"username": {"alice@example.com"}, "password": {password}})
	}

	b := newBrowser(t)
	_, form := b.get(base + "/login/login.htm")
	clock.Add(31 * time.Minute)
	status, page := signIn(b, form)
	if status != http.StatusBadRequest || !strings.Contains(page, "The sign-in has expired") || !strings.Contains(page, "Go to My Apps") {
		t.Fatalf("a form left for 31 minutes: %d\n%s", status, page)
	}

	_, form = b.get(base + "/login/login.htm")
	if status, page = signIn(b, form); !strings.Contains(page, "My Apps") {
		t.Fatalf("signing in: %d\n%s", status, page)
	}
	if status, page = signIn(b, form); status != http.StatusOK || !strings.Contains(page, "Signed in as") {
		t.Fatalf("the used form again (Back): %d\n%s", status, page)
	}

	clock.Add(119 * time.Minute)
	if _, page = b.get(base + "/app/UserHome"); !strings.Contains(page, "Signed in as") {
		t.Fatalf("a session used 119 minutes ago ended:\n%s", page)
	}
	clock.Add(121 * time.Minute)
	if _, page = b.get(base + "/app/UserHome"); !strings.Contains(page, "Sign In") || strings.Contains(page, "Signed in as") {
		t.Fatalf("a session idle for 121 minutes is still open:\n%s", page)
	}
}
