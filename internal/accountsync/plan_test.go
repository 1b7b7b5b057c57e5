package accountsync

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oktaop/okta-sso-operator/internal/scim"
)

const (
	annID = "00uAnnAnnAnnAnnAnnAn"
	bobID = "00uBobBobBobBobBobBo"
	cidID = "00uCidCidCidCidCidCi"
)

func oktaUser(id, email, status string) OktaUser {
	first := strings.Split(email, "@")[0]
	return OktaUser{ID: id, Status: status, Profile: Keep(map[string]any{"email": email, "firstName": strings.ToUpper(first[:1]) + first[1:], "lastName": "Doe"}, nil)}
}

func account(id, userName, externalID string, active bool) Attributes {
	r := scim.Resource{"id": id, "userName": userName, "active": active}
	if externalID != "" {
		r["externalId"] = externalID
	}
	return Keep(r, nil)
}

func mappings(t *testing.T, specs ...MappingSpec) []Mapping {
	t.Helper()
	m, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecide(t *testing.T) {
	ann, bob, cid := oktaUser(annID, "ann@example.com", "ACTIVE"), oktaUser(bobID, "Bob@Example.com", "ACTIVE"), oktaUser(cidID, "cid@example.com", "ACTIVE")
	displayName := MappingSpec{Target: "displayName", Expression: `user.firstName + " " + user.lastName`}
	tests := map[string]struct {
		in                          Input
		matched, unmatched, unowned int
		create                      []Create
		update                      []Update
		deactivate, reactivate      []Change
		failed                      int
		tripped                     bool
		mappingSpecs                []MappingSpec
	}{
		"match mode pairs case-insensitively and writes nothing": {
			in: Input{Mode: Match, Users: []OktaUser{ann, bob, cid},
				Accounts: []Attributes{account("a1", "ANN@example.com", "", true), account("a2", "bob@example.com", "", true), account("a9", "zed@example.com", "", true)}},
			matched: 2, unmatched: 1, unowned: 1,
		},
		"provision creates a missing account with the externalId and the mappings": {
			in:           Input{Mode: Provision, Users: []OktaUser{ann}, MaxDeactivationPercent: 20},
			mappingSpecs: []MappingSpec{displayName},
			unmatched:    1,
			create: []Create{{UserID: annID, Attributes: Keep(scim.Resource{"userName": "ann@example.com", "externalId": annID, "active": true,
				"displayName": "Ann Doe"}, nil)}},
		},
		"provision links a matched account and updates a changed attribute, not an unchanged one": {
			in: Input{Mode: Provision, Users: []OktaUser{ann, bob}, Accounts: []Attributes{
				withAttr(account("a1", "ann@example.com", "", true), "displayName", "Ann Doe"),
				withAttr(account("a2", "bob@example.com", bobID, true), "displayName", "Robert"),
			}},
			mappingSpecs: []MappingSpec{displayName},
			matched:      2,
			update: []Update{
				{AccountID: "a1", UserID: annID, Ops: []scim.Op{{Op: "replace", Path: "externalId", Value: annID}}},
				{AccountID: "a2", UserID: bobID, Ops: []scim.Op{{Op: "replace", Path: "displayName", Value: "Bob Doe"}}},
			},
		},
		"a CreateOnly mapping is not updated": {
			in:           Input{Mode: Provision, Users: []OktaUser{ann}, Accounts: []Attributes{withAttr(account("a1", "ann@example.com", annID, true), "title", "old")}},
			mappingSpecs: []MappingSpec{{Target: "title", Expression: `"new"`, CreateOnly: true}},
			matched:      1,
		},
		"an unassigned user's account is deactivated; a suspended one's too; an unowned one is left": {
			in: Input{Mode: Provision, Users: []OktaUser{ann, oktaUser(bobID, "bob@example.com", "SUSPENDED")}, MaxDeactivationPercent: 100, Accounts: []Attributes{
				account("a1", "ann@example.com", annID, true), account("a2", "bob@example.com", bobID, true),
				account("a3", "cid@example.com", cidID, true), account("a4", "hand@example.com", "", true),
			}},
			matched: 2, unowned: 1,
			deactivate: []Change{{AccountID: "a2", UserID: bobID, UserName: "bob@example.com"}, {AccountID: "a3", UserID: cidID, UserName: "cid@example.com"}},
		},
		"a locked-out user keeps an active account, a deactivated one loses it": {
			in: Input{Mode: Provision, MaxDeactivationPercent: 100,
				Users:    []OktaUser{oktaUser(annID, "ann@example.com", "LOCKED_OUT"), oktaUser(bobID, "bob@example.com", "DEPROVISIONED")},
				Accounts: []Attributes{account("a1", "ann@example.com", annID, true), account("a2", "bob@example.com", bobID, true)}},
			matched:    2,
			deactivate: []Change{{AccountID: "a2", UserID: bobID, UserName: "bob@example.com"}},
		},
		"a user who comes back is reactivated": {
			in:         Input{Mode: Provision, Users: []OktaUser{ann}, Accounts: []Attributes{account("a1", "ann@example.com", annID, false)}},
			matched:    1,
			reactivate: []Change{{AccountID: "a1", UserID: annID, UserName: "ann@example.com"}},
		},
		"the safeguard trips over its percentage": {
			in: Input{Mode: Provision, Users: []OktaUser{ann}, MaxDeactivationPercent: 20, Accounts: []Attributes{
				account("a1", "ann@example.com", annID, true), account("a2", "bob@example.com", bobID, true), account("a3", "cid@example.com", cidID, true),
			}},
			matched: 1, tripped: true,
			deactivate: []Change{{AccountID: "a2", UserID: bobID, UserName: "bob@example.com"}, {AccountID: "a3", UserID: cidID, UserName: "cid@example.com"}},
		},
		"a mapping that fails on one user fails that user only": {
			in:           Input{Mode: Provision, Users: []OktaUser{ann, {ID: bobID, Status: "ACTIVE", Profile: Keep(map[string]any{"email": "bob@example.com"}, nil)}}},
			mappingSpecs: []MappingSpec{displayName},
			unmatched:    2, failed: 1,
			create: []Create{{UserID: annID, Attributes: Keep(scim.Resource{"userName": "ann@example.com", "externalId": annID, "active": true, "displayName": "Ann Doe"}, nil)}},
		},
		"two accounts for one user: that user fails, nothing is guessed": {
			in:     Input{Mode: Provision, Users: []OktaUser{ann}, Accounts: []Attributes{account("a1", "ann@example.com", "", true), account("a2", "Ann@Example.com", "", true)}},
			failed: 1, unowned: 2,
		},
		"a no-change run plans no write": {
			in: Input{Mode: Provision, Users: []OktaUser{ann}, MaxDeactivationPercent: 20,
				Accounts: []Attributes{withAttr(account("a1", "ann@example.com", annID, true), "displayName", "Ann Doe")}},
			mappingSpecs: []MappingSpec{displayName},
			matched:      1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.Mappings = mappings(t, tc.mappingSpecs...)
			plan := Decide(tc.in)
			if len(plan.Matched) != tc.matched || plan.Unmatched != tc.unmatched || len(plan.Unowned) != tc.unowned || len(plan.Failed) != tc.failed {
				t.Errorf("matched %d, unmatched %d, unowned %d, failed %d (%v); want %d, %d, %d, %d",
					len(plan.Matched), plan.Unmatched, len(plan.Unowned), len(plan.Failed), plan.Failed, tc.matched, tc.unmatched, tc.unowned, tc.failed)
			}
			opts := cmpopts.EquateEmpty()
			for what, pair := range map[string][2]any{"Create": {tc.create, plan.Create}, "Update": {tc.update, plan.Update},
				"Deactivate": {tc.deactivate, plan.Deactivate}, "Reactivate": {tc.reactivate, plan.Reactivate}} {
				if diff := cmp.Diff(pair[0], pair[1], opts); diff != "" {
					t.Errorf("%s (-want +got):\n%s", what, diff)
				}
			}
			if plan.SafeguardTripped != tc.tripped {
				t.Errorf("SafeguardTripped = %v, want %v (%d of %d active)", plan.SafeguardTripped, tc.tripped, len(plan.Deactivate), plan.ActiveAccounts)
			}
		})
	}
}

func withAttr(a Attributes, k string, v any) Attributes {
	m := a.Map()
	m[k] = v
	return Keep(m, nil)
}

func TestCompile(t *testing.T) {
	tests := map[string]struct {
		spec    MappingSpec
		wantErr string
		user    map[string]any
		want    any
	}{
		"lower-cased email":   {spec: MappingSpec{Target: "userName", Expression: "user.email.lowerAscii()"}, user: map[string]any{"email": "Ann@Example.COM"}, want: "ann@example.com"},
		"a conditional":       {spec: MappingSpec{Target: "title", Expression: `user.department == "R&D" ? "engineering" : "staff"`}, user: map[string]any{"department": "R&D"}, want: "engineering"},
		"app-user profile":    {spec: MappingSpec{Target: "role", Expression: `"role" in appUser ? appUser.role : "viewer"`}, user: map[string]any{}, want: "viewer"},
		"does not compile":    {spec: MappingSpec{Target: "title", Expression: "user.title +"}, wantErr: "attributeMappings[0] (title): ERROR"},
		"an unknown variable": {spec: MappingSpec{Target: "title", Expression: "person.title"}, wantErr: "undeclared reference to 'person'"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := Compile([]MappingSpec{tc.spec})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Compile = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := m[0].eval(tc.user, nil)
			if err != nil || got != tc.want {
				t.Errorf("eval = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestProfileFields(t *testing.T) {
	tests := map[string]struct {
		exprs         []string
		user, appUser []string // nil: the whole profile
	}{
		"fields selected":          {exprs: []string{`user.firstName + " " + user.lastName`, "user.email.lowerAscii()"}, user: []string{"email", "firstName", "lastName", "login"}, appUser: []string{}},
		"a conditional on a field": {exprs: []string{`user.department == "R&D" ? "engineering" : "staff"`}, user: []string{"department", "login"}, appUser: []string{}},
		"membership needs it all":  {exprs: []string{`"title" in user ? user.title : ""`}, user: nil, appUser: []string{}},
		"an index needs it all":    {exprs: []string{`user["title"]`}, user: nil, appUser: []string{}},
		"the app profile by field": {exprs: []string{`appUser.role + "/" + appUser.team`}, user: []string{"login"}, appUser: []string{"role", "team"}},
		"app profile membership":   {exprs: []string{`"role" in appUser ? appUser.role : "viewer"`}, user: []string{"login"}, appUser: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var specs []MappingSpec
			for i, e := range tc.exprs {
				specs = append(specs, MappingSpec{Target: fmt.Sprint("a", i), Expression: e})
			}
			compiled := mappings(t, specs...)
			for what, pair := range map[string]struct {
				got  map[string]bool
				want []string
			}{"user": {ProfileFields(compiled, "login"), tc.user}, "appUser": {AppProfileFields(compiled), tc.appUser}} {
				if (pair.got == nil) != (pair.want == nil) {
					t.Fatalf("%s fields = %v, want %v (nil: all)", what, pair.got, pair.want)
				}
				got := []string{}
				for f := range pair.got {
					got = append(got, f)
				}
				if diff := cmp.Diff(pair.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s fields (-want +got):\n%s", what, diff)
				}
			}
		})
	}
}

// TestPlannerPageByPage: a plan made page by page, as a run makes it while
// Okta's listing arrives, is the plan made from the whole listing, and
// names at most UnmatchedListed unmatched users while counting them all.
func TestPlannerPageByPage(t *testing.T) {
	var users []OktaUser
	var accounts []Attributes
	for i := range 120 {
		id := fmt.Sprintf("00u%017d", i)
		users = append(users, oktaUser(id, fmt.Sprintf("user%d@example.com", i), "ACTIVE"))
		if i%3 == 0 { // a third have an account, one in ten of those is to update
			name := fmt.Sprintf("User%d Doe", i)
			if i%30 == 0 {
				name = "Old Name"
			}
			accounts = append(accounts, withAttr(account(fmt.Sprint("a", i), fmt.Sprintf("user%d@example.com", i), id, true), "displayName", name))
		}
	}
	accounts = append(accounts, account("gone", "gone@example.com", "00uGoneGoneGoneGoneG", true))
	in := Input{Mode: Provision, Users: users, Accounts: accounts, MaxDeactivationPercent: 100,
		Mappings: mappings(t, MappingSpec{Target: "displayName", Expression: `user.firstName + " " + user.lastName`})}
	whole := Decide(in)

	planner := NewPlanner(in)
	for start := 0; start < len(users); start += 25 {
		planner.Add(users[start:min(start+25, len(users))])
	}
	paged := planner.Finish()
	if diff := cmp.Diff(whole, paged); diff != "" {
		t.Errorf("page by page (-whole +paged):\n%s", diff)
	}
	if paged.Unmatched != 80 || len(paged.UnmatchedUsers) != UnmatchedListed || len(paged.Create) != 80 ||
		len(paged.Update) != 4 || len(paged.Deactivate) != 1 || len(paged.Matched) != 40 {
		t.Errorf("unmatched %d (%d named), create %d, update %d, deactivate %d, matched %d; want 80 (50), 80, 4, 1, 40",
			paged.Unmatched, len(paged.UnmatchedUsers), len(paged.Create), len(paged.Update), len(paged.Deactivate), len(paged.Matched))
	}
}
