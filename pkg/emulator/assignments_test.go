package emulator_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// assignmentOrg is an org with three groups, alice in Engineering, and one
// SAML app, reached through the project's client.
func assignmentOrg(t *testing.T) (*okta.Client, string, map[string]string) {
	t.Helper()
	_, c, appID := orgWithApp(t, &emulator.Seed{
		Groups: []emulator.SeedGroup{{Name: "Engineering"}, {Name: "Ops"}, {Name: "HR"}},
		Users:  []emulator.SeedUser{{Login: "alice@example.com", FirstName: "Alice", LastName: "Smith", Groups: []string{"Engineering"}}},
	})
	ids := map[string]string{}
	for _, name := range []string{"Engineering", "Ops", "HR"} {
		g, err := c.FindGroupByName(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = g.ID
	}
	return c, appID, ids
}

// orgWithApp starts an org with the seed and one SAML app.
func orgWithApp(t *testing.T, seed *emulator.Seed) (*emulator.Server, *okta.Client, string) {
	t.Helper()
	srv, err := emulator.New(emulator.Config{APIToken: "t", KeyBits: 1024, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	srv.SetBaseURL(ts.URL)
	c, err := okta.New(okta.Config{OrgURL: ts.URL, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := c.CreateApp(context.Background(), &okta.App{Label: "Assignments", SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{SignOn: &okta.SAMLSignOn{SSOAcsURL: "https://sp.example.com/acs", Audience: "sp"}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, app.ID
}

// priorities lists the app's groups by priority, as names.
func priorities(t *testing.T, c *okta.Client, appID string, ids map[string]string) map[string]int {
	t.Helper()
	groups, err := c.ListAppGroups(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for name, id := range ids {
		names[id] = name
	}
	out := map[string]int{}
	for _, g := range groups {
		out[names[g.ID]] = *g.Priority
	}
	return out
}

func TestGroupPrioritiesAreRenumbered(t *testing.T) {
	c, appID, ids := assignmentOrg(t)
	ctx := context.Background()
	at := func(n int) *int { return &n }
	steps := []struct {
		name  string
		do    func() error
		after map[string]int
	}{
		{"a first group without a priority sits at 0", func() error {
			_, err := c.AssignGroup(ctx, appID, ids["Engineering"], okta.AppGroupAssignment{})
			return err
		}, map[string]int{"Engineering": 0}},
		{"a requested priority is kept, gaps included (as recorded)", func() error {
			_, err := c.AssignGroup(ctx, appID, ids["Ops"], okta.AppGroupAssignment{Priority: at(3)})
			return err
		}, map[string]int{"Engineering": 0, "Ops": 3}},
		{"a group put at a taken priority goes before the holder", func() error {
			_, err := c.AssignGroup(ctx, appID, ids["HR"], okta.AppGroupAssignment{Priority: at(0)})
			return err
		}, map[string]int{"HR": 0, "Engineering": 1, "Ops": 4}},
		{"removing a group moves those after it up", func() error { return c.UnassignGroup(ctx, appID, ids["HR"]) },
			map[string]int{"Engineering": 0, "Ops": 3}},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if diff := cmp.Diff(step.after, priorities(t, c, appID, ids)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step.name, diff)
		}
	}
}

func TestDirectAssignmentAGroupGrantsIsKept(t *testing.T) {
	c, appID, ids := assignmentOrg(t)
	ctx := context.Background()
	alice, err := c.FindUserByLogin(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssignUser(ctx, appID, okta.AppUser{ID: alice.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssignGroup(ctx, appID, ids["Engineering"], okta.AppGroupAssignment{}); err != nil {
		t.Fatal(err)
	}
	err = c.UnassignUser(ctx, appID, alice.ID)
	if !okta.IsGrantedByGroup(err) || okta.IsAuth(err) {
		t.Fatalf("UnassignUser while Engineering grants the app = %v; want E0000046, not an auth failure", err)
	}
	if err := c.UnassignGroup(ctx, appID, ids["Engineering"]); err != nil {
		t.Fatal(err)
	}
	if err := c.UnassignUser(ctx, appID, alice.ID); err != nil {
		t.Fatalf("UnassignUser once no group grants the app: %v", err)
	}
}

func TestAssigningUnknownIDsIsNotFound(t *testing.T) {
	c, appID, _ := assignmentOrg(t)
	ctx := context.Background()
	if _, err := c.AssignGroup(ctx, appID, "00g00000000000000000", okta.AppGroupAssignment{}); !okta.IsNotFound(err) {
		t.Errorf("AssignGroup of an unknown group = %v, want E0000007", err)
	}
	if _, err := c.AssignUser(ctx, appID, okta.AppUser{ID: "00u00000000000000000"}); !okta.IsNotFound(err) {
		t.Errorf("AssignUser of an unknown user = %v, want E0000007", err)
	}
	if _, err := c.ListAppGroups(ctx, "0oa00000000000000000"); !okta.IsNotFound(err) {
		t.Errorf("ListAppGroups of an unknown app = %v, want E0000007", err)
	}
}

func TestAssignmentProfileIsValidated(t *testing.T) {
	c, appID, ids := assignmentOrg(t)
	ctx := context.Background()
	_, err := c.AssignGroup(ctx, appID, ids["Ops"], okta.AppGroupAssignment{Profile: map[string]any{"settings": map[string]any{"a": 1}}})
	apiErr, invalid := okta.IsInvalid(err)
	if !invalid || apiErr.ErrorCode != "E0000001" || len(apiErr.ErrorCauses) != 1 || !strings.Contains(apiErr.ErrorCauses[0], "profile.settings") {
		t.Fatalf("AssignGroup with an object in the profile = %v; want E0000001 naming profile.settings", err)
	}
	if _, err := c.AssignGroup(ctx, appID, ids["Ops"], okta.AppGroupAssignment{Profile: map[string]any{"role": "Editor", "seats": 3, "tags": []any{"a"}}}); err != nil {
		t.Fatalf("AssignGroup with scalar and array values: %v", err)
	}
}

func TestAppUsersAreListedInPagesOfOktasMaximum(t *testing.T) {
	const users = 5000
	seed := &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Everyone at acme"}}}
	for i := range users {
		seed.Users = append(seed.Users, emulator.SeedUser{Login: fmt.Sprintf("user%04d@example.com", i), Groups: []string{"Everyone at acme"}})
	}
	srv, c, appID := orgWithApp(t, seed)
	ctx := context.Background()
	g, err := c.FindGroupByName(ctx, "Everyone at acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssignGroup(ctx, appID, g.ID, okta.AppGroupAssignment{}); err != nil {
		t.Fatal(err)
	}
	srv.ResetStats()
	listed, err := c.ListAppUsers(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	pages := srv.Stats().Routes["GET /api/v1/apps/{appID}/users"]
	if len(listed) != users || pages != users/500 {
		t.Errorf("ListAppUsers = %d users in %d pages; want %d in %d pages of 500 (Okta's maximum)", len(listed), pages, users, users/500)
	}
}

func TestAppUsersListedWithTheirOktaProfiles(t *testing.T) {
	c, appID, ids := assignmentOrg(t)
	ctx := context.Background()
	if _, err := c.AssignGroup(ctx, appID, ids["Engineering"], okta.AppGroupAssignment{}); err != nil {
		t.Fatal(err)
	}
	var users []okta.AppUser
	err := c.ListAppUsersWithProfiles(ctx, appID, func(page []okta.AppUser) error { users = append(users, page...); return nil })
	if err != nil || len(users) != 1 {
		t.Fatalf("ListAppUsersWithProfiles = %v, %v", users, err)
	}
	u := users[0].Embedded.User
	if u == nil || u.Login() != "alice@example.com" || u.Status != "PROVISIONED" || u.Profile["firstName"] != "Alice" {
		t.Errorf("embedded user = %+v", u)
	}
}
