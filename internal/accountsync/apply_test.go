package accountsync_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	"github.com/oktaop/okta-sso-operator/internal/scim"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
)

const annID, bobID = "00uAnnAnnAnnAnnAnnAn", "00uBobBobBobBobBobBo"

func target(t *testing.T, opts scimtest.Options) (*scimtest.Server, *scim.Client) {
	t.Helper()
	opts.Token = "t"
	srv, err := scimtest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c, err := scim.New(scim.Config{BaseURL: srv.URL(), Token: "t", RetryBaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// runOnce lists the target, decides and applies, as one run does.
func runOnce(t *testing.T, c *scim.Client, users []accountsync.OktaUser) (accountsync.Plan, accountsync.Applied) {
	t.Helper()
	ctx := context.Background()
	cfg, err := c.ServiceProviderConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	accounts := listAccounts(t, c)
	mappings, err := accountsync.Compile([]accountsync.MappingSpec{{Target: "displayName", Expression: `user.firstName + " " + user.lastName`}})
	if err != nil {
		t.Fatal(err)
	}
	plan := accountsync.Decide(accountsync.Input{Mode: accountsync.Provision, Users: users, Accounts: accounts, Mappings: mappings, MaxDeactivationPercent: 100})
	return plan, accountsync.Apply(ctx, c, cfg, plan, accounts, 4)
}

// listAccounts lists the target's accounts whole, as a run without
// mappings to cut them by would keep them.
func listAccounts(t *testing.T, c *scim.Client) []accountsync.Attributes {
	t.Helper()
	listed, err := c.ListUsers(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	accounts := make([]accountsync.Attributes, 0, len(listed))
	for _, r := range listed {
		accounts = append(accounts, accountsync.Keep(r, nil))
	}
	return accounts
}

func TestApplyAgainstARealSCIMServer(t *testing.T) {
	for name, opts := range map[string]scimtest.Options{"with PATCH": {}, "PUT only": {NoPatch: true}} {
		t.Run(name, func(t *testing.T) {
			srv, c := target(t, opts)
			ann := accountsync.OktaUser{ID: annID, Status: "ACTIVE", Profile: accountsync.Keep(map[string]any{"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"}, nil)}
			bob := accountsync.OktaUser{ID: bobID, Status: "ACTIVE", Profile: accountsync.Keep(map[string]any{"email": "bob@example.com", "firstName": "Bob", "lastName": "Ray"}, nil)}

			_, done := runOnce(t, c, []accountsync.OktaUser{ann, bob})
			if done.Err != nil || done.Created != 2 {
				t.Fatalf("first run = %+v", done)
			}
			srv.Requests(true)
			_, done = runOnce(t, c, []accountsync.OktaUser{ann, bob})
			if writes := len(srv.Requests(false)) - 2; done.Err != nil || writes != 0 {
				t.Fatalf("a no-change run sent %d writes (%v)", writes, srv.Requests(false))
			}

			bob.Profile = accountsync.Keep(map[string]any{"email": "bob@example.com", "firstName": "Bob", "lastName": "Rae"}, nil)
			_, done = runOnce(t, c, []accountsync.OktaUser{ann, bob})
			if done.Updated != 1 {
				t.Fatalf("after a rename: %+v", done)
			}
			_, done = runOnce(t, c, []accountsync.OktaUser{ann}) // bob unassigned
			if done.Deactivated != 1 {
				t.Fatalf("after bob was unassigned: %+v", done)
			}
			for _, u := range srv.Users() {
				if u["userName"] == "bob@example.com" && u["active"] != false {
					t.Errorf("bob's account = %v, want active=false", u)
				}
				if u["userName"] == "bob@example.com" && u["displayName"] != "Bob Rae" {
					t.Errorf("bob's displayName = %v, want the update", u["displayName"])
				}
			}
			_, done = runOnce(t, c, []accountsync.OktaUser{ann, bob}) // bob back
			if done.Reactivated != 1 {
				t.Fatalf("after bob came back: %+v", done)
			}
			if n := srv.Count("DELETE "); n != 0 {
				t.Errorf("%d DELETE requests", n)
			}
		})
	}
}

func TestACreateThatFindsTheAccountTakenLinksIt(t *testing.T) {
	srv, c := target(t, scimtest.Options{})
	ann := accountsync.OktaUser{ID: annID, Status: "ACTIVE", Profile: accountsync.Keep(map[string]any{"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"}, nil)}
	ctx := context.Background()
	plan := accountsync.Decide(accountsync.Input{Mode: accountsync.Provision, Users: []accountsync.OktaUser{ann}})
	// The account appears after the listing (a run that stopped after its POST, or someone else).
	srv.AddUser(map[string]any{"userName": "ann@example.com", "active": true})
	done := accountsync.Apply(ctx, c, scim.ServiceProviderConfig{Patch: true}, plan, nil, 4)
	if done.Err != nil || done.Updated != 1 || done.Created != 0 || len(srv.Users()) != 1 {
		t.Fatalf("Apply = %+v with %d accounts; want the existing account linked, none created", done, len(srv.Users()))
	}
	for _, u := range srv.Users() {
		if u["externalId"] != annID {
			t.Errorf("account = %v, want externalId %s", u, annID)
		}
	}
}

func TestATargetThatStopsAnsweringStopsTheRun(t *testing.T) {
	srv, c := target(t, scimtest.Options{})
	users := []accountsync.OktaUser{}
	for _, id := range []string{annID, bobID} {
		users = append(users, accountsync.OktaUser{ID: id, Status: "ACTIVE", Profile: accountsync.Keep(map[string]any{"email": id + "@example.com"}, nil)})
	}
	plan := accountsync.Decide(accountsync.Input{Mode: accountsync.Provision, Users: users})
	srv.SetFault(scimtest.Fault{Status: 503, Times: -1})
	done := accountsync.Apply(context.Background(), c, scim.ServiceProviderConfig{Patch: true}, plan, nil, 1)
	if !scim.IsUnavailable(done.Err) || done.Created != 0 {
		t.Fatalf("Apply against a target that is down = %+v", done)
	}
	if n := srv.Count("POST "); n != 1 {
		t.Errorf("%d creates sent; the run should stop at the first failure (a POST is never retried)", n)
	}
}

func TestGroupPush(t *testing.T) {
	srv, c := target(t, scimtest.Options{})
	ctx := context.Background()
	ann := accountsync.OktaUser{ID: annID, Status: "ACTIVE", Profile: accountsync.Keep(map[string]any{"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"}, nil)}
	bob := accountsync.OktaUser{ID: bobID, Status: "ACTIVE", Profile: accountsync.Keep(map[string]any{"email": "bob@example.com", "firstName": "Bob", "lastName": "Ray"}, nil)}
	handMade := srv.AddUser(map[string]any{"userName": "hand@example.com", "active": true})
	push := func(members ...string) int {
		plan, applied := runOnce(t, c, []accountsync.OktaUser{ann, bob})
		accounts := listAccounts(t, c)
		n, conflicts, err := accountsync.PushGroups(ctx, c, []accountsync.GroupPush{{OktaGroupID: "00gEngEngEngEngEngEn", TargetName: "Engineering", Members: members}},
			accountsync.AccountsByUser(plan, applied), accountsync.ManagedAccounts(accounts, applied))
		if err != nil || len(conflicts) > 0 {
			t.Fatal(err, conflicts)
		}
		return n
	}
	members := func() []string {
		var out []string
		for _, g := range srv.Groups() {
			for _, m := range g["members"].([]any) {
				id := m.(map[string]any)["value"].(string)
				out = append(out, srv.Users()[id]["userName"].(string))
			}
		}
		return out
	}

	if n := push(annID); n != 1 || len(srv.Groups()) != 1 {
		t.Fatalf("first push changed %d groups, %d exist; want one created", n, len(srv.Groups()))
	}
	if got := members(); len(got) != 1 || got[0] != "ann@example.com" {
		t.Fatalf("members = %v, want ann", got)
	}
	var groupID string
	for id := range srv.Groups() {
		groupID = id
	}
	// A member added by hand in the SP stays; bob joins, ann leaves.
	if _, err := c.PatchGroup(ctx, groupID, []scim.Op{{Op: "add", Path: "members", Value: []map[string]string{{"value": handMade}}}}); err != nil {
		t.Fatal(err)
	}
	srv.Requests(true)
	if n := push(bobID); n != 1 {
		t.Fatalf("second push changed %d groups", n)
	}
	got := members()
	if len(got) != 2 || !contains(got, "bob@example.com") || !contains(got, "hand@example.com") {
		t.Errorf("members = %v, want bob and the hand-added account", got)
	}
	if n := srv.Count("PUT /scim/v2/Groups"); n != 0 {
		t.Errorf("%d PUTs of the group: membership is patched, not replaced", n)
	}
	if n := push(bobID); n != 0 {
		t.Errorf("a push with nothing to change changed %d groups", n)
	}
	if n := srv.Count("DELETE "); n != 0 {
		t.Errorf("%d DELETE requests", n)
	}
}

func TestGroupPushLinksAGroupOfTheSameName(t *testing.T) {
	srv, c := target(t, scimtest.Options{})
	ctx := context.Background()
	if _, err := c.CreateGroup(ctx, scim.Resource{"displayName": "Engineering"}); err != nil {
		t.Fatal(err)
	}
	n, _, err := accountsync.PushGroups(ctx, c, []accountsync.GroupPush{{OktaGroupID: "00gEngEngEngEngEngEn", TargetName: "Engineering"}}, nil, nil)
	if err != nil || n != 1 || len(srv.Groups()) != 1 {
		t.Fatalf("PushGroups = %d, %v with %d groups; want the existing group linked", n, err, len(srv.Groups()))
	}
	// Another Okta group pushed under the same name is refused, not merged.
	_, conflicts, err := accountsync.PushGroups(ctx, c, []accountsync.GroupPush{{OktaGroupID: "00gOpsOpsOpsOpsOpsOp", TargetName: "Engineering"}}, nil, nil)
	var conflict *accountsync.GroupConflict
	if err != nil || len(conflicts) != 1 || !errors.As(conflicts[0], &conflict) {
		t.Errorf("a second Okta group under the same name: conflicts %v, err %v", conflicts, err)
	}
	for _, g := range srv.Groups() {
		if g["externalId"] != "00gEngEngEngEngEngEn" {
			t.Errorf("group = %v, want it linked by externalId", g)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
