package emulator_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// A person reaches the org at its URL: the sign-in page (named for the
// org, never cached, Okta's "Unable to sign in" on a failure, the username
// trimmed), then My Apps with their tiles, a tile's IdP-initiated sign-in,
// and sign-out.
func TestMyAppsSignInAndSignOut(t *testing.T) {
	env := newSAMLEnv(t)
	base := env.org.BaseURL()
	b := newBrowser(t)

	status, page := b.get(base + "/")
	if status != http.StatusOK || !strings.Contains(page, "Sign In") || !strings.Contains(page, `name="identifier"`) {
		t.Fatalf("the org's URL without a session: %d\n%s", status, page)
	}
	resp, err := http.Get(base + "/login/login.htm")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the sign-in page may be cached: %q", resp.Header.Get("Cache-Control"))
	}

	status, page = b.submitForm(base, page, url.Values{"username": {"alice@example.com"}, "password": {"not-her-password"}})
	if status != http.StatusOK || !strings.Contains(page, "Unable to sign in") || !strings.Contains(page, `value="alice@example.com"`) {
		t.Fatalf("a wrong password: %d\n%s", status, page)
	}

	status, page = b.submitForm(base, page, url.Values{"username": {"  alice@example.com "}, "password": {password}})
	if status != http.StatusOK || !strings.Contains(page, "My Apps") || !strings.Contains(page, "alice@example.com") {
		t.Fatalf("signed in, My Apps: %d\n%s", status, page)
	}
	tileHref := "/home/" + env.app.Name + "/" + env.app.ID + "/"
	i := strings.Index(page, tileHref)
	if i < 0 || !strings.Contains(page, env.app.Label) {
		t.Fatalf("My Apps has no tile for %s:\n%s", env.app.Label, page)
	}
	link := page[i : i+strings.Index(page[i:], `"`)]

	status, page = b.get(base + link)
	if status != http.StatusOK || !strings.Contains(page, "SAMLResponse") {
		t.Fatalf("the tile did not sign her in to the app: %d\n%s", status, page)
	}

	status, page = b.get(base + "/login/signout?fromURI=/app/UserHome")
	if status != http.StatusOK || !strings.Contains(page, "Sign In") {
		t.Fatalf("sign-out: %d\n%s", status, page)
	}
	if _, page = b.get(base + "/app/UserHome"); !strings.Contains(page, "Sign In") {
		t.Fatalf("My Apps after sign-out:\n%s", page)
	}

	t.Run("a user with no apps, and a fromURI off the org", func(t *testing.T) {
		b := newBrowser(t)
		_, page := b.get(base + "/login/login.htm?fromURI=" + url.QueryEscape("https://attacker.example.com/"))
		status, page := b.submitForm(base, page, url.Values{"username": {"bob@example.com"}, "password": {password}})
		if status != http.StatusOK || !strings.Contains(page, "No apps are assigned to you") {
			t.Fatalf("bob after signing in: %d\n%s", status, page)
		}
	})
}

// A person refused by an app sees why, signs out, and signs in as someone
// the app is assigned to, landing back where they started.
func TestRefusedPersonSignsOutAndTriesAnotherAccount(t *testing.T) {
	env := newSAMLEnv(t)
	base := env.org.BaseURL()
	b := newBrowser(t)
	_, page := b.get(env.app.Links.AppLinks[0].Href)
	status, page := b.signIn(env, page, "bob@example.com")
	if status != http.StatusForbidden || !strings.Contains(page, "bob@example.com is not assigned to this application") {
		t.Fatalf("bob at a tile he is not assigned: %d\n%s", status, page)
	}
	m := regexp.MustCompile(`id="signout" data-se="signout" href="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the refusal has no sign-out:\n%s", page)
	}
	status, page = b.get(base + html.UnescapeString(m[1]))
	if status != http.StatusOK || !strings.Contains(page, "Sign In") {
		t.Fatalf("after signing out: %d\n%s", status, page)
	}
	status, page = b.signIn(env, page, "alice@example.com")
	if status != http.StatusOK || !strings.Contains(page, "SAMLResponse") {
		t.Fatalf("alice, after bob signed out, goes on to the app: %d\n%s", status, page)
	}
}
