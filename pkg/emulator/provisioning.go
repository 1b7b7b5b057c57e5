package emulator

// Provisioning to another org: the Org2Org app's Provisioning tab. An
// Org2Org app whose API connection to the hub (the app's settings baseUrl,
// with the hub's API token) is ENABLED, and whose USER_PROVISIONING
// feature is on, pushes the users assigned to it to the hub through the
// hub's own API, as Okta's provisioning engine does: a user the hub has
// under the same login is matched (and reactivated when deactivated), one
// it has not is created (when create is on); profile changes are pushed
// (update); a user unassigned or deactivated in the spoke is deactivated
// in the hub (deactivate), never deleted. Group push mappings keep a hub
// group's members in step with a spoke group's provisioned members.
//
// The engine runs after each change the org's API makes (synchronously,
// once the change is committed, so a test sees the hub changed when the
// spoke's answer comes) and on demand (Provision). Each push writes the
// System Log events Okta writes: application.provision.user.push,
// application.provision.user.deactivate,
// application.provision.group_push.push.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

func init() {
	logEventTypes["application.provision.user.push"] = [2]string{"Push new user to external application", "app.user_management.push_new_user_success"}
	logEventTypes["application.provision.user.push_profile"] = [2]string{"Push user profile update to external application", "app.user_management.push_profile_success"}
	logEventTypes["application.provision.user.deactivate"] = [2]string{"Deactivate user in external application", "app.user_management.deactivate_user_success"}
	logEventTypes["application.provision.group_push.push"] = [2]string{"Push group memberships to external application", "app.user_management.push_group_memberships_success"}
}

// provisioning is an app's connection to the org it provisions, its
// USER_PROVISIONING capabilities, its group push mappings, and what it
// pushed.
type provisioning struct {
	token   string
	enabled bool // the connection's status: ENABLED
	feature capabilities
	// featureOn is the USER_PROVISIONING feature's status.
	featureOn bool
	mappings  ordered[*pushMapping]
	// pushed is the hub user of each spoke user pushed, with the profile
	// last pushed; deactivated ones stay, so reassigning reactivates them.
	pushed map[string]*pushedUser
	// mapping is the app's profile mapping, made on first use.
	mapping *profileMapping
}

type pushedUser struct {
	hubID       string
	profile     map[string]any
	deactivated bool
}

// capabilities are USER_PROVISIONING's settings (Okta's CapabilitiesObject).
type capabilities struct {
	Create struct {
		LifecycleCreate enabledStatus `json:"lifecycleCreate"`
	} `json:"create"`
	Update struct {
		LifecycleDeactivate enabledStatus `json:"lifecycleDeactivate"`
		Profile             enabledStatus `json:"profile"`
		Password            struct {
			Status string `json:"status"`
			Seed   string `json:"seed"`
			Change string `json:"change"`
		} `json:"password"`
	} `json:"update"`
}

type enabledStatus struct {
	Status string `json:"status"`
}

func (e enabledStatus) on() bool { return e.Status == "ENABLED" }

type pushMapping struct {
	id, sourceGroupID, targetGroupID, targetGroupName, status, errorSummary string
	created, lastUpdated, lastPush                                          time.Time
	// members are the hub users pushed into the target group.
	members map[string]bool
}

// provisions tells whether an app's catalog entry can provision another
// org through the API: Okta's public API sets it up for Org2Org.
func provisions(a *app) bool { return a.name == "okta_org2org" }

func (s *Server) provisionableApp(w http.ResponseWriter, r *http.Request) (*app, bool) {
	a, ok := s.lookupApp(w, r)
	if !ok {
		return nil, false
	}
	if !provisions(a) {
		s.writeError(w, http.StatusBadRequest, errValidation("provisioning", "Provisioning is not supported by the app "+a.name))
		return nil, false
	}
	return a, true
}

func (s *Server) renderConnection(a *app) map[string]any {
	base := s.baseURL + "/api/v1/apps/" + a.id + "/connections/default"
	out := map[string]any{"authScheme": "UNKNOWN", "status": "UNKNOWN", "profile": map[string]any{"authScheme": "UNKNOWN"},
		"_links": map[string]any{"self": link(base)}}
	if !provisions(a) {
		return out
	}
	out["authScheme"], out["status"], out["profile"] = "TOKEN", "DISABLED", map[string]any{"authScheme": "TOKEN"}
	if a.prov != nil && a.prov.enabled {
		out["status"] = "ENABLED"
		out["_links"].(map[string]any)["deactivate"] = link(base + "/lifecycle/deactivate")
	} else {
		out["_links"].(map[string]any)["activate"] = link(base + "/lifecycle/activate")
	}
	return out
}

// getConnection serves GET /api/v1/apps/{appID}/connections/default.
func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.lookupApp(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderConnection(a))
	}
}

// setConnection serves POST /api/v1/apps/{appID}/connections/default: a
// token connection, tested against the hub when activate=true.
func (s *Server) setConnection(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Profile struct {
			AuthScheme string `json:"authScheme"`
			Token      string `json:"token"`
		} `json:"profile"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	if body.Profile.AuthScheme != "TOKEN" || body.Profile.Token == "" {
		s.writeError(w, http.StatusBadRequest, errValidation("profile", "profile.authScheme TOKEN and profile.token are required"))
		return
	}
	s.mu.Lock()
	a, ok := s.provisionableApp(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	hub := hubURL(a)
	s.mu.Unlock()
	activate := r.URL.Query().Get("activate") == "true"
	if activate {
		if err := testConnection(r.Context(), hub, body.Profile.Token); err != nil {
			s.writeError(w, http.StatusBadRequest, errValidation("connection", err.Error()))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok = s.provisionableApp(w, r); !ok {
		return
	}
	p := a.provisioningState()
	p.token = body.Profile.Token
	p.enabled = p.enabled || activate
	writeJSON(w, http.StatusOK, s.renderConnection(a))
}

// connectionLifecycle serves POST …/connections/default/lifecycle/activate
// (after testing the connection) and …/deactivate.
func (s *Server) connectionLifecycle(activate bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		a, ok := s.provisionableApp(w, r)
		if !ok {
			s.mu.Unlock()
			return
		}
		p := a.provisioningState()
		hub, token := hubURL(a), p.token
		s.mu.Unlock()
		if activate {
			if token == "" {
				s.writeError(w, http.StatusBadRequest, errValidation("connection", "The app has no provisioning connection to activate"))
				return
			}
			if err := testConnection(r.Context(), hub, token); err != nil {
				s.writeError(w, http.StatusBadRequest, errValidation("connection", err.Error()))
				return
			}
		}
		s.mu.Lock()
		p.enabled = activate
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (a *app) provisioningState() *provisioning {
	if a.prov == nil {
		a.prov = &provisioning{mappings: newOrdered[*pushMapping](), pushed: map[string]*pushedUser{}}
		a.prov.feature.Update.Password.Status, a.prov.feature.Update.Password.Seed, a.prov.feature.Update.Password.Change = "DISABLED", "RANDOM", "KEEP_EXISTING"
		for _, e := range []*enabledStatus{&a.prov.feature.Create.LifecycleCreate, &a.prov.feature.Update.LifecycleDeactivate, &a.prov.feature.Update.Profile} {
			e.Status = "DISABLED"
		}
	}
	return a.prov
}

// hubURL is where an Org2Org app provisions: its baseUrl setting.
func hubURL(a *app) string {
	u, _ := a.settingsApp["baseUrl"].(string)
	return strings.TrimRight(u, "/")
}

// testConnection reads one group of the hub with the token, as Okta tests
// a connection before it enables it.
func testConnection(ctx context.Context, hub, token string) error {
	if hub == "" {
		return fmt.Errorf("the app has no baseUrl to connect to")
	}
	status, _, err := hubCall(ctx, hub, token, http.MethodGet, "/api/v1/groups?limit=1", nil, nil)
	if err != nil {
		return fmt.Errorf("Could not connect to %s: %v", hub, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("The connection to %s was refused: %d", hub, status)
	}
	return nil
}

// renderFeature is the USER_PROVISIONING feature.
func (s *Server) renderFeature(a *app) map[string]any {
	p := a.provisioningState()
	status := "DISABLED"
	if p.featureOn {
		status = "ENABLED"
	}
	return map[string]any{"name": "USER_PROVISIONING", "status": status, "description": "User provisioning settings from Okta to a downstream app",
		"capabilities": p.feature, "_links": map[string]any{"self": link(s.baseURL + "/api/v1/apps/" + a.id + "/features/USER_PROVISIONING")}}
}

// featureApp finds the app of a features request: Okta answers 400 while
// the app has no enabled provisioning connection.
func (s *Server) featureApp(w http.ResponseWriter, r *http.Request) (*app, bool) {
	a, ok := s.provisionableApp(w, r)
	if !ok {
		return nil, false
	}
	if a.prov == nil || !a.prov.enabled {
		s.writeError(w, http.StatusBadRequest, apiError{Code: "E0000150", Summary: "Provisioning is not enabled for the app: set up its provisioning connection first"})
		return nil, false
	}
	return a, true
}

// listFeatures serves GET /api/v1/apps/{appID}/features.
func (s *Server) listFeatures(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.featureApp(w, r); ok {
		writeJSON(w, http.StatusOK, []any{s.renderFeature(a)})
	}
}

// getFeature serves GET /api/v1/apps/{appID}/features/{featureName}.
func (s *Server) getFeature(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.userProvisioningApp(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderFeature(a))
	}
}

// userProvisioningApp finds the app of a request for its USER_PROVISIONING
// feature, the one feature the emulator knows.
func (s *Server) userProvisioningApp(w http.ResponseWriter, r *http.Request) (*app, bool) {
	a, ok := s.featureApp(w, r)
	if ok && r.PathValue("featureName") != "USER_PROVISIONING" {
		s.writeError(w, http.StatusNotFound, errNotFound(r.PathValue("featureName"), "ApplicationFeature"))
		return nil, false
	}
	return a, ok
}

// updateFeature serves PUT /api/v1/apps/{appID}/features/USER_PROVISIONING:
// the capabilities in full, as Okta takes them.
func (s *Server) updateFeature(w http.ResponseWriter, r *http.Request) {
	var body capabilities
	if !s.decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.userProvisioningApp(w, r)
	if !ok {
		return
	}
	for _, e := range []*enabledStatus{&body.Create.LifecycleCreate, &body.Update.LifecycleDeactivate, &body.Update.Profile} {
		if e.Status == "" {
			e.Status = "DISABLED"
		}
		if e.Status != "ENABLED" && e.Status != "DISABLED" {
			s.writeError(w, http.StatusBadRequest, errValidation("capabilities", "status must be ENABLED or DISABLED"))
			return
		}
	}
	pw := &body.Update.Password
	pw.Status, pw.Seed, pw.Change = cmpOr(pw.Status, "DISABLED"), cmpOr(pw.Seed, "RANDOM"), cmpOr(pw.Change, "KEEP_EXISTING")
	p := a.provisioningState()
	p.feature, p.featureOn = body, true
	writeJSON(w, http.StatusOK, s.renderFeature(a))
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (s *Server) renderMapping(a *app, m *pushMapping) map[string]any {
	out := map[string]any{"id": m.id, "sourceGroupId": m.sourceGroupID, "targetGroupId": m.targetGroupID, "status": m.status,
		"created": timestamp(m.created), "lastUpdated": timestamp(m.lastUpdated),
		"_links": map[string]any{"app": link(s.baseURL + "/api/v1/apps/" + a.id), "sourceGroup": link(s.baseURL + "/api/v1/groups/" + m.sourceGroupID)}}
	if !m.lastPush.IsZero() {
		out["lastPush"] = timestamp(m.lastPush)
	}
	if m.errorSummary != "" {
		out["errorSummary"] = m.errorSummary
	}
	if m.targetGroupID != "" {
		out["_links"].(map[string]any)["targetGroup"] = link(hubURL(a) + "/api/v1/groups/" + m.targetGroupID)
	}
	return out
}

// listPushMappings serves GET /api/v1/apps/{appID}/group-push/mappings.
func (s *Server) listPushMappings(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.featureApp(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	out := []any{}
	for _, m := range a.prov.mappings.list() {
		if (q.Get("sourceGroupId") == "" || q.Get("sourceGroupId") == m.sourceGroupID) && (q.Get("status") == "" || q.Get("status") == m.status) {
			out = append(out, s.renderMapping(a, m))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// createPushMapping serves POST …/group-push/mappings: a spoke group pushed
// to a hub group by ID, or to one of a name (made by the first push when
// the hub has none).
func (s *Server) createPushMapping(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SourceGroupID   string `json:"sourceGroupId"`
		TargetGroupID   string `json:"targetGroupId"`
		TargetGroupName string `json:"targetGroupName"`
		Status          string `json:"status"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.featureApp(w, r)
	if !ok {
		return
	}
	if _, ok := s.org.groups.get(body.SourceGroupID); !ok {
		s.writeError(w, http.StatusBadRequest, errValidation("sourceGroupId", "No group "+body.SourceGroupID))
		return
	}
	if (body.TargetGroupID == "") == (body.TargetGroupName == "") {
		s.writeError(w, http.StatusBadRequest, errValidation("targetGroupId", "Set targetGroupId or targetGroupName"))
		return
	}
	for _, m := range a.prov.mappings.list() {
		if m.sourceGroupID == body.SourceGroupID {
			s.writeError(w, http.StatusBadRequest, errValidation("sourceGroupId", "The group is already pushed by mapping "+m.id))
			return
		}
	}
	now := s.now()
	m := &pushMapping{id: s.newID("gpm"), sourceGroupID: body.SourceGroupID, targetGroupID: body.TargetGroupID, targetGroupName: body.TargetGroupName,
		status: cmpOr(body.Status, "ACTIVE"), created: now, lastUpdated: now, members: map[string]bool{}}
	if m.status != "ACTIVE" && m.status != "INACTIVE" {
		s.writeError(w, http.StatusBadRequest, errValidation("status", "status must be ACTIVE or INACTIVE"))
		return
	}
	a.prov.mappings.put(m.id, m)
	writeJSON(w, http.StatusCreated, s.renderMapping(a, m))
}

func (s *Server) lookupMapping(w http.ResponseWriter, r *http.Request) (*app, *pushMapping, bool) {
	a, ok := s.featureApp(w, r)
	if !ok {
		return nil, nil, false
	}
	m, ok := a.prov.mappings.get(r.PathValue("mappingID"))
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(r.PathValue("mappingID"), "GroupPushMapping"))
	}
	return a, m, ok
}

// getPushMapping serves GET …/group-push/mappings/{mappingID}.
func (s *Server) getPushMapping(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, m, ok := s.lookupMapping(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderMapping(a, m))
	}
}

// updatePushMapping serves PATCH …/group-push/mappings/{mappingID}: its
// status, ACTIVE (a full push follows) or INACTIVE.
func (s *Server) updatePushMapping(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Status string `json:"status"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, m, ok := s.lookupMapping(w, r)
	if !ok {
		return
	}
	if body.Status != "ACTIVE" && body.Status != "INACTIVE" {
		s.writeError(w, http.StatusBadRequest, errValidation("status", "status must be ACTIVE or INACTIVE"))
		return
	}
	m.status, m.lastUpdated, m.errorSummary = body.Status, s.now(), ""
	writeJSON(w, http.StatusOK, s.renderMapping(a, m))
}

// deletePushMapping serves DELETE …/group-push/mappings/{mappingID}: only
// an INACTIVE mapping, with the hub group too when deleteTargetGroup=true.
func (s *Server) deletePushMapping(w http.ResponseWriter, r *http.Request) {
	deleteTarget := r.URL.Query().Get("deleteTargetGroup")
	if deleteTarget != "true" && deleteTarget != "false" {
		s.writeError(w, http.StatusBadRequest, errValidation("deleteTargetGroup", "deleteTargetGroup is required: true or false"))
		return
	}
	s.mu.Lock()
	a, m, ok := s.lookupMapping(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	if m.status != "INACTIVE" {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, errValidation("status", "Deactivate the group push mapping before deleting it"))
		return
	}
	hub, token, target := hubURL(a), a.prov.token, m.targetGroupID
	s.mu.Unlock()
	if deleteTarget == "true" && target != "" {
		if status, _, err := hubCall(r.Context(), hub, token, http.MethodDelete, "/api/v1/groups/"+target, nil, nil); err != nil || (status >= 300 && status != http.StatusNotFound) {
			s.writeError(w, http.StatusBadGateway, apiError{Code: "E0000009", Summary: fmt.Sprintf("Deleting the target group failed: %v %d", err, status)})
			return
		}
	}
	s.mu.Lock()
	a.prov.mappings.remove(m.id)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Provision runs the provisioning engine for every app with an enabled
// connection (the org runs it after each change its API makes). One pass
// runs at a time; a change made during a pass makes it go once more, so
// no change is left unpushed and a hub that calls back does not wait on
// itself.
func (s *Server) Provision(ctx context.Context) {
	s.provisionAgain.Store(true)
	for s.provisioning.TryLock() {
		for s.provisionAgain.Swap(false) {
			s.provisionOnce(ctx)
		}
		s.provisioning.Unlock()
		if !s.provisionAgain.Load() {
			return
		}
	}
}

func (s *Server) provisionOnce(ctx context.Context) {
	s.mu.Lock()
	var apps []*app
	for _, a := range s.org.apps.list() {
		if a.prov != nil && a.prov.enabled && a.prov.featureOn && a.status == "ACTIVE" {
			apps = append(apps, a)
		}
	}
	s.mu.Unlock()
	for _, a := range apps {
		s.provisionApp(ctx, a)
	}
}

// provisionPlan is what one run pushes for an app, read under s.mu.
type provisionPlan struct {
	hub, token string
	caps       capabilities
	// assigned are the spoke's active users the app is assigned to, by ID,
	// with the profile pushed.
	assigned map[string]map[string]any
	pushed   map[string]pushedUser
	mappings []pushMapping
	// groupMembers are each mapped source group's member IDs.
	groupMembers map[string][]string
}

func (s *Server) planProvisioning(a *app) provisionPlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := provisionPlan{hub: hubURL(a), token: a.prov.token, caps: a.prov.feature, assigned: map[string]map[string]any{},
		pushed: map[string]pushedUser{}, groupMembers: map[string][]string{}}
	for _, u := range s.org.users.list() {
		if u.status != "DEPROVISIONED" && u.status != "SUSPENDED" && s.inApp(a, u) {
			p.assigned[u.id] = mappedProfile(u, s.mappingOf(a))
		}
	}
	for id, pu := range a.prov.pushed {
		p.pushed[id] = *pu
	}
	for _, m := range a.prov.mappings.list() {
		mc := *m
		mc.members = maps.Clone(m.members)
		p.mappings = append(p.mappings, mc)
		if g, ok := s.org.groups.get(m.sourceGroupID); ok {
			for _, u := range s.membersOf(g) {
				p.groupMembers[m.sourceGroupID] = append(p.groupMembers[m.sourceGroupID], u.id)
			}
		}
	}
	return p
}

// provisionApp pushes one app's users and groups to its hub and records
// what it did.
func (s *Server) provisionApp(ctx context.Context, a *app) {
	plan := s.planProvisioning(a)
	for _, id := range slices.Sorted(maps.Keys(plan.assigned)) {
		s.pushUser(ctx, a, plan, id)
	}
	for _, id := range slices.Sorted(maps.Keys(plan.pushed)) {
		if _, still := plan.assigned[id]; !still && !plan.pushed[id].deactivated && plan.caps.Update.LifecycleDeactivate.on() {
			s.deactivateInHub(ctx, a, plan, id)
		}
	}
	for _, m := range plan.mappings {
		if m.status == "ACTIVE" {
			s.pushGroup(ctx, a, m, plan.groupMembers[m.sourceGroupID])
		}
	}
}

// pushUser creates, matches, reactivates or updates a user in the hub.
func (s *Server) pushUser(ctx context.Context, a *app, plan provisionPlan, id string) {
	profile := plan.assigned[id]
	prev, known := plan.pushed[id]
	switch {
	case known && !prev.deactivated:
		if !plan.caps.Update.Profile.on() || maps.EqualFunc(prev.profile, profile, func(x, y any) bool { return fmt.Sprint(x) == fmt.Sprint(y) }) {
			return
		}
		if status, _, err := hubCall(ctx, plan.hub, plan.token, http.MethodPost, "/api/v1/users/"+prev.hubID, map[string]any{"profile": profile}, nil); err != nil || status >= 300 {
			return // tried again after the next change
		}
		s.recordPush(a, id, pushedUser{hubID: prev.hubID, profile: profile}, "application.provision.user.push_profile")
		return
	}
	login, _ := profile["login"].(string)
	var found struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	status, _, err := hubCall(ctx, plan.hub, plan.token, http.MethodGet, "/api/v1/users/"+url.PathEscape(login), nil, &found)
	if err != nil {
		return
	}
	switch {
	case status == http.StatusOK: // matched by login, never a second user
		if found.Status == "DEPROVISIONED" {
			if st, _, err := hubCall(ctx, plan.hub, plan.token, http.MethodPost, "/api/v1/users/"+found.ID+"/lifecycle/activate?sendEmail=false", nil, nil); err != nil || st >= 300 {
				return
			}
		}
		if plan.caps.Update.Profile.on() {
			_, _, _ = hubCall(ctx, plan.hub, plan.token, http.MethodPost, "/api/v1/users/"+found.ID, map[string]any{"profile": profile}, nil)
		}
	case status == http.StatusNotFound && plan.caps.Create.LifecycleCreate.on():
		body := map[string]any{"profile": profile}
		if plan.caps.Update.Password.Status != "ENABLED" { // no password: they sign in to the hub through the spoke
			body["credentials"] = map[string]any{"provider": map[string]any{"type": "FEDERATION", "name": "FEDERATION"}}
		}
		if st, _, err := hubCall(ctx, plan.hub, plan.token, http.MethodPost, "/api/v1/users?activate=true", body, &found); err != nil || st >= 300 {
			return
		}
	default:
		return
	}
	s.recordPush(a, id, pushedUser{hubID: found.ID, profile: profile}, "application.provision.user.push")
}

// deactivateInHub deactivates a pushed user the app no longer has.
func (s *Server) deactivateInHub(ctx context.Context, a *app, plan provisionPlan, id string) {
	pu := plan.pushed[id]
	if status, _, err := hubCall(ctx, plan.hub, plan.token, http.MethodPost, "/api/v1/users/"+pu.hubID+"/lifecycle/deactivate", nil, nil); err != nil || (status >= 300 && status != http.StatusNotFound) {
		return
	}
	pu.deactivated = true
	s.recordPush(a, id, pu, "application.provision.user.deactivate")
}

// recordPush keeps what was pushed for a spoke user and logs it.
func (s *Server) recordPush(a *app, id string, pu pushedUser, eventType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.prov == nil {
		return
	}
	a.prov.pushed[id] = &pu
	if u, ok := s.org.users.get(id); ok {
		s.logAs(systemActor, eventType, appUserEntity(u), appEntity(a), userEntity(u))
	}
}

// pushGroup makes the hub group's members the provisioned members of the
// spoke group, creating or finding the hub group by name on the first push.
func (s *Server) pushGroup(ctx context.Context, a *app, m pushMapping, sourceMembers []string) {
	s.mu.Lock()
	want := map[string]bool{}
	for _, id := range sourceMembers {
		if pu, ok := a.prov.pushed[id]; ok && !pu.deactivated {
			want[pu.hubID] = true
		}
	}
	hub, token := hubURL(a), a.prov.token
	s.mu.Unlock()
	target, err := s.targetGroup(ctx, hub, token, m)
	if err != nil {
		s.mappingFailed(a, m.id, err)
		return
	}
	changed := false
	for id := range want {
		if !m.members[id] {
			if st, _, err := hubCall(ctx, hub, token, http.MethodPut, "/api/v1/groups/"+target+"/users/"+id, nil, nil); err != nil || st >= 300 {
				s.mappingFailed(a, m.id, fmt.Errorf("adding a member: %v %d", err, st))
				return
			}
			changed = true
		}
	}
	for id := range m.members {
		if !want[id] {
			if st, _, err := hubCall(ctx, hub, token, http.MethodDelete, "/api/v1/groups/"+target+"/users/"+id, nil, nil); err != nil || (st >= 300 && st != http.StatusNotFound) {
				s.mappingFailed(a, m.id, fmt.Errorf("removing a member: %v %d", err, st))
				return
			}
			changed = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := a.prov.mappings.get(m.id); ok {
		cur.targetGroupID, cur.members, cur.errorSummary = target, want, ""
		if changed || cur.lastPush.IsZero() {
			cur.lastPush = s.now()
			if g, ok := s.org.groups.get(m.sourceGroupID); ok {
				s.logAs(systemActor, "application.provision.group_push.push", groupEntity(g), appEntity(a))
			}
		}
	}
}

// targetGroup is the mapping's hub group: its ID, or the hub group of its
// name (linked when there is one, made when not).
func (s *Server) targetGroup(ctx context.Context, hub, token string, m pushMapping) (string, error) {
	if m.targetGroupID != "" {
		return m.targetGroupID, nil
	}
	var groups []struct {
		ID      string `json:"id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	if _, _, err := hubCall(ctx, hub, token, http.MethodGet, "/api/v1/groups?q="+url.QueryEscape(m.targetGroupName), nil, &groups); err != nil {
		return "", err
	}
	for _, g := range groups {
		if g.Profile.Name == m.targetGroupName {
			return g.ID, nil
		}
	}
	var made struct {
		ID string `json:"id"`
	}
	st, _, err := hubCall(ctx, hub, token, http.MethodPost, "/api/v1/groups", map[string]any{"profile": map[string]any{"name": m.targetGroupName}}, &made)
	if err != nil || st >= 300 {
		return "", fmt.Errorf("creating group %s in the hub: %v %d", m.targetGroupName, err, st)
	}
	return made.ID, nil
}

func (s *Server) mappingFailed(a *app, id string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := a.prov.mappings.get(id); ok {
		m.status, m.errorSummary = "ERROR", err.Error()
	}
}

// hubClient is shared by every org's provisioning engine.
var hubClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// hubCall makes one request to the hub's API with its token and decodes a
// successful answer into out.
func hubCall(ctx context.Context, hub, token, method, path string, body, out any) (int, []byte, error) {
	var payload *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		payload = bytes.NewReader(data)
	} else {
		payload = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, hub+path, payload)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "SSWS "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hubClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if out != nil && resp.StatusCode < 300 && buf.Len() > 0 {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			return resp.StatusCode, buf.Bytes(), err
		}
	}
	return resp.StatusCode, buf.Bytes(), nil
}

// profileMapping is an Org2Org app's Okta user → app user mapping (Okta's
// Profile Mappings API): what each pushed attribute is computed from.
type profileMapping struct {
	id         string
	properties map[string]mappingProperty
}

type mappingProperty struct {
	Expression string `json:"expression"`
	PushStatus string `json:"pushStatus"`
}

// defaultMapping is the Org2Org app's mapping as Okta makes it: the
// guide's FirstName, LastName and Email (the login comes from the app's
// username template).
func (s *Server) defaultMapping() *profileMapping {
	return &profileMapping{id: s.newID("prm"), properties: map[string]mappingProperty{
		"firstName": {Expression: "user.firstName", PushStatus: "PUSH"},
		"lastName":  {Expression: "user.lastName", PushStatus: "PUSH"},
		"email":     {Expression: "user.email", PushStatus: "PUSH"},
	}}
}

// mappingOf is an Org2Org app's mapping, made on first use. Callers hold
// s.mu.
func (s *Server) mappingOf(a *app) *profileMapping {
	p := a.provisioningState()
	if p.mapping == nil {
		p.mapping = s.defaultMapping()
	}
	return p.mapping
}

func (s *Server) renderProfileMapping(a *app, m *profileMapping, withProperties bool) map[string]any {
	out := map[string]any{"id": m.id,
		"source": map[string]any{"id": "oty" + s.org.id[3:], "name": "user", "type": "user"},
		"target": map[string]any{"id": a.id, "name": a.name, "type": "appuser"},
		"_links": map[string]any{"self": link(s.baseURL + "/api/v1/mappings/" + m.id)}}
	if withProperties {
		out["properties"] = m.properties
	}
	return out
}

// listMappings serves GET /api/v1/mappings (sourceId, targetId): the
// Org2Org apps' mappings.
func (s *Server) listMappings(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	out := []any{}
	for _, a := range s.org.apps.list() {
		if !provisions(a) || (q.Get("targetId") != "" && q.Get("targetId") != a.id) {
			continue
		}
		if q.Get("sourceId") != "" && q.Get("sourceId") != "oty"+s.org.id[3:] {
			continue
		}
		out = append(out, s.renderProfileMapping(a, s.mappingOf(a), false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) lookupProfileMapping(w http.ResponseWriter, r *http.Request) (*app, *profileMapping, bool) {
	id := r.PathValue("mappingID")
	for _, a := range s.org.apps.list() {
		if provisions(a) && s.mappingOf(a).id == id {
			return a, a.prov.mapping, true
		}
	}
	s.writeError(w, http.StatusNotFound, errNotFound(id, "ProfileMapping"))
	return nil, nil, false
}

// getMapping serves GET /api/v1/mappings/{mappingID}.
func (s *Server) getMapping(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, m, ok := s.lookupProfileMapping(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderProfileMapping(a, m, true))
	}
}

// updateMapping serves POST /api/v1/mappings/{mappingID}: the properties
// given are set, a null one removed.
func (s *Server) updateMapping(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Properties map[string]*mappingProperty `json:"properties"`
	}
	if !s.decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, m, ok := s.lookupProfileMapping(w, r)
	if !ok {
		return
	}
	for name, p := range body.Properties {
		if !standardProfile[name] || name == "login" { // the app user's schema mirrors Okta's default profile; the login is the username template's
			s.writeError(w, http.StatusBadRequest, errValidation("properties", "Property "+name+" is not in the app user's schema"))
			return
		}
		if p != nil && (p.Expression == "" || (p.PushStatus != "PUSH" && p.PushStatus != "DONT_PUSH")) {
			s.writeError(w, http.StatusBadRequest, errValidation("properties", "Property "+name+" needs an expression and a pushStatus of PUSH or DONT_PUSH"))
			return
		}
	}
	for name, p := range body.Properties {
		if p == nil {
			delete(m.properties, name)
		} else {
			m.properties[name] = *p
		}
	}
	writeJSON(w, http.StatusOK, s.renderProfileMapping(a, m, true))
}

// mappedProfile is what the app pushes of a user: the login, and each
// mapped attribute. The emulator evaluates user.<attribute> expressions;
// another expression pushes nothing.
func mappedProfile(u *user, m *profileMapping) map[string]any {
	out := map[string]any{"login": u.login()}
	for name, p := range m.properties {
		attr, ok := strings.CutPrefix(p.Expression, "user.")
		if !ok {
			continue
		}
		if v, ok := u.profile[attr]; ok && v != nil {
			out[name] = v
		}
	}
	return out
}
