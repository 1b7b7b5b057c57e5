package emulator

// The System Log: every change the org makes, through the API or through
// the seed and admin controls, appends the LogEvent Okta would write (the
// OpenAPI LogEvent shape), served by GET /api/v1/logs with since, until,
// filter, limit, sortOrder and Okta's polling cursor in the next link.

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// logTime is how Okta writes an event's published time: milliseconds, so
// events of one millisecond share it.
const logTime = "2006-01-02T15:04:05.000Z"

// logEvent is one System Log event.
type logEvent struct {
	uuid        string
	published   time.Time
	eventType   string
	legacy      string
	message     string
	actor       logEntity
	targets     []logEntity
	transaction string
}

// logEntity is an actor or target: a User, UserGroup, AppInstance, AppUser.
type logEntity struct{ id, kind, alternateID, displayName string }

// logEventTypes are the events the org writes, with Okta's display message
// and legacy (Events API) type.
var logEventTypes = map[string][2]string{
	"user.lifecycle.create":              {"Create Okta user", "core.user.config.user_creation.success"},
	"user.lifecycle.activate":            {"Activate Okta user", "core.user.config.user_activated"},
	"user.lifecycle.deactivate":          {"Deactivate Okta user", "core.user.config.user_deactivated"},
	"user.lifecycle.reactivate":          {"Reactivate Okta user", "core.user.config.user_reactivated"},
	"user.lifecycle.suspend":             {"Suspend Okta user", "core.user.config.user_suspended"},
	"user.lifecycle.unsuspend":           {"Unsuspend Okta user", "core.user.config.user_unsuspended"},
	"user.lifecycle.delete.initiated":    {"Delete Okta user", "core.user.config.user_deleted"},
	"user.account.update_profile":        {"Update user profile for Okta", "core.user.config.profile_update.success"},
	"group.user_membership.add":          {"Add user to group membership", "core.user_group_member.user_add"},
	"group.user_membership.remove":       {"Remove user from group membership", "core.user_group_member.user_remove"},
	"application.user_membership.add":    {"Add user to application membership", "app.generic.provision.assign_user_to_app"},
	"application.user_membership.remove": {"Remove user from application membership", "app.generic.unauth_app_access_attempt"},
	"group.application_assignment.add":   {"Add assigned application to group", "app.generic.config.app_group_member_add"},
	"group.application_assignment.remove": {"Remove assigned application from group",
		"app.generic.config.app_group_member_remove"},
	"application.lifecycle.create":      {"Create application", "app.app_editor.app.create"},
	"application.lifecycle.update":      {"Update application", "app.app_editor.app.update"},
	"application.lifecycle.activate":    {"Activate application", "app.generic.config.app_activated"},
	"application.lifecycle.deactivate":  {"Deactivate application", "app.generic.config.app_deactivated"},
	"application.lifecycle.delete":      {"Delete application", "app.generic.config.app_deleted"},
	"application.policy.sign_on.update": {"Update application sign on policy", "app.app_instance.sign_on_policy.change"},
	"group.lifecycle.create":            {"Create Okta group", "core.user_group.created"},
	"group.profile.update":              {"Update Okta group profile", "core.user_group.updated"},
	"group.lifecycle.delete":            {"Delete Okta group", "core.user_group.deleted"},
	"system.idp.lifecycle.create":       {"Create identity provider", ""},
	"system.idp.lifecycle.update":       {"Update identity provider", ""},
	"system.idp.lifecycle.delete":       {"Delete identity provider", ""},
	"system.idp.lifecycle.activate":     {"Activate identity provider", ""},
	"system.idp.lifecycle.deactivate":   {"Deactivate identity provider", ""},
}

// The actors: an API token's admin, or the org itself (seed, admin controls).
var (
	apiActor    = logEntity{id: "00uEmulatorAdmin0001", kind: "User", alternateID: "admin@emulator.local", displayName: "Emulator Admin"}
	systemActor = logEntity{id: "0oaOktaSystem0000001", kind: "SystemPrincipal", alternateID: "system@okta.com", displayName: "Okta System"}
)

func userEntity(u *user) logEntity {
	first, _ := u.profile["firstName"].(string)
	last, _ := u.profile["lastName"].(string)
	return logEntity{id: u.id, kind: "User", alternateID: u.login(), displayName: strings.TrimSpace(first + " " + last)}
}

func groupEntity(g *group) logEntity {
	return logEntity{id: g.id, kind: "UserGroup", alternateID: "unknown", displayName: g.name}
}

func appEntity(a *app) logEntity {
	return logEntity{id: a.id, kind: "AppInstance", alternateID: a.label, displayName: a.label}
}

// appUserEntity is the assignment Okta names AppUser, with an ID of its own.
func appUserEntity(u *user) logEntity {
	return logEntity{id: "0ua" + strings.TrimPrefix(u.id, "00u"), kind: "AppUser", alternateID: u.login(), displayName: userEntity(u).displayName}
}

// logAs appends an event by actor. Callers hold s.mu.
func (s *Server) logAs(actor logEntity, eventType string, targets ...logEntity) {
	s.org.log = append(s.org.log, &logEvent{
		uuid: s.uuid(), published: s.now(), eventType: eventType, legacy: logEventTypes[eventType][1],
		message: logEventTypes[eventType][0], actor: actor, targets: targets, transaction: cmp.Or(s.transaction, s.randomString(20)),
	})
}

// logAPI appends an event made through the API. Callers hold s.mu.
func (s *Server) logAPI(eventType string, targets ...logEntity) {
	s.logAs(s.actor, eventType, targets...)
}

// uuid is a random version 4 UUID, as Okta's event IDs are.
func (s *Server) uuid() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		case 14:
			b[i] = '4'
		case 19:
			b[i] = hex[8+s.rand.IntN(4)]
		default:
			b[i] = hex[s.rand.IntN(16)]
		}
	}
	return string(b)
}

// inApp tells whether a user is assigned to an app, directly or through a
// group. Callers hold s.mu.
func (s *Server) inApp(a *app, u *user) bool {
	_, direct := a.users.get(u.id)
	return direct || s.grantingGroup(a, u.id) != ""
}

// membership is which of some users are in which of some apps, taken
// before a change so that the events for what moved can be written after.
type membership struct {
	apps  []*app
	users []*user
	in    map[[2]string]bool
}

// trackMembership takes the membership of the users in the apps. Callers
// hold s.mu.
func (s *Server) trackMembership(apps []*app, users []*user) membership {
	m := membership{apps: apps, users: users, in: map[[2]string]bool{}}
	for _, a := range apps {
		for _, u := range users {
			m.in[[2]string{a.id, u.id}] = s.inApp(a, u)
		}
	}
	return m
}

// logMembershipChanges writes application.user_membership.add or .remove
// for each user who joined or left an app since m was taken. Callers hold
// s.mu.
func (s *Server) logMembershipChanges(m membership) {
	for _, a := range m.apps {
		for _, u := range m.users {
			_, exists := s.org.users.get(u.id)
			was, is := m.in[[2]string{a.id, u.id}], exists && s.inApp(a, u)
			switch {
			case is && !was:
				s.logAPI("application.user_membership.add", appUserEntity(u), appEntity(a), userEntity(u))
			case was && !is:
				s.logAPI("application.user_membership.remove", appUserEntity(u), appEntity(a), userEntity(u))
			}
		}
	}
}

// appsOfGroup is the apps a group is assigned to. Callers hold s.mu.
func (s *Server) appsOfGroup(g *group) []*app {
	var out []*app
	for _, a := range s.org.apps.list() {
		if _, ok := a.groups.get(g.id); ok {
			out = append(out, a)
		}
	}
	return out
}

// membersOf is a group's users. Callers hold s.mu.
func (s *Server) membersOf(g *group) []*user {
	var out []*user
	for _, id := range sortedKeys(s.org.members[g.id]) {
		if u, ok := s.org.users.get(id); ok {
			out = append(out, u)
		}
	}
	return out
}

// listLogs serves GET /api/v1/logs. A polling request (no until) always
// gets a next link, whose cursor is where the next poll starts: the events
// published after it, however many share a timestamp.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.now()
	until, polling := now, q.Get("until") == ""
	if !polling {
		t, err := time.Parse(time.RFC3339Nano, q.Get("until"))
		if err != nil {
			s.writeError(w, http.StatusBadRequest, errValidation("until", "until must be an ISO 8601 timestamp"))
			return
		}
		until = t
	}
	since := until.Add(-7 * 24 * time.Hour)
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.writeError(w, http.StatusBadRequest, errValidation("since", "since must be an ISO 8601 timestamp"))
			return
		}
		since = t
	}
	match, err := parseExpr(q.Get("filter"))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, errValidation("filter", "Invalid filter: "+err.Error()))
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 || limit > 1000 {
			s.writeError(w, http.StatusBadRequest, errValidation("limit", "limit must be between 0 and 1000"))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start, ok := logCursor(q.Get("after"), len(s.org.log))
	if !ok {
		s.writeError(w, http.StatusBadRequest, errValidation("after", "The after cursor is not one this org gave"))
		return
	}
	var page []*logEvent
	pos := start
	for ; pos < len(s.org.log) && len(page) < limit; pos++ {
		e := s.org.log[pos]
		if !e.published.Before(since) && (polling || e.published.Before(until)) && match(e.attrs()) {
			page = append(page, e)
		}
	}
	if q.Get("sortOrder") == "DESCENDING" {
		slices.Reverse(page)
	}
	body := make([]any, 0, len(page))
	for _, e := range page {
		body = append(body, e.render())
	}
	next := ""
	if polling || pos < len(s.org.log) {
		next = encodeLogCursor(pos)
	}
	s.writePage(w, r, pageQuery{after: q.Get("after"), limit: limit}, next, body)
}

// The cursor is a position in the log, which only grows: opaque to
// clients, as Okta's is.
func encodeLogCursor(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("log:" + strconv.Itoa(pos)))
}

func logCursor(after string, size int) (int, bool) {
	if after == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(after)
	if err != nil || !strings.HasPrefix(string(raw), "log:") {
		return 0, false
	}
	pos, err := strconv.Atoi(strings.TrimPrefix(string(raw), "log:"))
	return pos, err == nil && pos >= 0 && pos <= size
}

// attrs are what a filter can name.
func (e *logEvent) attrs() map[string]string {
	return map[string]string{"eventType": e.eventType, "uuid": e.uuid, "actor.id": e.actor.id, "actor.type": e.actor.kind,
		"severity": "INFO", "outcome.result": "SUCCESS", "published": e.published.UTC().Format(logTime)}
}

// render is the event in Okta's LogEvent shape.
func (e *logEvent) render() map[string]any {
	targets := make([]any, 0, len(e.targets))
	for _, t := range e.targets {
		targets = append(targets, t.render())
	}
	return map[string]any{
		"uuid": e.uuid, "published": e.published.UTC().Format(logTime), "eventType": e.eventType, "version": "0",
		"severity": "INFO", "legacyEventType": e.legacy, "displayMessage": e.message,
		"actor": e.actor.render(), "target": targets,
		"client": map[string]any{"userAgent": map[string]any{"rawUserAgent": "okta-emulator", "os": "Unknown", "browser": "UNKNOWN"},
			"zone": "null", "device": "Unknown", "id": nil, "ipAddress": "127.0.0.1",
			"geographicalContext": map[string]any{"city": nil, "state": nil, "country": nil, "postalCode": nil, "geolocation": nil}},
		"outcome":               map[string]any{"result": "SUCCESS", "reason": nil},
		"transaction":           map[string]any{"type": "WEB", "id": e.transaction, "detail": map[string]any{}},
		"debugContext":          map[string]any{"debugData": map[string]any{"requestUri": "/api/v1"}},
		"authenticationContext": map[string]any{"authenticationStep": 0, "externalSessionId": "unknown"},
		"securityContext":       map[string]any{"asNumber": nil, "asOrg": nil, "isp": nil, "domain": nil, "isProxy": nil},
		"request":               map[string]any{"ipChain": []any{map[string]any{"ip": "127.0.0.1", "version": "V4", "source": nil}}},
	}
}

func (t logEntity) render() map[string]any {
	return map[string]any{"id": t.id, "type": t.kind, "alternateId": t.alternateID, "displayName": t.displayName, "detailEntry": nil}
}
