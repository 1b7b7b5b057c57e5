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

	"github.com/oktaop/okta-sso-operator/internal/okta"
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
	// Profile is the Okta user profile; AppProfile the app-user profile;
	// both only with the attributes the run reads (ProfileFields).
	Profile, AppProfile Attributes
}

// Input is what one run read, complete: a listing that failed or was cut
// short never reaches the plan (the caller stops the run instead), so an
// account missing its Okta user really lost it.
type Input struct {
	Mode  Mode
	Users []OktaUser
	// Accounts are the target's, with the attributes the run reads.
	Accounts []Attributes
	// MatchOkta is the Okta profile attribute (default email) compared with
	// the account's MatchTarget attribute (default userName).
	MatchOkta, MatchTarget string
	Mappings               []Mapping
	// MaxDeactivationPercent of the target's active accounts one run may
	// deactivate; over it the run changes nothing.
	MaxDeactivationPercent int
}

// UnmatchedListed is how many unmatched users a plan names (status shows
// them); the rest are counted.
const UnmatchedListed = 50

// Plan is what one run would do.
type Plan struct {
	Matched []Pair
	// Unmatched counts the Okta users with no account (Match mode reports
	// them; Provision creates accounts for them); UnmatchedUsers are the
	// first UnmatchedListed of them.
	Unmatched      int
	UnmatchedUsers []OktaUser
	// Unowned are active accounts no Okta user pairs with and the sync did
	// not create: left alone.
	Unowned []Attributes

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

// Pair is an Okta user and the account it matched, by ID.
type Pair struct {
	UserID, AccountID string
}

// Create is an account to create for an Okta user: its top-level
// attributes, made a SCIM resource only when it is sent (Resource).
type Create struct {
	UserID     string
	Attributes Attributes
}

// Resource is the account as it is sent.
func (c Create) Resource() scim.Resource { return c.Attributes.Map() }

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

// Decide plans one run from both listings whole.
func Decide(in Input) Plan {
	p := NewPlanner(in)
	for _, i := range sortedByID(in.Users) {
		p.add(in.Users[i])
	}
	return p.Finish()
}

// Planner plans a run page by page of the Okta listing, against the
// target's accounts listed first: a page's users are paired and planned as
// it arrives, and only what the plan needs of them is kept, so a run of
// 100,000 users never holds every profile. Nothing is decided about the
// accounts no user paired with (deactivations, the safeguard) before
// Finish, which a caller reaches only when the Okta listing is complete.
type Planner struct {
	in                     Input
	matchOkta, matchTarget string
	index                  accountIndex
	paired                 []bool // by position in in.Accounts
	plan                   Plan
}

// NewPlanner starts a plan over in.Accounts; in.Users is not read (Add).
func NewPlanner(in Input) *Planner {
	matchOkta, matchTarget := orDefault(in.MatchOkta, "email"), orDefault(in.MatchTarget, "userName")
	return &Planner{in: in, matchOkta: matchOkta, matchTarget: matchTarget,
		index: indexAccounts(in.Accounts, matchTarget), paired: make([]bool, len(in.Accounts)),
		plan: Plan{TargetAccounts: len(in.Accounts)}}
}

// Add plans one page of Okta users.
func (p *Planner) Add(users []OktaUser) {
	for _, u := range users {
		p.add(u)
	}
}

func (p *Planner) add(u OktaUser) {
	plan := &p.plan
	at, found, ambiguous := p.index.pairOf(u, p.matchOkta, p.in.Accounts)
	switch {
	case ambiguous:
		plan.Failed = append(plan.Failed, Failure{UserID: u.ID, Reason: "two accounts match " + p.matchTarget + " " + fmt.Sprint(u.Profile.Get(p.matchOkta))})
		return
	case !found:
		plan.Unmatched++
		if len(plan.UnmatchedUsers) < UnmatchedListed {
			plan.UnmatchedUsers = append(plan.UnmatchedUsers, u)
		}
		if p.in.Mode == Provision && oktaActive(u) {
			plan.planCreate(u, p.matchOkta, p.matchTarget, p.in.Mappings)
		}
		return
	}
	p.paired[at] = true
	account := p.in.Accounts[at]
	plan.Matched = append(plan.Matched, Pair{UserID: u.ID, AccountID: account.ID()})
	if p.in.Mode == Provision {
		plan.planExisting(u, account, p.in.Mappings)
	}
}

// Finish plans the accounts no Okta user paired with and checks the
// safeguard.
func (p *Planner) Finish() Plan {
	plan := p.plan
	for i, a := range p.in.Accounts {
		if a.Active() {
			plan.ActiveAccounts++
		}
		if p.paired[i] || !a.Active() {
			continue
		}
		if p.in.Mode == Provision && oktaUserID.MatchString(a.ExternalID()) {
			plan.Deactivate = append(plan.Deactivate, Change{AccountID: a.ID(), UserID: a.ExternalID(), UserName: a.UserName()})
			continue
		}
		plan.Unowned = append(plan.Unowned, a)
	}
	plan.SafeguardTripped = len(plan.Deactivate)*100 > p.in.MaxDeactivationPercent*plan.ActiveAccounts && len(plan.Deactivate) > 0
	return plan
}

// planExisting: an account paired with its Okta user is linked (externalId),
// kept in step with the mappings, and deactivated or reactivated with the
// Okta user's status.
func (p *Plan) planExisting(u OktaUser, account Attributes, mappings []Mapping) {
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
	user, appUser := u.activation(mappings)
	for _, m := range mappings {
		if m.CreateOnly {
			continue
		}
		value, err := m.eval(user, appUser)
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
	setAt(r, matchTarget, u.Profile.Get(matchOkta))
	user, appUser := u.activation(mappings)
	for _, m := range mappings {
		value, err := m.eval(user, appUser)
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
	p.Create = append(p.Create, Create{UserID: u.ID, Attributes: Keep(r, nil)})
}

// accountIndex finds accounts by position in the listing, by externalId
// and by the match attribute, compared case-insensitively (SCIM's userName
// is; so are emails). Positions rather than copies: at 100,000 accounts the
// index is a tenth of the listing.
type accountIndex struct {
	byExternal map[string]int32
	// byMatch is -1 where two or more accounts share the value.
	byMatch map[string]int32
}

func indexAccounts(accounts []Attributes, matchTarget string) accountIndex {
	index := accountIndex{byExternal: make(map[string]int32, len(accounts)), byMatch: make(map[string]int32, len(accounts))}
	for i, a := range accounts {
		if ext := a.ExternalID(); ext != "" {
			index.byExternal[ext] = int32(i)
		}
		if v, ok := valueAt(a, matchTarget).(string); ok && v != "" {
			key := strings.ToLower(v)
			if _, taken := index.byMatch[key]; taken {
				index.byMatch[key] = -1
			} else {
				index.byMatch[key] = int32(i)
			}
		}
	}
	return index
}

// pairOf finds a user's account: by externalId first (an account the sync
// created or linked), then by the match attribute. It returns the
// account's position, whether there is one, and whether several match.
func (index accountIndex) pairOf(u OktaUser, matchOkta string, accounts []Attributes) (int, bool, bool) {
	if at, ok := index.byExternal[u.ID]; ok {
		return int(at), true, false
	}
	v, _ := u.Profile.Get(matchOkta).(string)
	at, ok := index.byMatch[strings.ToLower(v)]
	switch {
	case v == "" || !ok:
		return 0, false, false
	case at < 0:
		return 0, false, true
	}
	if ext := accounts[at].ExternalID(); ext != "" && ext != u.ID && oktaUserID.MatchString(ext) {
		return 0, false, false // another Okta user's account
	}
	return int(at), true, false
}

// activation is the user's profiles as the mappings read them (CEL maps),
// made for the user's turn only.
func (u OktaUser) activation(mappings []Mapping) (user, appUser map[string]any) {
	if len(mappings) == 0 {
		return nil, nil
	}
	return u.Profile.Map(), u.AppProfile.Map()
}

// oktaActive: an Okta user who may use the app. Suspended and deactivated
// users lose their account (deactivated, never deleted); a locked-out one
// keeps it (okta.UserLeft).
func oktaActive(u OktaUser) bool { return !okta.UserLeft(u.Status) }

// valueAt reads a top-level or dotted attribute (name.givenName).
func valueAt(a Attributes, path string) any {
	parent, child, nested := strings.Cut(path, ".")
	if !nested {
		return a.Get(path)
	}
	m, _ := a.Get(parent).(map[string]any)
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

// sortedByID is the users' positions in the order of their IDs, so a plan
// does not depend on the order Okta listed them in.
func sortedByID(users []OktaUser) []int32 {
	order := make([]int32, len(users))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(i, j int) bool { return users[order[i]].ID < users[order[j]].ID })
	return order
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
