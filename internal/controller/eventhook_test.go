package controller

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

func TestEventHookSecretIsComparedAsDigests(t *testing.T) {
	h := &EventHook{Header: "Authorization", Secret: []byte("hook-secret-3f9c")}
	for sent, want := range map[string]bool{"hook-secret-3f9c": true, "hook-secret-3f9": false, "hook-secret-3f9cX": false, "": false} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", sent)
		if got := h.authorized(r, "acme.okta.com"); got != want {
			t.Errorf("secret %q: authorized %v, want %v", sent, got, want)
		}
	}
	if (&EventHook{Header: "Authorization"}).authorized(httptest.NewRequest(http.MethodGet, "/", nil), "acme.okta.com") {
		t.Error("a hook with no secret let a request in")
	}
}

// Each org's deliveries are accepted with its own secret only: another
// org's secret, or the manager's, does not open it.
func TestEventHookSecretPerOrg(t *testing.T) {
	reads := 0
	h := &EventHook{Header: "Authorization", Secret: []byte("manager-secret"),
		OrgSecrets: func(_ context.Context, host string) ([][]byte, error) {
			reads++
			switch host {
			case "acme.okta.com":
				return [][]byte{[]byte("acme-secret")}, nil
			case "unreadable.okta.com":
				return [][]byte{}, nil // set, but its Secret is missing
			}
			return nil, nil
		}}
	for _, tc := range []struct {
		host, sent string
		want       bool
	}{
		{"acme.okta.com", "acme-secret", true},
		{"acme.okta.com", "manager-secret", false},
		{"other.okta.com", "manager-secret", true},
		{"other.okta.com", "acme-secret", false},
		{"unreadable.okta.com", "manager-secret", false},
		{"unreadable.okta.com", "", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", tc.sent)
		if got := h.authorized(r, tc.host); got != tc.want {
			t.Errorf("%s with %q: authorized %v, want %v", tc.host, tc.sent, got, tc.want)
		}
	}
	if reads != 3 {
		t.Errorf("the org secrets were read %d times for 3 hosts: each host's are kept a minute", reads)
	}
}

func TestEventHookRefusesMoreEventsThanOktaSends(t *testing.T) {
	// No follower: a delivery that reached it would panic.
	h := &EventHook{Header: "Authorization", Secret: []byte("s")}
	events := make([]string, maxDeliveryEvents+1)
	for i := range events {
		events[i] = fmt.Sprintf(`{"uuid":"e%d","eventType":"user.lifecycle.deactivate"}`, i)
	}
	r := httptest.NewRequest(http.MethodPost, hookPath+"acme.okta.com", strings.NewReader(`{"data":{"events":[`+strings.Join(events, ",")+`]}}`))
	r.Header.Set("Authorization", "s")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("a delivery of %d events: %d, want 400 (not retried), none acted on", len(events), w.Code)
	}
}

func TestEventHookActsOnAnEventOnce(t *testing.T) {
	var seen recentEvents
	now := time.Unix(1_700_000_000, 0)
	ev := func(ids ...string) []okta.LogEvent {
		out := make([]okta.LogEvent, len(ids))
		for i, id := range ids {
			out[i] = okta.LogEvent{UUID: id}
		}
		return out
	}
	uuids := func(events []okta.LogEvent) string {
		var ids []string
		for _, e := range events {
			ids = append(ids, e.UUID)
		}
		return strings.Join(ids, ",")
	}
	if got := uuids(seen.fresh(ev("a", "b"), now)); got != "a,b" {
		t.Fatalf("first delivery: %s", got)
	}
	// The first delivery's hand-over failed (503): nothing remembered, Okta retries.
	if got := uuids(seen.fresh(ev("a", "b"), now)); got != "a,b" {
		t.Fatalf("a retry after a failed hand-over: %s, want both again", got)
	}
	seen.actedOn(ev("a", "b"), now)
	if got := uuids(seen.fresh(ev("a", "b", "c"), now.Add(time.Minute))); got != "c" {
		t.Errorf("a repeat: %s, want only the new event", got)
	}
	if got := uuids(seen.fresh(ev("a"), now.Add(2*time.Hour))); got != "a" {
		t.Errorf("after an hour: %s, want it acted on again", got)
	}
}
