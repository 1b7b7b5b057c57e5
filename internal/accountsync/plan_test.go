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
	return OktaUser{ID: id, Status: status, Profile: map[string]any{"email": email, "firstName": strings.ToUpper(first[:1]) + first[1:], "lastName": "Doe"}}
}

func account(id, userName, externalID string, active bool) scim.Resource {
	r := scim.Resource{"id": id, "userName": userName, "active": active}
	if externalID != "" {
		r["externalId"] = externalID
	}
	return r
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
				Accounts: []scim.Resource{account("a1", "ANN@example.com", "", true), account("a2", "bob@example.com", "", true), account("a9", "zed@example.com", "", true)}},
			matched: 2, unmatched: 1, unowned: 1,
		},
		"provision creates a missing account with the externalId and the mappings": {
			in:           Input{Mode: Provision, Users: []OktaUser{ann}, MaxDeactivationPercent: 20},
			mappingSpecs: []MappingSpec{displayName},
			unmatched:    1,
			create: []Create{{UserID: annID, Resource: scim.Resource{"userName": "ann@example.com", "externalId": annID, "active": true,
				"displayName": "Ann Doe"}}},
		},
		"provision links a matched account and updates a changed attribute, not an unchanged one": {
			in: Input{Mode: Provision, Users: []OktaUser{ann, bob}, Accounts: []scim.Resource{
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
			in:           Input{Mode: Provision, Users: []OktaUser{ann}, Accounts: []scim.Resource{withAttr(account("a1", "ann@example.com", annID, true), "title", "old")}},
			mappingSpecs: []MappingSpec{{Target: "title", Expression: `"new"`, CreateOnly: true}},
			matched:      1,
		},
		"an unassigned user's account is deactivated; a suspended one's too; an unowned one is left": {
			in: Input{Mode: Provision, Users: []OktaUser{ann, oktaUser(bobID, "bob@example.com", "SUSPENDED")}, MaxDeactivationPercent: 100, Accounts: []scim.Resource{
				account("a1", "ann@example.com", annID, true), account("a2", "bob@example.com", bobID, true),
				account("a3", "cid@example.com", cidID, true), account("a4", "hand@example.com", "", true),
			}},
			matched: 2, unowned: 1,
			deactivate: []Change{{AccountID: "a2", UserID: bobID, UserName: "bob@example.com"}, {AccountID: "a3", UserID: cidID, UserName: "cid@example.com"}},
		},
		"a user who comes back is reactivated": {
			in:         Input{Mode: Provision, Users: []OktaUser{ann}, Accounts: []scim.Resource{account("a1", "ann@example.com", annID, false)}},
			matched:    1,
			reactivate: []Change{{AccountID: "a1", UserID: annID, UserName: "ann@example.com"}},
		},
		"the safeguard trips over its percentage": {
			in: Input{Mode: Provision, Users: []OktaUser{ann}, MaxDeactivationPercent: 20, Accounts: []scim.Resource{
				account("a1", "ann@example.com", annID, true), account("a2", "bob@example.com", bobID, true), account("a3", "cid@example.com", cidID, true),
			}},
			matched: 1, tripped: true,
			deactivate: []Change{{AccountID: "a2", UserID: bobID, UserName: "bob@example.com"}, {AccountID: "a3", UserID: cidID, UserName: "cid@example.com"}},
		},
		"a mapping that fails on one user fails that user only": {
			in:           Input{Mode: Provision, Users: []OktaUser{ann, {ID: bobID, Status: "ACTIVE", Profile: map[string]any{"email": "bob@example.com"}}}},
			mappingSpecs: []MappingSpec{displayName},
			unmatched:    2, failed: 1,
			create: []Create{{UserID: annID, Resource: scim.Resource{"userName": "ann@example.com", "externalId": annID, "active": true, "displayName": "Ann Doe"}}},
		},
		"two accounts for one user: that user fails, nothing is guessed": {
			in:     Input{Mode: Provision, Users: []OktaUser{ann}, Accounts: []scim.Resource{account("a1", "ann@example.com", "", true), account("a2", "Ann@Example.com", "", true)}},
			failed: 1, unowned: 2,
		},
		"a no-change run plans no write": {
			in: Input{Mode: Provision, Users: []OktaUser{ann}, MaxDeactivationPercent: 20,
				Accounts: []scim.Resource{withAttr(account("a1", "ann@example.com", annID, true), "displayName", "Ann Doe")}},
			mappingSpecs: []MappingSpec{displayName},
			matched:      1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.Mappings = mappings(t, tc.mappingSpecs...)
			plan := Decide(tc.in)
			if len(plan.Matched) != tc.matched || len(plan.Unmatched) != tc.unmatched || len(plan.Unowned) != tc.unowned || len(plan.Failed) != tc.failed {
				t.Errorf("matched %d, unmatched %d, unowned %d, failed %d (%v); want %d, %d, %d, %d",
					len(plan.Matched), len(plan.Unmatched), len(plan.Unowned), len(plan.Failed), plan.Failed, tc.matched, tc.unmatched, tc.unowned, tc.failed)
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

func withAttr(r scim.Resource, k string, v any) scim.Resource {
	r[k] = v
	return r
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
		exprs []string
		want  []string
		all   bool
	}{
		"fields selected":          {exprs: []string{`user.firstName + " " + user.lastName`, "user.email.lowerAscii()"}, want: []string{"email", "firstName", "lastName", "login"}},
		"a conditional on a field": {exprs: []string{`user.department == "R&D" ? "engineering" : "staff"`}, want: []string{"department", "login"}},
		"membership needs it all":  {exprs: []string{`"title" in user ? user.title : ""`}, all: true},
		"an index needs it all":    {exprs: []string{`user["title"]`}, all: true},
		"only the app profile":     {exprs: []string{`"role" in appUser ? appUser.role : "viewer"`}, want: []string{"login"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var specs []MappingSpec
			for i, e := range tc.exprs {
				specs = append(specs, MappingSpec{Target: fmt.Sprint("a", i), Expression: e})
			}
			fields, all := ProfileFields(mappings(t, specs...), "login")
			if all != tc.all {
				t.Fatalf("all = %v, want %v", all, tc.all)
			}
			var got []string
			for f := range fields {
				got = append(got, f)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); !tc.all && diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
