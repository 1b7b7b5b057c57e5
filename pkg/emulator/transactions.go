package emulator

// Request IDs and the System Log events of admin changes. Okta answers
// every request with an X-Okta-Request-Id and writes that ID as the
// transaction.id of the events the request caused, so a client that keeps
// the IDs of its own changes can tell them from everyone else's in the log.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

type requestIDKey struct{}

// newRequestID is an ID in the shape of Okta's: 27 URL-safe characters.
func newRequestID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// identified gives every request its ID, answered in X-Okta-Request-Id.
func (s *Server) identified(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		w.Header().Set("X-Okta-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func requestIDOf(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// adminEvent is the event Okta writes for a change through one route, and
// the path parameter naming its target ("" when the answer names it: a
// create).
type adminEvent struct {
	eventType, param, kind string
}

// adminEvents are the changes to apps, their sign-on policy, groups and
// identity providers the org logs (the assignment and user events are
// written by their handlers).
var adminEvents = map[string]adminEvent{
	"POST /api/v1/apps":                              {"application.lifecycle.create", "", "AppInstance"},
	"PUT /api/v1/apps/{appID}":                       {"application.lifecycle.update", "appID", "AppInstance"},
	"DELETE /api/v1/apps/{appID}":                    {"application.lifecycle.delete", "appID", "AppInstance"},
	"POST /api/v1/apps/{appID}/lifecycle/activate":   {"application.lifecycle.activate", "appID", "AppInstance"},
	"POST /api/v1/apps/{appID}/lifecycle/deactivate": {"application.lifecycle.deactivate", "appID", "AppInstance"},
	"PUT /api/v1/apps/{appID}/policies/{policyID}":   {"application.policy.sign_on.update", "appID", "AppInstance"},
	"POST /api/v1/groups":                            {"group.lifecycle.create", "", "UserGroup"},
	"PUT /api/v1/groups/{groupID}":                   {"group.profile.update", "groupID", "UserGroup"},
	"DELETE /api/v1/groups/{groupID}":                {"group.lifecycle.delete", "groupID", "UserGroup"},
	"POST /api/v1/idps":                              {"system.idp.lifecycle.create", "", "IdentityProvider"},
	"PUT /api/v1/idps/{idpID}":                       {"system.idp.lifecycle.update", "idpID", "IdentityProvider"},
	"DELETE /api/v1/idps/{idpID}":                    {"system.idp.lifecycle.delete", "idpID", "IdentityProvider"},
	"POST /api/v1/idps/{idpID}/lifecycle/activate":   {"system.idp.lifecycle.activate", "idpID", "IdentityProvider"},
	"POST /api/v1/idps/{idpID}/lifecycle/deactivate": {"system.idp.lifecycle.deactivate", "idpID", "IdentityProvider"},
}

// transacted runs a change (any request but a read) alone, with the events
// it writes carrying its request ID, then logs the admin event of its
// route when it succeeded. Changes are serialised anyway: every handler
// that changes the org holds s.mu throughout.
func (s *Server) transacted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		s.change(next, w, r)
		// Provisioning to other orgs follows each change, as Okta's engine
		// does, once the change is in: its calls go to another org.
		s.Provision(context.WithoutCancel(r.Context()))
	})
}

// change runs one change alone and logs it (transacted).
func (s *Server) change(next http.Handler, w http.ResponseWriter, r *http.Request) {
	s.changes.Lock()
	defer s.changes.Unlock()
	event, logged := adminEvents[r.Pattern]
	s.mu.Lock()
	s.transaction = requestIDOf(r)
	before, found := s.entity(event.kind, r.PathValue(event.param))
	s.mu.Unlock()

	rec := &bodyRecorder{statusRecorder: statusRecorder{ResponseWriter: w}, keep: logged && event.param == ""}
	next.ServeHTTP(rec, r)

	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.transaction = "" }()
	if !logged || rec.status >= 300 {
		return
	}
	if event.param == "" { // a create: the answer names it
		var created struct{ ID string }
		_ = json.Unmarshal(rec.body.Bytes(), &created)
		before, found = s.entity(event.kind, created.ID)
	} else if after, ok := s.entity(event.kind, r.PathValue(event.param)); ok {
		before = after // its name after the change
	}
	if found {
		s.logAPI(event.eventType, before)
	}
}

// entity is the log target of an app, group or IdP by ID. Callers hold s.mu.
func (s *Server) entity(kind, id string) (logEntity, bool) {
	if id == "" {
		return logEntity{}, false
	}
	switch kind {
	case "AppInstance":
		if a, ok := s.org.apps.get(id); ok {
			return appEntity(a), true
		}
	case "UserGroup":
		if g, ok := s.org.groups.get(id); ok {
			return groupEntity(g), true
		}
	case "IdentityProvider":
		if p, ok := s.org.idps.get(id); ok {
			name, _ := p.body["name"].(string)
			return logEntity{id: p.id, kind: "IdentityProvider", alternateID: strings.TrimSpace(name), displayName: name}, true
		}
	}
	return logEntity{}, false
}

// bodyRecorder keeps the status, and the body when asked.
type bodyRecorder struct {
	statusRecorder
	keep bool
	body bytes.Buffer
}

func (r *bodyRecorder) Write(b []byte) (int, error) {
	if r.keep {
		r.body.Write(b)
	}
	return r.statusRecorder.Write(b)
}
