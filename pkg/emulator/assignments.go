package emulator

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// appGroup is a group's assignment to an app.
type appGroup struct {
	groupID     string
	priority    int
	profile     map[string]any
	lastUpdated time.Time
}

// appUser is a user's direct assignment to an app.
type appUser struct {
	userID           string
	userName         string
	profile          map[string]any
	created, updated time.Time
}

func (s *Server) renderAppGroup(a *app, g *appGroup) map[string]any {
	return map[string]any{
		"id": g.groupID, "lastUpdated": timestamp(g.lastUpdated), "priority": g.priority, "profile": g.profile,
		"_links": map[string]any{
			"app":   link(s.baseURL + "/api/v1/apps/" + a.id),
			"self":  link(s.baseURL + "/api/v1/apps/" + a.id + "/groups/" + g.groupID),
			"group": link(s.baseURL + "/api/v1/groups/" + g.groupID),
		},
	}
}

// sortedAppGroups lists an app's groups by priority, then assignment order.
func sortedAppGroups(a *app) []*appGroup {
	groups := a.groups.list()
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].priority < groups[j].priority })
	return groups
}

func (s *Server) listAppGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	writeList(s, w, r, sortedAppGroups(a), 20, 200, func(g *appGroup) string { return g.groupID },
		func(g *appGroup) map[string]any { return s.renderAppGroup(a, g) })
}

func (s *Server) getAppGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	g, ok := a.groups.get(r.PathValue("groupID"))
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(r.PathValue("groupID"), "ApplicationGroupAssignment"))
		return
	}
	writeJSON(w, http.StatusOK, s.renderAppGroup(a, g))
}

func (s *Server) assignAppGroup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Priority *int           `json:"priority"`
		Profile  map[string]any `json:"profile"`
	}
	if r.ContentLength != 0 && !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	if req.Priority != nil && *req.Priority < 0 {
		s.writeError(w, http.StatusBadRequest, errValidation("priority", "priority: must be 0 or more"))
		return
	}
	if !s.validProfile(w, req.Profile) {
		return
	}
	assignment, exists := a.groups.get(g.id)
	m := s.trackMembership([]*app{a}, s.membersOf(g))
	if !exists {
		assignment = &appGroup{groupID: g.id, priority: lastPriority(a) + 1}
	}
	if req.Priority != nil && *req.Priority != assignment.priority {
		if exists {
			closeGapAt(a, assignment.priority)
		}
		assignment.priority = *req.Priority
		a.groups.put(g.id, assignment)
		makeRoomAt(a, assignment)
	}
	assignment.profile = req.Profile
	if assignment.profile == nil {
		assignment.profile = map[string]any{}
	}
	assignment.lastUpdated = s.now()
	a.groups.put(g.id, assignment)
	if !exists {
		s.logAPI("group.application_assignment.add", appEntity(a), groupEntity(g))
		s.logMembershipChanges(m)
	}
	writeJSON(w, http.StatusOK, s.renderAppGroup(a, assignment))
}

func (s *Server) unassignAppGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	removed, ok := a.groups.get(r.PathValue("groupID"))
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(r.PathValue("groupID"), "ApplicationGroupAssignment"))
		return
	}
	var m membership
	g, _ := s.org.groups.get(removed.groupID)
	if g != nil {
		m = s.trackMembership([]*app{a}, s.membersOf(g))
	}
	a.groups.remove(r.PathValue("groupID"))
	closeGapAt(a, removed.priority)
	if g != nil {
		s.logAPI("group.application_assignment.remove", appEntity(a), groupEntity(g))
		s.logMembershipChanges(m)
	}
	w.WriteHeader(http.StatusNoContent)
}

// validProfile checks an assignment profile the way an app's user schema
// does for the types it can hold: a property is a string, a number, a
// boolean or an array of those; an object is refused with 400 E0000001.
func (s *Server) validProfile(w http.ResponseWriter, profile map[string]any) bool {
	var causes []string
	for k, v := range profile {
		if _, isObject := v.(map[string]any); isObject {
			causes = append(causes, "profile."+k+": must be a string, number, boolean or array, not an object")
		}
	}
	if len(causes) == 0 {
		return true
	}
	sort.Strings(causes)
	s.writeError(w, http.StatusBadRequest, errValidation("profile", causes...))
	return false
}

// Okta renumbers group priorities as groups come and go (the recorded
// exchanges show a requested priority kept, gaps included): a group put at
// a priority another group holds goes before it, the holder and those after
// it moving down one; removing a group moves those after it up one. So a
// priority read back is not always the one written: callers compare the
// order.

// makeRoomAt moves the app's groups at priority p and after down one, for
// moved to take p.
func makeRoomAt(a *app, moved *appGroup) {
	taken := false
	for _, g := range a.groups.list() {
		taken = taken || (g != moved && g.priority == moved.priority)
	}
	if !taken {
		return
	}
	for _, g := range a.groups.list() {
		if g != moved && g.priority >= moved.priority {
			g.priority++
		}
	}
}

// lastPriority is the highest priority an app's groups hold, -1 for none.
func lastPriority(a *app) int {
	last := -1
	for _, g := range a.groups.list() {
		last = max(last, g.priority)
	}
	return last
}

// closeGapAt moves the app's groups after priority p up one.
func closeGapAt(a *app, p int) {
	for _, g := range a.groups.list() {
		if g.priority > p {
			g.priority--
		}
	}
}

// appUserView is a user with access to an app, directly (scope USER) or
// through one of its groups (scope GROUP).
type appUserView struct {
	user   *user
	direct *appUser
	via    *appGroup
}

// appUsers lists everyone with access to an app in directory order, which
// is what Okta's /apps/{id}/users answers.
func (s *Server) appUsers(a *app) []appUserView {
	var out []appUserView
	groups := sortedAppGroups(a)
	for _, u := range s.org.users.list() {
		v := appUserView{user: u}
		v.direct, _ = a.users.get(u.id)
		if v.direct == nil {
			for _, g := range groups {
				if grp, ok := s.org.groups.get(g.groupID); ok && s.org.isMember(grp, u.id) {
					v.via = g
					break
				}
			}
		}
		if v.direct != nil || v.via != nil {
			out = append(out, v)
		}
	}
	return out
}

// grantingGroup is the name of an app group the user is a member of, or "".
// Callers hold s.mu.
func (s *Server) grantingGroup(a *app, userID string) string {
	for _, g := range sortedAppGroups(a) {
		if grp, ok := s.org.groups.get(g.groupID); ok && s.org.isMember(grp, userID) {
			return grp.name
		}
	}
	return ""
}

// userNameFor evaluates the app's username template for a user. The
// emulator knows the templates Okta ships: ${source.login}, ${source.email}
// and ${user.<attribute>}.
func userNameFor(a *app, u *user) string {
	tmpl := a.userNameTemplate.Template
	attr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(tmpl, "${"), "source."), "user."), "}")
	if v, ok := u.profile[attr].(string); ok && strings.HasPrefix(tmpl, "${") {
		return v
	}
	return u.login()
}

func (s *Server) renderAppUser(a *app, v appUserView) map[string]any {
	userName := userNameFor(a, v.user)
	var scope string
	var created, updated time.Time
	var profile map[string]any
	if v.direct != nil {
		scope, created, updated, profile = "USER", v.direct.created, v.direct.updated, v.direct.profile
		if v.direct.userName != "" {
			userName = v.direct.userName
		}
	} else {
		scope, created, updated, profile = "GROUP", v.via.lastUpdated, v.via.lastUpdated, v.via.profile
	}
	return map[string]any{
		"id": v.user.id, "externalId": nil,
		"created": timestamp(created), "lastUpdated": timestamp(updated),
		"scope": scope, "status": "ACTIVE", "statusChanged": timestamp(created),
		"passwordChanged": nil, "syncState": "DISABLED",
		"credentials": map[string]any{"userName": userName},
		"profile":     appUserProfile(a, v.user, profile),
		"_links": map[string]any{
			"app":  link(s.baseURL + "/api/v1/apps/" + a.id),
			"user": link(s.baseURL + "/api/v1/users/" + v.user.id),
		},
	}
}

func (s *Server) listAppUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	expandUser := r.URL.Query().Get("expand") == "user"
	writeList(s, w, r, s.appUsers(a), 50, 500, func(v appUserView) string { return v.user.id },
		func(v appUserView) map[string]any {
			out := s.renderAppUser(a, v)
			if expandUser {
				out["_embedded"] = map[string]any{"user": s.renderUser(v.user)}
			}
			return out
		})
}

// appUserOf finds one user's access to an app, answering 404 if none.
func (s *Server) appUserOf(w http.ResponseWriter, a *app, userID string) (appUserView, bool) {
	for _, v := range s.appUsers(a) {
		if v.user.id == userID {
			return v, true
		}
	}
	s.writeError(w, http.StatusNotFound, errNotFound(userID, "AppUser"))
	return appUserView{}, false
}

func (s *Server) getAppUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	if v, ok := s.appUserOf(w, a, r.PathValue("userID")); ok {
		writeJSON(w, http.StatusOK, s.renderAppUser(a, v))
	}
}

type appUserRequest struct {
	ID          string `json:"id"`
	Credentials *struct {
		UserName string `json:"userName"`
	} `json:"credentials"`
	Profile map[string]any `json:"profile"`
}

// decodeAppUser reads an app-user assignment request, refusing a profile
// the app's user schema cannot hold.
func (s *Server) decodeAppUser(w http.ResponseWriter, r *http.Request) (appUserRequest, bool) {
	var req appUserRequest
	return req, s.decodeBody(w, r, &req) && s.validProfile(w, req.Profile)
}

func (s *Server) assignAppUser(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeAppUser(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	u, ok := s.org.users.get(req.ID)
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(req.ID, "User"))
		return
	}
	m := s.trackMembership([]*app{a}, []*user{u})
	s.putAppUser(a, u, req)
	s.logMembershipChanges(m)
	v, _ := s.appUserOf(w, a, u.id)
	writeJSON(w, http.StatusOK, s.renderAppUser(a, v))
}

// putAppUser creates or updates a direct assignment. Callers hold s.mu.
func (s *Server) putAppUser(a *app, u *user, req appUserRequest) {
	now := s.now()
	assignment, exists := a.users.get(u.id)
	if !exists {
		assignment = &appUser{userID: u.id, created: now, profile: map[string]any{}}
	}
	if req.Credentials != nil && req.Credentials.UserName != "" {
		assignment.userName = req.Credentials.UserName
	}
	if req.Profile != nil {
		assignment.profile = req.Profile
	}
	assignment.updated = now
	a.users.put(u.id, assignment)
}

func (s *Server) updateAppUser(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeAppUser(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	if _, ok := s.appUserOf(w, a, r.PathValue("userID")); !ok {
		return
	}
	u, _ := s.org.users.get(r.PathValue("userID"))
	s.putAppUser(a, u, req)
	v, _ := s.appUserOf(w, a, u.id)
	writeJSON(w, http.StatusOK, s.renderAppUser(a, v))
}

func (s *Server) unassignAppUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	userID := r.PathValue("userID")
	if _, ok := a.users.get(userID); !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(userID, "AppUser"))
		return
	}
	if g := s.grantingGroup(a, userID); g != "" {
		// Okta keeps a direct assignment while a group also grants the app.
		s.writeError(w, http.StatusForbidden, apiError{Code: "E0000046", Summary: "Deactivate application for user forbidden.",
			Causes: []string{"The user is assigned to the application through group " + g + "; remove the group assignment first."}})
		return
	}
	var m membership
	if u, ok := s.org.users.get(userID); ok {
		m = s.trackMembership([]*app{a}, []*user{u})
	}
	a.users.remove(userID)
	s.logMembershipChanges(m)
	w.WriteHeader(http.StatusNoContent)
}

// oidcProfile are the attributes of an OIDC app's user profile, with the
// Okta profile attribute each is mapped from by default.
var oidcProfile = map[string]string{"given_name": "firstName", "family_name": "lastName", "email": "email",
	"middle_name": "middleName", "nickname": "nickName", "locale": "locale", "zoneinfo": "timezone",
	"website": "profileUrl", "phone_number": "mobilePhone", "street_address": "streetAddress", "locality": "city",
	"region": "state", "postal_code": "zipCode", "country": "countryCode",
	"name": "", "profile": "", "picture": "", "gender": "", "birthdate": "", "formatted": ""}

// appUserProfile is an app user's profile: what was set on the assignment,
// over, for OIDC apps, the claims Okta maps from the user's profile.
func appUserProfile(a *app, u *user, set map[string]any) map[string]any {
	if a.family != familyOAuth {
		return set
	}
	profile := map[string]any{"locale": "en_US", "zoneinfo": "America/Los_Angeles"}
	for claim, attr := range oidcProfile {
		if v, ok := u.profile[attr]; ok && attr != "" && v != nil {
			profile[claim] = v
		} else if _, isDefault := profile[claim]; !isDefault {
			profile[claim] = nil
		}
	}
	first, _ := u.profile["firstName"].(string)
	last, _ := u.profile["lastName"].(string)
	profile["name"] = strings.TrimSpace(first + " " + last)
	for k, v := range set {
		profile[k] = v
	}
	return profile
}
