package emulator

import (
	"net/http"
	"sort"
	"time"
)

// Users move through Okta's statuses by lifecycle operations, each allowed
// from some statuses only, with the error Okta answers otherwise:
//
//	STAGED ──activate──▶ ACTIVE (with a password) or PROVISIONED
//	PROVISIONED ──reactivate──▶ PROVISIONED (a new activation)
//	ACTIVE ──suspend──▶ SUSPENDED ──unsuspend──▶ ACTIVE
//	ACTIVE ──10 wrong passwords on the sign-in page──▶ LOCKED_OUT ──unlock──▶ ACTIVE
//	any but DEPROVISIONED ──deactivate──▶ DEPROVISIONED ──activate──▶ …
//	DEPROVISIONED ──delete──▶ gone (a delete of any other user deactivates it)

// userTransition is one lifecycle operation.
type userTransition struct {
	from    map[string]bool
	to      func(u *user) string
	status  int      // of the refusal
	refusal apiError // when the user's status is not in from
}

var (
	errNotAllowedInStatus = apiError{Code: "E0000038", Summary: "This operation is not allowed in the user's current status."}

	userTransitions = map[string]userTransition{
		"activate": {from: statuses("STAGED", "DEPROVISIONED"), to: activatedStatus, status: http.StatusForbidden,
			refusal: apiError{Code: "E0000016", Summary: "Activation failed because the user is already active"}},
		"reactivate": {from: statuses("PROVISIONED"), to: func(*user) string { return "PROVISIONED" },
			status: http.StatusForbidden, refusal: errNotAllowedInStatus},
		"suspend": {from: statuses("ACTIVE"), to: func(*user) string { return "SUSPENDED" },
			status: http.StatusBadRequest, refusal: errValidation("suspend", "Cannot suspend a user that is not active")},
		"unsuspend": {from: statuses("SUSPENDED"), to: func(*user) string { return "ACTIVE" },
			status: http.StatusBadRequest, refusal: errValidation("unsuspend", "Cannot unsuspend a user that is not suspended")},
		"unlock": {from: statuses("LOCKED_OUT"), to: func(*user) string { return "ACTIVE" }, status: http.StatusForbidden,
			refusal: apiError{Code: "E0000032", Summary: "Unlock is not allowed for this user."}},
		"deactivate": {from: statuses("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED", "SUSPENDED", "DEPROVISIONED"),
			to: func(*user) string { return "DEPROVISIONED" }},
	}
)

func statuses(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// activatedStatus is ACTIVE for a user who can sign in (with a password,
// or through an identity provider), PROVISIONED for one who must set a
// password first.
func activatedStatus(u *user) string {
	if u.hasPassword || u.federated {
		return "ACTIVE"
	}
	return "PROVISIONED"
}

// userLifecycle serves POST /api/v1/users/{userID}/lifecycle/{operation}.
func (s *Server) userLifecycle(operation string) http.HandlerFunc {
	t := userTransitions[operation]
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u, ok := s.lookupUser(w, r)
		if !ok {
			return
		}
		if !t.from[u.status] {
			s.writeError(w, t.status, t.refusal)
			return
		}
		s.moveUser(u, t.to(u))
		s.logAPI("user.lifecycle."+operation, userEntity(u))
		writeJSON(w, http.StatusOK, map[string]any{})
	}
}

// moveUser sets a user's status as of now. Callers hold s.mu.
func (s *Server) moveUser(u *user, status string) {
	now := s.now()
	if status != u.status {
		u.status, u.changed = status, now
	}
	if (status == "ACTIVE" || status == "PROVISIONED") && u.activated.IsZero() {
		u.activated = now
	}
	u.lastUpdated = now
}

// owner is a user or group who owns a group.
type owner struct {
	id, kind, displayName string
	added                 time.Time
}

func (s *Server) renderOwner(o owner, lastUpdated string) map[string]any {
	return map[string]any{"id": o.id, "type": o.kind, "resolved": true, "originId": nil,
		"originType": "OKTA_DIRECTORY", "displayName": o.displayName, "lastUpdated": lastUpdated}
}

func (s *Server) listGroupOwners(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	owners := make([]owner, 0, len(g.owners))
	for _, o := range g.owners {
		owners = append(owners, o)
	}
	sort.Slice(owners, func(i, j int) bool { return owners[i].id < owners[j].id })
	body := make([]any, 0, len(owners))
	for _, o := range owners {
		body = append(body, s.renderOwner(o, o.added.Format("2006-01-02 15:04:05.0"))) // as Okta lists them
	}
	writeJSON(w, http.StatusOK, body)
}

// addGroupOwner is POST /api/v1/groups/{groupID}/owners: a user, or a group,
// by ID and type; the ID must be of that type.
func (s *Server) addGroupOwner(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	o := owner{id: req.ID, kind: req.Type, added: s.now()}
	switch req.Type {
	case "USER":
		u, found := s.org.users.get(req.ID)
		if !found {
			s.writeError(w, http.StatusNotFound, errNotFound(req.ID, "User"))
			return
		}
		first, _ := u.profile["firstName"].(string)
		last, _ := u.profile["lastName"].(string)
		o.displayName = first + " " + last
	case "GROUP":
		owning, found := s.org.groups.get(req.ID)
		if !found {
			s.writeError(w, http.StatusNotFound, errNotFound(req.ID, "UserGroup"))
			return
		}
		o.displayName = owning.name
	default:
		s.writeError(w, http.StatusBadRequest, errValidation("type", "type: must be USER or GROUP"))
		return
	}
	if _, dup := g.owners[req.ID]; dup {
		s.writeError(w, http.StatusBadRequest, errValidation("owner", "Provided owner is already assigned to this group"))
		return
	}
	if g.owners == nil {
		g.owners = map[string]owner{}
	}
	g.owners[req.ID] = o
	writeJSON(w, http.StatusCreated, s.renderOwner(o, o.added.Format("Mon Jan 02 15:04:05 MST 2006")))
}

func (s *Server) removeGroupOwner(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.lookupGroup(w, r)
	if !ok {
		return
	}
	id := r.PathValue("ownerID")
	if _, owns := g.owners[id]; !owns {
		s.writeError(w, http.StatusNotFound, errNotFound(id, "LinkedObject"))
		return
	}
	delete(g.owners, id)
	w.WriteHeader(http.StatusNoContent)
}
