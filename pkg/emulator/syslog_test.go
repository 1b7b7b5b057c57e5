package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

type logEvent struct {
	UUID      string `json:"uuid"`
	Published string `json:"published"`
	EventType string `json:"eventType"`
	Actor     struct {
		Type string `json:"type"`
	} `json:"actor"`
	Target []struct {
		ID, Type, AlternateID, DisplayName string
	} `json:"target"`
	Transaction struct {
		ID string `json:"id"`
	} `json:"transaction"`
}

var nextLink = regexp.MustCompile(`<([^>]+)>; rel="next"`)

// logs GETs a System Log URL and returns the events and the next link.
func logs(t *testing.T, u string) ([]logEvent, string) {
	t.Helper()
	resp, body := call(t, "GET", u, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	var events []logEvent
	if err := json.Unmarshal([]byte(body), &events); err != nil {
		t.Fatal(err)
	}
	next := ""
	for _, l := range resp.Header.Values("Link") {
		if m := nextLink.FindStringSubmatch(l); m != nil {
			next = m[1]
		}
	}
	return events, next
}

func eventTypes(events []logEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.EventType)
	}
	return out
}

func TestSystemLogRecordsChanges(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	srv, base := org(t, emulator.Config{Now: func() time.Time { return now }})
	if err := srv.Seed(&emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Password: "correct-horse-battery", Groups: []string{"Engineering"}}}}); err != nil {
		t.Fatal(err)
	}
	_, body := call(t, "POST", base+"/api/v1/apps", `{"label":"Wiki","signOnMode":"SAML_2_0","settings":{"signOn":{"ssoAcsUrl":"https://wiki.example.com/acs","audience":"wiki","recipient":"https://wiki.example.com/acs","destination":"https://wiki.example.com/acs","subjectNameIdTemplate":"${user.userName}","subjectNameIdFormat":"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified","responseSigned":true,"assertionSigned":true,"signatureAlgorithm":"RSA_SHA256","digestAlgorithm":"SHA256","authnContextClassRef":"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}}}`)
	var app struct{ ID string }
	_ = json.Unmarshal([]byte(body), &app)
	_, body = call(t, "GET", base+"/api/v1/groups?q=Engineering", "")
	var groups []struct{ ID string }
	_ = json.Unmarshal([]byte(body), &groups)
	_, body = call(t, "GET", base+"/api/v1/users/ann@example.com", "")
	var ann struct{ ID string }
	_ = json.Unmarshal([]byte(body), &ann)
	if app.ID == "" || len(groups) != 1 || ann.ID == "" {
		t.Fatalf("setup: app %q groups %v user %q", app.ID, groups, ann.ID)
	}
	since := now.Format(time.RFC3339)
	now = now.Add(time.Second)
	for _, step := range []struct{ method, path string }{
		{"PUT", "/api/v1/apps/" + app.ID + "/groups/" + groups[0].ID},
		{"POST", "/api/v1/users/" + ann.ID + "/lifecycle/suspend"},
		{"POST", "/api/v1/users/" + ann.ID + "/lifecycle/unsuspend"},
		{"DELETE", "/api/v1/groups/" + groups[0].ID + "/users/" + ann.ID},
		{"POST", "/api/v1/users/" + ann.ID + "/lifecycle/deactivate"},
	} {
		if resp, body := call(t, step.method, base+step.path, ""); resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", step.method, step.path, resp.StatusCode, body)
		}
	}

	events, next := logs(t, base+"/api/v1/logs?since="+url.QueryEscape(since))
	want := []string{
		"user.lifecycle.create", "user.lifecycle.activate", "group.user_membership.add", // the seed
		"application.lifecycle.create",
		"group.application_assignment.add", "application.user_membership.add",
		"user.lifecycle.suspend", "user.lifecycle.unsuspend",
		"group.user_membership.remove", "application.user_membership.remove",
		"user.lifecycle.deactivate",
	}
	if got := eventTypes(events); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events:\n got %v\nwant %v", got, want)
	}
	if events[0].Actor.Type != "SystemPrincipal" || events[3].Actor.Type != "User" {
		t.Errorf("actors: the seed's %s, the API's %s", events[0].Actor.Type, events[3].Actor.Type)
	}
	targets := map[string]string{}
	for _, tg := range events[5].Target {
		targets[tg.Type] = tg.ID
	}
	if targets["AppInstance"] != app.ID || targets["User"] != ann.ID || targets["AppUser"] == "" {
		t.Errorf("app membership targets: %v", events[5].Target)
	}
	if next == "" {
		t.Fatal("a polling request got no next link")
	}

	// Polling: the next link gives nothing until there is something new, then just that.
	if again, next2 := logs(t, next); len(again) != 0 || next2 == "" {
		t.Fatalf("polling with nothing new: %v, next %q", eventTypes(again), next2)
	}
	if resp, _ := call(t, "POST", base+"/api/v1/users/"+ann.ID+"/lifecycle/activate", ""); resp.StatusCode != 200 {
		t.Fatalf("activate: %d", resp.StatusCode)
	}
	if fresh, _ := logs(t, next); strings.Join(eventTypes(fresh), " ") != "user.lifecycle.activate" {
		t.Errorf("after one change the poll gave %v", eventTypes(fresh))
	}

	filtered, _ := logs(t, base+"/api/v1/logs?since="+url.QueryEscape(since)+"&filter="+
		url.QueryEscape(`eventType eq "user.lifecycle.deactivate" or eventType eq "user.lifecycle.suspend"`))
	if got := strings.Join(eventTypes(filtered), " "); got != "user.lifecycle.suspend user.lifecycle.deactivate" {
		t.Errorf("filtered: %s", got)
	}
	if bounded, next := logs(t, base+"/api/v1/logs?since="+url.QueryEscape(since)+"&until="+url.QueryEscape(now.Add(time.Hour).Format(time.RFC3339))); next != "" || len(bounded) != len(want)+1 {
		t.Errorf("a bounded query: %d events, next %q", len(bounded), next)
	}
}

// TestAdminChangesAreLogged: changes to apps, groups and identity providers
// write Okta's events, each carrying the request's X-Okta-Request-Id as its
// transaction ID; a change that fails writes nothing.
func TestAdminChangesAreLogged(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	_, base := org(t, emulator.Config{Now: func() time.Time { return now }})
	since := now.Format(time.RFC3339)
	requests := map[string]string{} // event type → request ID
	change := func(eventType, method, path, body string) string {
		t.Helper()
		resp, answer := call(t, method, base+path, body)
		if resp.StatusCode >= 300 || resp.Header.Get("X-Okta-Request-Id") == "" {
			t.Fatalf("%s %s: %d %s (request ID %q)", method, path, resp.StatusCode, answer, resp.Header.Get("X-Okta-Request-Id"))
		}
		requests[eventType] = resp.Header.Get("X-Okta-Request-Id")
		var created struct{ ID string }
		_ = json.Unmarshal([]byte(answer), &created)
		return created.ID
	}
	app := change("application.lifecycle.create", "POST", "/api/v1/apps", `{"name":"bookmark","label":"Wiki","signOnMode":"BOOKMARK","settings":{"app":{"url":"https://wiki.example.com","requestIntegration":false}}}`)
	change("application.lifecycle.update", "PUT", "/api/v1/apps/"+app, `{"name":"bookmark","label":"Wiki 2","signOnMode":"BOOKMARK","settings":{"app":{"url":"https://wiki.example.com","requestIntegration":false}}}`)
	change("application.lifecycle.deactivate", "POST", "/api/v1/apps/"+app+"/lifecycle/deactivate", "")
	group := change("group.lifecycle.create", "POST", "/api/v1/groups", `{"profile":{"name":"Ops"}}`)
	change("group.profile.update", "PUT", "/api/v1/groups/"+group, `{"profile":{"name":"Operations"}}`)
	change("group.lifecycle.delete", "DELETE", "/api/v1/groups/"+group, "")
	if resp, _ := call(t, "DELETE", base+"/api/v1/groups/"+group, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleting a deleted group: %d", resp.StatusCode)
	}

	events, _ := logs(t, base+"/api/v1/logs?since="+url.QueryEscape(since))
	want := []string{"application.lifecycle.create", "application.lifecycle.update", "application.lifecycle.deactivate",
		"group.lifecycle.create", "group.profile.update", "group.lifecycle.delete"}
	if got := eventTypes(events); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	for _, e := range events {
		if e.Transaction.ID != requests[e.EventType] {
			t.Errorf("%s: transaction %q, the request was %q", e.EventType, e.Transaction.ID, requests[e.EventType])
		}
	}
	if tg := events[1].Target; len(tg) != 1 || tg[0].ID != app || tg[0].Type != "AppInstance" || tg[0].AlternateID != "Wiki 2" {
		t.Errorf("update target: %+v", tg)
	}
	if tg := events[5].Target; len(tg) != 1 || tg[0].ID != group || tg[0].DisplayName != "Operations" {
		t.Errorf("delete target (named as it was): %+v", tg)
	}
}

// Events of one millisecond across pages: each comes once, in order.
func TestSystemLogPagesOfOneTimestamp(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	srv, base := org(t, emulator.Config{Now: func() time.Time { return now }})
	var users []emulator.SeedUser
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		users = append(users, emulator.SeedUser{Login: n + "@example.com", FirstName: n, LastName: n})
	}
	if err := srv.Seed(&emulator.Seed{Users: users}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var order []string
	u := base + "/api/v1/logs?limit=3&since=" + url.QueryEscape(now.Format(time.RFC3339))
	for range 10 {
		events, next := logs(t, u)
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			if seen[e.UUID] {
				t.Fatalf("event %s came twice", e.UUID)
			}
			seen[e.UUID] = true
			order = append(order, e.Target[0].AlternateID)
		}
		u = next
	}
	if len(seen) != 14 {
		t.Errorf("%d events over the pages, want 14 (a create and an activate each)", len(seen))
	}
	if order[0] != "a@example.com" || order[13] != "g@example.com" {
		t.Errorf("order: %v", order)
	}
}
