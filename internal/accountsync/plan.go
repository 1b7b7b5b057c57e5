// Package accountsync decides and applies one AccountSync run: it pairs the
// users assigned to an app in Okta with the service provider's accounts and
// plans what to create, update, deactivate and reactivate (Provision), or
// only reports the pairing (Match). The plan is pure: it takes the two
// listings, complete, and returns what to do, so a table test covers it
// without a cluster, an Okta org or a SCIM server.
package accountsync

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// Mode is Match or Provision (spec.mode).
type Mode string

// Modes.
const (
	Match     Mode = "Match"
	Provision Mode = "Provision"
)

// OktaUser is a user assigned to the app (directly or through a group).
type OktaUser struct {
	ID string
	// Status is the Okta user's: ACTIVE, SUSPENDED, DEPROVISIONED ...
	Status string
	// Profile is the Okta user profile; AppProfile the app-user profile.
	Profile, AppProfile map[string]any
}

// Input is what one run read, complete: a listing that failed or was cut
// short never reaches the plan (the caller stops the run instead), so an
// account missing its Okta user really lost it.
type Input struct {
	Mode     Mode
	Users    []OktaUser
	Accounts []scim.Resource
	// MatchOkta is the Okta profile attribute (default email) compared with
	// the account's MatchTarget attribute (default userName).
	MatchOkta, MatchTarget string
	Mappings               []Mapping
	// MaxDeactivationPercent of the target's active accounts one run may
	// deactivate; over it the run changes nothing.
	MaxDeactivationPercent int
}

// Plan is what one run would do.
type Plan struct {
	Matched []Pair
	// Unmatched are Okta users with no account (Match mode reports them;
	// Provision creates accounts for them).
	Unmatched []OktaUser
	// Unowned are active accounts no Okta user pairs with and the sync did
	// not create: left alone.
	Unowned []scim.Resource

	Create     []Create
	Update     []Update
	Deactivate []Change
	Reactivate []Change
	Failed     []Failure

	// TargetAccounts is how many accounts the target holds; ActiveAccounts
	// how many of them are active.
	TargetAccounts, ActiveAccounts int
	// SafeguardTripped: the run would deactivate more than the safeguard
	// allows, so nothing of it may be applied.
	SafeguardTripped bool
}

// Pair is an Okta user and the account it matched.
type Pair struct {
	User    OktaUser
	Account scim.Resource
}

// Create is an account to create for an Okta user.
type Create struct {
	UserID   string
	Resource scim.Resource
}

// Update is a change to one account.
type Update struct {
	AccountID, UserID string
	Ops               []scim.Op
}

// Change is an account to deactivate or reactivate.
type Change struct {
	AccountID, UserID, UserName string
}

// Failure is a user the run could not handle (a mapping that failed on
// its profile, two accounts for one user): counted, never fatal.
type Failure struct {
	UserID, Reason string
}

// oktaUserID is the shape of an Okta user ID, which the sync writes as the
// externalId of the accounts it creates or links: those are the accounts
// it may deactivate.
var oktaUserID = regexp.MustCompile(`^00u[0-9A-Za-z]{17}$`)

// Decide plans one run.
func Decide(in Input) Plan {
	matchOkta, matchTarget := orDefault(in.MatchOkta, "email"), orDefault(in.MatchTarget, "userName")
	plan := Plan{TargetAccounts: len(in.Accounts)}
	byExternal, byMatch := indexAccounts(in.Accounts, matchTarget)
	paired := map[string]bool{} // account IDs
	for _, u := range sortedUsers(in.Users) {
		account, found, ambiguous := pairOf(u, matchOkta, byExternal, byMatch)
		switch {
		case ambiguous:
			plan.Failed = append(plan.Failed, Failure{UserID: u.ID, Reason: "two accounts match " + matchTarget + " " + fmt.Sprint(u.Profile[matchOkta])})
			continue
		case !found:
			plan.Unmatched = append(plan.Unmatched, u)
			if in.Mode == Provision && oktaActive(u) {
				plan.planCreate(u, matchOkta, matchTarget, in.Mappings)
			}
			continue
		}
		paired[account.ID()] = true
		plan.Matched = append(plan.Matched, Pair{User: u, Account: account})
		if in.Mode == Provision {
			plan.planExisting(u, account, in.Mappings)
		}
	}
	for _, a := range in.Accounts {
		if a.Active() {
			plan.ActiveAccounts++
		}
		if paired[a.ID()] || !a.Active() {
			continue
		}
		if in.Mode == Provision && oktaUserID.MatchString(a.ExternalID()) {
			plan.Deactivate = append(plan.Deactivate, Change{AccountID: a.ID(), UserID: a.ExternalID(), UserName: a.UserName()})
			continue
		}
		plan.Unowned = append(plan.Unowned, a)
	}
	plan.SafeguardTripped = len(plan.Deactivate)*100 > in.MaxDeactivationPercent*plan.ActiveAccounts && len(plan.Deactivate) > 0
	return plan
}

// planExisting: an account paired with its Okta user is linked (externalId),
// kept in step with the mappings, and deactivated or reactivated with the
// Okta user's status.
func (p *Plan) planExisting(u OktaUser, account scim.Resource, mappings []Mapping) {
	var ops []scim.Op
	if account.ExternalID() != u.ID {
		ops = append(ops, scim.Op{Op: "replace", Path: "externalId", Value: u.ID})
	}
	switch {
	case account.Active() && !oktaActive(u):
		p.Deactivate = append(p.Deactivate, Change{AccountID: account.ID(), UserID: u.ID, UserName: account.UserName()})
	case !account.Active() && oktaActive(u):
		p.Reactivate = append(p.Reactivate, Change{AccountID: account.ID(), UserID: u.ID, UserName: account.UserName()})
	}
	for _, m := range mappings {
		if m.CreateOnly {
			continue
		}
		value, err := m.eval(u.Profile, u.AppProfile)
		if err != nil {
			p.Failed = append(p.Failed, Failure{UserID: u.ID, Reason: err.Error()})
			return
		}
		if !sameValue(valueAt(account, m.Target), value) {
			ops = append(ops, scim.Op{Op: "replace", Path: m.Target, Value: value})
		}
	}
	if len(ops) > 0 {
		p.Update = append(p.Update, Update{AccountID: account.ID(), UserID: u.ID, Ops: ops})
	}
}

func (p *Plan) planCreate(u OktaUser, matchOkta, matchTarget string, mappings []Mapping) {
	r := scim.Resource{"externalId": u.ID, "active": true}
	setAt(r, matchTarget, u.Profile[matchOkta])
	for _, m := range mappings {
		value, err := m.eval(u.Profile, u.AppProfile)
		if err != nil {
			p.Failed = append(p.Failed, Failure{UserID: u.ID, Reason: err.Error()})
			return
		}
		setAt(r, m.Target, value)
	}
	if r.UserName() == "" {
		p.Failed = append(p.Failed, Failure{UserID: u.ID, Reason: "no userName: the Okta user has no " + matchOkta})
		return
	}
	p.Create = append(p.Create, Create{UserID: u.ID, Resource: r})
}

// indexAccounts indexes accounts by externalId and by the match attribute,
// compared case-insensitively (SCIM's userName is; so are emails).
func indexAccounts(accounts []scim.Resource, matchTarget string) (map[string]scim.Resource, map[string][]scim.Resource) {
	byExternal := map[string]scim.Resource{}
	byMatch := map[string][]scim.Resource{}
	for _, a := range accounts {
		if ext := a.ExternalID(); ext != "" {
			byExternal[ext] = a
		}
		if v, ok := valueAt(a, matchTarget).(string); ok && v != "" {
			key := strings.ToLower(v)
			byMatch[key] = append(byMatch[key], a)
		}
	}
	return byExternal, byMatch
}

// pairOf finds a user's account: by externalId first (an account the sync
// created or linked), then by the match attribute.
func pairOf(u OktaUser, matchOkta string, byExternal map[string]scim.Resource, byMatch map[string][]scim.Resource) (scim.Resource, bool, bool) {
	if a, ok := byExternal[u.ID]; ok {
		return a, true, false
	}
	v, _ := u.Profile[matchOkta].(string)
	candidates := byMatch[strings.ToLower(v)]
	switch {
	case v == "" || len(candidates) == 0:
		return nil, false, false
	case len(candidates) > 1:
		return nil, false, true
	}
	if ext := candidates[0].ExternalID(); ext != "" && ext != u.ID && oktaUserID.MatchString(ext) {
		return nil, false, false // another Okta user's account
	}
	return candidates[0], true, false
}

// oktaActive: an Okta user who may use the app. Suspended and deactivated
// users lose their account (deactivated, never deleted).
func oktaActive(u OktaUser) bool {
	switch u.Status {
	case "SUSPENDED", "DEPROVISIONED", "LOCKED_OUT":
		return false
	}
	return true
}

// valueAt reads a top-level or dotted attribute (name.givenName).
func valueAt(r scim.Resource, path string) any {
	parent, child, nested := strings.Cut(path, ".")
	if !nested {
		return r[path]
	}
	m, _ := r[parent].(map[string]any)
	return m[child]
}

func setAt(r scim.Resource, path string, v any) {
	parent, child, nested := strings.Cut(path, ".")
	if !nested {
		r[path] = v
		return
	}
	m, _ := r[parent].(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m[child] = v
	r[parent] = m
}

// sameValue compares as JSON, so 3 and 3.0 or a list read back from the
// service provider compare equal to what a mapping gives.
func sameValue(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func sortedUsers(users []OktaUser) []OktaUser {
	out := append([]OktaUser(nil), users...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
