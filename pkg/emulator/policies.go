package emulator

import (
	"net/http"
	"strings"
	"time"
)

// App sign-on (authentication) policies: every app has an access policy,
// the system one unless another is assigned. The org starts with the
// policies a new Identity Engine org has; Classic Engine orgs have them too
// since 2025.06 (before, none). Policies of other types, and policy rules,
// are not emulated.

const accessPolicyType = "ACCESS_POLICY"

type policy struct {
	id, name, description, status string
	priority                      int
	system                        bool
	created, lastUpdated          time.Time
}

// presetAccessPolicies are a new org's, in Okta's order; the system one
// (the default for new apps) has a description.
var presetAccessPolicies = []struct {
	name, description string
	system            bool
}{
	{"Okta Admin Console", "", false},
	{"Okta Dashboard", "", false},
	{"Okta Browser Plugin", "", false},
	{"Any two factors", "Require two factors to access.", true},
	{"Okta Account Management Policy", "Controls how users sign in to manage their account.", false},
	{"Microsoft Office 365", "", false},
	{"Okta End User Settings", "", false},
}

// addPresetPolicies gives an Identity Engine org its access policies.
// Callers hold s.mu or own s.
func (s *Server) addPresetPolicies() {
	if !s.hasAccessPolicies() {
		return
	}
	now := s.now()
	for _, p := range presetAccessPolicies {
		pol := &policy{id: s.newID("rst"), name: p.name, description: p.description, status: "ACTIVE",
			priority: 1, system: p.system, created: now, lastUpdated: now}
		s.org.policies.put(pol.id, pol)
		if pol.system {
			s.org.defaultAccessPolicy = pol.id
		}
	}
}

func (s *Server) hasAccessPolicies() bool {
	return !s.cfg.Classic || s.answersSince(releaseClassicPolicies)
}

func (s *Server) renderPolicy(p *policy) map[string]any {
	self := s.baseURL + "/api/v1/policies/" + p.id
	selfAllow := []string{"GET", "PUT", "DELETE"}
	links := map[string]any{
		"rules": map[string]any{"href": self + "/rules", "hints": map[string]any{"allow": []string{"GET", "POST"}}},
	}
	if p.system {
		selfAllow = selfAllow[:2]
	} else {
		links["mappings"] = map[string]any{"href": self + "/mappings", "hints": map[string]any{"allow": []string{"GET", "POST"}}}
		action := "deactivate"
		if p.status != "ACTIVE" {
			action = "activate"
		}
		links[action] = map[string]any{"href": self + "/lifecycle/" + action, "hints": map[string]any{"allow": []string{"POST"}}}
	}
	links["self"] = map[string]any{"href": self, "hints": map[string]any{"allow": selfAllow}}
	out := map[string]any{
		"id": p.id, "status": p.status, "name": p.name, "priority": p.priority, "system": p.system,
		"conditions": nil, "created": timestamp(p.created), "lastUpdated": timestamp(p.lastUpdated),
		"_links": links, "type": accessPolicyType,
	}
	if p.description != "" {
		out["description"] = p.description
	}
	return out
}

// lookupPolicy finds the request's {policyID}, answering 404 if none.
// Callers hold s.mu.
func (s *Server) lookupPolicy(w http.ResponseWriter, r *http.Request) (*policy, bool) {
	id := r.PathValue("policyID")
	p, ok := s.org.policies.get(id)
	if !ok {
		s.writeError(w, http.StatusNotFound, errNotFound(id, "Policy"))
	}
	return p, ok
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("type")
	if kind == "" {
		s.writeError(w, http.StatusBadRequest, errValidation("type", "type: the policy type is required, such as ACCESS_POLICY"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*policy
	if kind == accessPolicyType {
		q := strings.ToLower(r.URL.Query().Get("q"))
		for _, p := range s.org.policies.list() {
			if q == "" || strings.Contains(strings.ToLower(p.name), q) {
				matched = append(matched, p)
			}
		}
	}
	writeList(s, w, r, matched, 20, 200, func(p *policy) string { return p.id }, func(p *policy) map[string]any {
		out := s.renderPolicy(p)
		out["_embedded"] = map[string]any{"resourceType": "APP"} // only lists say what the policy is for
		return out
	})
}

type policyRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Priority    int    `json:"priority"`
	Type        string `json:"type"`
}

// validatePolicy refuses what Okta refuses of an access policy: no name, a
// name another policy has, another type. Callers hold s.mu.
func (s *Server) validatePolicy(req policyRequest, self string) *apiError {
	var causes []string
	if strings.TrimSpace(req.Name) == "" {
		causes = append(causes, "name: The field cannot be left blank")
	}
	if req.Type != accessPolicyType {
		causes = append(causes, "type: this org emulates ACCESS_POLICY policies only")
	}
	for _, p := range s.org.policies.list() {
		if p.id != self && strings.EqualFold(p.name, req.Name) {
			causes = append(causes, "name: A policy with the name "+req.Name+" already exists")
		}
	}
	if len(causes) == 0 {
		return nil
	}
	e := errValidation("policy", causes...)
	return &e
}

func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) {
	var req policyRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, e := s.addPolicy(req, r.URL.Query().Get("activate") != "false")
	if e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	writeJSON(w, http.StatusOK, s.renderPolicy(p))
}

// addPolicy creates an access policy. Callers hold s.mu.
func (s *Server) addPolicy(req policyRequest, active bool) (*policy, *apiError) {
	if !s.hasAccessPolicies() {
		e := errValidation("type", "type: Classic Engine orgs have no access policies")
		return nil, &e
	}
	if e := s.validatePolicy(req, ""); e != nil {
		return nil, e
	}
	now := s.now()
	p := &policy{id: s.newID("rst"), name: req.Name, description: req.Description, status: "ACTIVE",
		priority: max(req.Priority, 1), created: now, lastUpdated: now}
	if !active {
		p.status = "INACTIVE"
	}
	s.org.policies.put(p.id, p)
	return p, nil
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.lookupPolicy(w, r); ok {
		writeJSON(w, http.StatusOK, s.renderPolicy(p))
	}
}

func (s *Server) replacePolicy(w http.ResponseWriter, r *http.Request) {
	var req policyRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lookupPolicy(w, r)
	if !ok {
		return
	}
	if e := s.validatePolicy(req, p.id); e != nil {
		s.writeError(w, http.StatusBadRequest, *e)
		return
	}
	p.name, p.description, p.lastUpdated = req.Name, req.Description, s.now()
	writeJSON(w, http.StatusOK, s.renderPolicy(p))
}

// deletePolicy refuses the system policy and a policy apps still use, so
// no app is left without one.
func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.lookupPolicy(w, r)
	if !ok {
		return
	}
	if p.system {
		s.writeError(w, http.StatusBadRequest, errValidation("policy", "policy: the system policy cannot be deleted"))
		return
	}
	for _, a := range s.org.apps.list() {
		if a.accessPolicy == p.id {
			s.writeError(w, http.StatusBadRequest, errValidation("policy", "policy: it is the access policy of the app "+a.label+"; assign the app another policy first"))
			return
		}
	}
	s.org.policies.remove(p.id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setPolicyStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if p, ok := s.lookupPolicy(w, r); ok {
			p.status, p.lastUpdated = status, s.now()
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

// assignAppPolicy is PUT /api/v1/apps/{appID}/policies/{policyID}: the
// app's sign-on policy from now on.
func (s *Server) assignAppPolicy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.lookupApp(w, r)
	if !ok {
		return
	}
	p, ok := s.lookupPolicy(w, r)
	if !ok {
		return
	}
	a.accessPolicy, a.lastUpdated = p.id, s.now()
	w.WriteHeader(http.StatusNoContent)
}
