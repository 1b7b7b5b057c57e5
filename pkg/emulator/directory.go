package emulator

import (
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// user is a person in the org's directory.
type user struct {
	id, status                  string
	created, activated, changed time.Time
	lastUpdated                 time.Time
	profile                     map[string]any
	// password is kept for the emulator's own sign-in page; Okta never
	// returns it and neither does the emulator. hasPassword is also true for
	// imported password hashes, which cannot sign in here.
	password    string
	hasPassword bool
	// failedSignIns counts wrong passwords in a row on the sign-in page;
	// at lockoutAttempts the user is LOCKED_OUT, as Okta's default
	// password policy does.
	failedSignIns   int
	passwordChanged time.Time
	// imported users came with a password hash (provider IMPORT).
	imported bool
	// federated users sign in through an identity provider only
	// (provider FEDERATION): active without a password.
	federated bool
	// recoveryQuestion is the question of the user's recovery question, if
	// set; its answer is never kept.
	recoveryQuestion string
}

// group is an Okta group.
type group struct {
	id, groupType, name, description string
	created, lastUpdated, membership time.Time
	owners                           map[string]owner // by user or group ID
}

// baseProfile is always present in a user's profile, null when unset.
var baseProfile = []string{"firstName", "lastName", "mobilePhone", "secondEmail", "login", "email"}

// standardProfile is Okta's default user schema; any other attribute needs a
// custom schema, which the emulator does not model.
var standardProfile = map[string]bool{
	"login": true, "email": true, "secondEmail": true, "firstName": true, "lastName": true, "middleName": true,
	"honorificPrefix": true, "honorificSuffix": true, "title": true, "displayName": true, "nickName": true,
	"profileUrl": true, "primaryPhone": true, "mobilePhone": true, "streetAddress": true, "city": true,
	"state": true, "zipCode": true, "postalAddress": true, "countryCode": true, "preferredLanguage": true,
	"locale": true, "timezone": true, "userType": true, "employeeNumber": true, "costCenter": true,
	"organization": true, "division": true, "department": true, "managerId": true, "manager": true,
}

func (u *user) login() string { s, _ := u.profile["login"].(string); return s }

func (u *user) email() string { s, _ := u.profile["email"].(string); return s }

// validateProfile checks a new or replaced profile the way Okta's default
// schema does, returning the causes when refused.
func validateProfile(p map[string]any) []string {
	var causes []string
	for _, k := range sortedKeys(p) {
		if !standardProfile[k] {
			causes = append(causes, "Property name '"+k+"' is not defined in profile")
		}
	}
	login, _ := p["login"].(string)
	email, _ := p["email"].(string)
	if login == "" {
		causes = append(causes, "login: The field cannot be left blank")
	}
	if _, err := mail.ParseAddress(email); err != nil {
		causes = append(causes, "email: Does not match required pattern")
	}
	return causes
}

// userByIDOrLogin finds a user by ID or, as Okta allows, by login.
func (o *org) userByIDOrLogin(key string) (*user, bool) {
	if u, ok := o.users.get(key); ok {
		return u, true
	}
	if id, ok := o.logins[strings.ToLower(key)]; ok {
		return o.users.get(id)
	}
	return nil, false
}

// putUser stores a user and indexes its login; every change of a user's
// profile goes through it.
func (o *org) putUser(u *user, profile map[string]any) {
	if old, ok := o.users.get(u.id); ok {
		delete(o.logins, strings.ToLower(old.login()))
	}
	u.profile = profile
	o.users.put(u.id, u)
	o.logins[strings.ToLower(u.login())] = u.id
}

func (o *org) removeUser(u *user) {
	delete(o.logins, strings.ToLower(u.login()))
	o.users.remove(u.id)
}

// optionalTimestamp renders a time that may not have happened as null.
func optionalTimestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return timestamp(t)
}

// userActions are the lifecycle links Okta offers in each status.
var userActions = map[string][]string{
	"STAGED":        {"activate", "resetFactors"},
	"PROVISIONED":   {"suspend", "resetPassword", "reactivate", "resetFactors", "deactivate"},
	"ACTIVE":        {"suspend", "resetPassword", "expirePassword", "resetFactors", "deactivate"},
	"SUSPENDED":     {"unsuspend", "resetFactors", "deactivate"},
	"LOCKED_OUT":    {"unlock", "resetPassword", "resetFactors", "deactivate"},
	"DEPROVISIONED": {"activate", "delete"},
}

// credentialActions are the links of an ACTIVE user who signs in with an
// Okta password, and of one with a recovery question.
var credentialActions = map[string]string{"changePassword": "change_password", "forgotPassword": "forgot_password",
	"changeRecoveryQuestion": "change_recovery_question"}

var actionPaths = map[string]string{"resetPassword": "reset_password", "resetFactors": "reset_factors", "expirePassword": "expire_password"}

func (s *Server) renderUser(u *user) map[string]any {
	out := s.renderUserFields(u)
	self := s.baseURL + "/api/v1/users/" + u.id
	links := map[string]any{
		"schema": link(s.baseURL + "/api/v1/meta/schemas/user/osc" + s.org.id[3:]),
		"type":   link(s.baseURL + "/api/v1/meta/types/user/oty" + s.org.id[3:]),
		"self":   link(self),
	}
	for _, action := range userActions[u.status] {
		if action == "resetFactors" && !s.answersSince(releaseUserRealms) {
			continue
		}
		path := actionPaths[action]
		if path == "" {
			path = action
		}
		links[action] = map[string]any{"href": self + "/lifecycle/" + path, "method": "POST"}
	}
	if _, ok := links["delete"]; ok {
		links["delete"] = map[string]any{"href": self, "method": "DELETE"}
	}
	if u.status == "ACTIVE" && u.hasPassword && !u.imported {
		for action, path := range credentialActions {
			if action != "changeRecoveryQuestion" || u.recoveryQuestion != "" {
				links[action] = map[string]any{"href": self + "/credentials/" + path, "method": "POST"}
			}
		}
	}
	out["_links"] = links
	return out
}

// renderMember renders a user in a group's member list, where Okta links
// only the user itself.
func (s *Server) renderMember(u *user) map[string]any {
	out := s.renderUserFields(u)
	out["_links"] = map[string]any{"self": link(s.baseURL + "/api/v1/users/" + u.id)}
	return out
}

func (s *Server) renderUserFields(u *user) map[string]any {
	profile := map[string]any{}
	for _, k := range baseProfile {
		profile[k] = nil
	}
	for k, v := range u.profile {
		if v != nil {
			profile[k] = v
		}
	}
	provider := "OKTA"
	if u.imported {
		provider = "IMPORT"
	} else if u.federated {
		provider = "FEDERATION"
	}
	credentials := map[string]any{"provider": map[string]string{"type": provider, "name": provider}}
	if u.hasPassword {
		credentials["password"] = map[string]any{}
	}
	if u.recoveryQuestion != "" {
		credentials["recovery_question"] = map[string]any{"question": u.recoveryQuestion}
	}
	out := map[string]any{
		"id": u.id, "status": u.status,
		"created": timestamp(u.created), "activated": optionalTimestamp(u.activated), "statusChanged": optionalTimestamp(u.changed),
		"lastLogin": nil, "lastUpdated": timestamp(u.lastUpdated), "passwordChanged": optionalTimestamp(u.passwordChanged),
		"type":        map[string]string{"id": "oty" + s.org.id[3:]},
		"profile":     profile,
		"credentials": credentials,
	}
	if s.answersSince(releaseUserRealms) {
		out["realmId"] = "guo" + s.org.id[3:]
	}
	return out
}

type userRequest struct {
	Profile     map[string]any   `json:"profile"`
	Credentials *userCredentials `json:"credentials"`
}

type userCredentials struct {
	Provider *struct {
		Type string `json:"type"`
	} `json:"provider"`
	Password *struct {
		Value string         `json:"value"`
		Hash  map[string]any `json:"hash"`
	} `json:"password"`
	RecoveryQuestion *struct {
		Question string `json:"question"`
		Answer   string `json:"answer"`
	} `json:"recovery_question"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var req userRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.addUser(req, r.URL.Query().Get("activate") != "false")
	if e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	writeJSON(w, http.StatusOK, s.renderUser(u))
}

// addUser creates a user; activate makes it ACTIVE when it has a password
// and PROVISIONED (waiting for the user to set one) otherwise, as Okta does.
// Callers hold s.mu.
func (s *Server) addUser(req userRequest, activate bool) (*user, *apiError) {
	if causes := validateProfile(req.Profile); len(causes) > 0 {
		e := errValidation("newUser", causes...)
		return nil, &e
	}
	login, _ := req.Profile["login"].(string)
	if _, exists := s.org.userByIDOrLogin(login); exists {
		e := errValidation("login", "login: An object with this field already exists in the current organization")
		return nil, &e
	}
	now := s.now()
	u := &user{id: s.newID("00u"), status: "STAGED", created: now, lastUpdated: now, profile: req.Profile}
	if p := req.Credentials; p != nil && p.Password != nil && (p.Password.Value != "" || p.Password.Hash != nil) {
		u.password, u.hasPassword, u.passwordChanged, u.imported = p.Password.Value, true, now, p.Password.Hash != nil
	}
	if p := req.Credentials; p != nil && p.RecoveryQuestion != nil {
		u.recoveryQuestion = p.RecoveryQuestion.Question
	}
	if p := req.Credentials; p != nil && p.Provider != nil && p.Provider.Type == "FEDERATION" {
		if u.hasPassword {
			e := errValidation("credentials", "A user of provider FEDERATION has no password")
			return nil, &e
		}
		u.federated = true
	}
	if u.hasPassword {
		u.changed = now // Okta stamps statusChanged when a password is set, even on a staged user
	}
	if activate {
		u.activated, u.changed = now, now
		u.status = activatedStatus(u)
	}
	s.org.putUser(u, u.profile)
	s.logAPI("user.lifecycle.create", userEntity(u))
	if activate {
		s.logAPI("user.lifecycle.activate", userEntity(u))
	}
	return u, nil
}

func (s *Server) lookupUser(w http.ResponseWriter, r *http.Request) (*user, bool) {
	key := r.PathValue("userID")
	u, ok := s.org.userByIDOrLogin(key)
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(key, "User"))
	}
	return u, ok
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.lookupUser(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderUser(u))
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	query := r.URL.Query()
	conditions, err := listConditions(query)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, errValidation("search", err.Error()))
		return
	}
	q := strings.ToLower(query.Get("q"))
	var matched []*user
	for _, u := range s.org.users.list() {
		values := map[string]string{"id": u.id, "status": u.status, "created": timestamp(u.created), "lastUpdated": timestamp(u.lastUpdated)}
		for k, v := range u.profile {
			if v != nil {
				values["profile."+k] = fmt.Sprint(v)
			}
		}
		if !conditions(values) {
			continue
		}
		if q != "" && !slices.ContainsFunc([]string{"login", "email", "firstName", "lastName"}, func(k string) bool {
			return strings.HasPrefix(strings.ToLower(values["profile."+k]), q)
		}) {
			continue
		}
		matched = append(matched, u)
	}
	writeList(s, w, r, matched, 200, 200, func(u *user) string { return u.id },
		s.renderUser)
}

// listConditions parses the search and filter parameters of a list
// request; an object must match both.
func listConditions(q url.Values) (expr, error) {
	exprs := slices.DeleteFunc([]string{q.Get("search"), q.Get("filter")}, func(e string) bool { return e == "" })
	for i := range exprs {
		exprs[i] = "(" + exprs[i] + ")"
	}
	return parseExpr(strings.Join(exprs, " and "))
}

func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request) { s.changeUser(w, r, true) }

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) { s.changeUser(w, r, false) }

// changeUser replaces (PUT) or merges (POST) a user's profile.
func (s *Server) changeUser(w http.ResponseWriter, r *http.Request, replace bool) {
	var req userRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.lookupUser(w, r)
	if !ok {
		return
	}
	profile := map[string]any{}
	if !replace {
		for k, v := range u.profile {
			profile[k] = v
		}
	}
	for k, v := range req.Profile {
		profile[k] = v
	}
	if causes := validateProfile(profile); len(causes) > 0 {
		s.writeError(w, http.StatusBadRequest, errValidation("user", causes...))
		return
	}
	if other, exists := s.org.userByIDOrLogin(profile["login"].(string)); exists && other.id != u.id {
		s.writeError(w, http.StatusBadRequest, errValidation("login", "login: An object with this field already exists in the current organization"))
		return
	}
	s.org.putUser(u, profile)
	u.lastUpdated = s.now()
	s.logAPI("user.account.update_profile", userEntity(u))
	writeJSON(w, http.StatusOK, s.renderUser(u))
}

// deleteUser deactivates an active user; a deactivated one is deleted, with
// its memberships and app assignments, as Okta does.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.lookupUser(w, r)
	if !ok {
		return
	}
	if u.status != "DEPROVISIONED" {
		s.moveUser(u, "DEPROVISIONED")
		s.logAPI("user.lifecycle.deactivate", userEntity(u))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	m := s.trackMembership(s.org.apps.list(), []*user{u})
	s.logAPI("user.lifecycle.delete.initiated", userEntity(u))
	s.org.removeUser(u)
	for _, members := range s.org.members {
		delete(members, u.id)
	}
	for _, g := range s.org.groups.list() {
		delete(g.owners, u.id)
	}
	for _, a := range s.org.apps.list() {
		a.users.remove(u.id)
	}
	s.logMembershipChanges(m)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listUserGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.lookupUser(w, r)
	if !ok {
		return
	}
	var groups []any
	for _, g := range s.org.groups.list() {
		if s.org.isMember(g, u.id) {
			groups = append(groups, s.renderGroup(g))
		}
	}
	page := parsePage(r, 200, 200)
	s.writePage(w, r, page, "", append([]any{}, groups...))
}

// isMember tells whether a user is in a group; everyone is in Everyone.
func (o *org) isMember(g *group, userID string) bool {
	return g.groupType == "BUILT_IN" && g.name == "Everyone" || o.members[g.id][userID]
}

func (s *Server) renderGroup(g *group) map[string]any {
	self := s.baseURL + "/api/v1/groups/" + g.id
	links := map[string]any{
		"logo": []any{
			map[string]any{"name": "medium", "href": s.baseURL + "/assets/img/logos/groups/okta-medium.png", "type": "image/png"},
			map[string]any{"name": "large", "href": s.baseURL + "/assets/img/logos/groups/okta-large.png", "type": "image/png"},
		},
		"users": link(self + "/users"),
		"apps":  link(self + "/apps"),
	}
	if g.groupType == "OKTA_GROUP" && s.answersSince(releaseGroupOwners) {
		links["owners"] = link(self + "/owners")
	}
	return map[string]any{
		"id": g.id, "created": timestamp(g.created), "lastUpdated": timestamp(g.lastUpdated),
		"lastMembershipUpdated": timestamp(g.membership),
		"objectClass":           []string{"okta:user_group"},
		"type":                  g.groupType,
		"profile":               map[string]any{"name": g.name, "description": g.description},
		"_links":                links,
	}
}

type groupRequest struct {
	Profile struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"profile"`
}

// groupByName finds an Okta group by its exact name.
func (o *org) groupByName(name string) (*group, bool) {
	for _, g := range o.groups.list() {
		if g.name == name {
			return g, true
		}
	}
	return nil, false
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
	var req groupRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.addGroup(req.Profile.Name, req.Profile.Description, "OKTA_GROUP")
	if e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	writeJSON(w, http.StatusOK, s.renderGroup(g))
}

// addGroup creates a group with a unique name. Callers hold s.mu.
func (s *Server) addGroup(name, description, groupType string) (*group, *apiError) {
	if strings.TrimSpace(name) == "" {
		e := errValidation("profile", "name: The field cannot be left blank")
		return nil, &e
	}
	if _, exists := s.org.groupByName(name); exists {
		e := errValidation("name", "name: An object with this field already exists in the current organization")
		return nil, &e
	}
	now := s.now()
	g := &group{id: s.newID("00g"), groupType: groupType, name: name, description: description, created: now, lastUpdated: now, membership: now}
	s.org.groups.put(g.id, g)
	return g, nil
}

func (s *Server) lookupGroup(w http.ResponseWriter, r *http.Request) (*group, bool) {
	id := r.PathValue("groupID")
	g, ok := s.org.groups.get(id)
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(id, "UserGroup"))
	}
	return g, ok
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.lookupGroup(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderGroup(g))
	}
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	query := r.URL.Query()
	conditions, err := listConditions(query)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, errValidation("search", err.Error()))
		return
	}
	q := strings.ToLower(query.Get("q"))
	var matched []*group
	for _, g := range s.org.groups.list() {
		values := map[string]string{"id": g.id, "type": g.groupType, "profile.name": g.name, "profile.description": g.description,
			"created": timestamp(g.created), "lastUpdated": timestamp(g.lastUpdated)}
		if conditions(values) && (q == "" || strings.HasPrefix(strings.ToLower(g.name), q)) {
			matched = append(matched, g)
		}
	}
	page := parsePage(r, 200, 10000)
	items, next := paginate(matched, page, func(g *group) string { return g.id })
	body := make([]any, 0, len(items))
	for _, g := range items {
		body = append(body, s.renderGroup(g))
	}
	if q != "" {
		// Okta answers name searches with q= without Link headers.
		writeJSON(w, http.StatusOK, body)
		return
	}
	s.writePage(w, r, page, next, body)
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) {
	var req groupRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	if other, exists := s.org.groupByName(req.Profile.Name); exists && other.id != g.id {
		s.writeError(w, http.StatusBadRequest, errValidation("name", "name: An object with this field already exists in the current organization"))
		return
	}
	if strings.TrimSpace(req.Profile.Name) == "" {
		s.writeError(w, http.StatusBadRequest, errValidation("profile", "name: The field cannot be left blank"))
		return
	}
	g.name, g.description, g.lastUpdated = req.Profile.Name, req.Profile.Description, s.now()
	writeJSON(w, http.StatusOK, s.renderGroup(g))
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	m := s.trackMembership(s.appsOfGroup(g), s.membersOf(g))
	s.org.groups.remove(g.id)
	delete(s.org.members, g.id)
	for _, a := range s.org.apps.list() {
		a.groups.remove(g.id)
	}
	s.logMembershipChanges(m)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listGroupUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	var members []*user
	for _, u := range s.org.users.list() {
		if s.org.isMember(g, u.id) {
			members = append(members, u)
		}
	}
	writeList(s, w, r, members, 1000, 1000, func(u *user) string { return u.id },
		s.renderMember)
}

func (s *Server) setMembership(w http.ResponseWriter, r *http.Request, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	u, ok := s.lookupUser(w, r)
	if !ok {
		return
	}
	s.setMember(g, u, member)
	w.WriteHeader(http.StatusNoContent)
}

// setMember adds a user to a group or removes it, with the System Log's
// events for the group and for the apps the group grants. Callers hold s.mu.
func (s *Server) setMember(g *group, u *user, member bool) {
	if s.org.members[g.id][u.id] == member {
		return
	}
	m := s.trackMembership(s.appsOfGroup(g), []*user{u})
	if s.org.members[g.id] == nil {
		s.org.members[g.id] = map[string]bool{}
	}
	event := "group.user_membership.add"
	if member {
		s.org.members[g.id][u.id] = true
	} else {
		delete(s.org.members[g.id], u.id)
		event = "group.user_membership.remove"
	}
	g.membership = s.now()
	s.logAPI(event, userEntity(u), groupEntity(g))
	s.logMembershipChanges(m)
}

func (s *Server) addGroupUser(w http.ResponseWriter, r *http.Request) { s.setMembership(w, r, true) }

func (s *Server) removeGroupUser(w http.ResponseWriter, r *http.Request) {
	s.setMembership(w, r, false)
}

func (s *Server) getOrganization(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pipeline := "idx"
	if s.cfg.Classic {
		pipeline = "v1"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.org.id, "cell": "emulator",
		"_links":   map[string]any{"organization": link(s.baseURL)},
		"pipeline": pipeline,
		"settings": s.organizationSettings(),
	})
}

// organizationSettings are the org's feature flags in its well-known
// document; Identity Engine orgs named op4wEnabled until 2025.
func (s *Server) organizationSettings() map[string]any {
	settings := map[string]any{
		"analyticsCollectionEnabled": false, "bugReportingEnabled": false, "omEnabled": false,
		"pssoEnabled": false, "desktopMFAEnabled": false, "itpEnabled": false,
	}
	if !s.cfg.Classic && !s.answersSince(releaseUniversalLogout) {
		settings["op4wEnabled"] = false
	}
	return settings
}
