package emulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// as makes one API call to an org with its token and decodes the answer.
func as(t *testing.T, base, token, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "SSWS "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

type hubUser struct {
	ID      string         `json:"id"`
	Status  string         `json:"status"`
	Profile map[string]any `json:"profile"`
}

// An Org2Org app with an active connection to a hub org provisions the
// users assigned to it into the hub through the hub's API, as Okta's
// engine does: matched by login, created, updated, deactivated (never
// deleted), reactivated; and a pushed group's members follow.
func TestOrg2OrgProvisionsIntoTheHub(t *testing.T) {
	ctx := context.Background()
	_, _, hubURL := startOrg(t, "hub", "hub-token", &emulator.Seed{
		Users: []emulator.SeedUser{{Login: "bob@example.com", FirstName: "Robert", LastName: "Jones"}}})
	_, spoke, spokeURL := startOrg(t, "spoke", "spoke-token", &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{
			{Login: "alice@example.com", FirstName: "Alice", LastName: "Smith", Groups: []string{"Engineering"}},
			{Login: "bob@example.com", FirstName: "Bob", LastName: "Jones", Groups: []string{"Engineering"}},
			{Login: "carol@example.com", FirstName: "Carol", LastName: "King"},
		}})
	hubUserOf := func(login string) (hubUser, int) {
		var u hubUser
		return u, as(t, hubURL, "hub-token", "GET", "/api/v1/users/"+login, "", &u)
	}
	app, err := spoke.CreateApp(ctx, &okta.App{Name: "okta_org2org", Label: "Hub", SignOnMode: okta.SignOnModeSAML2,
		Settings: okta.AppSettings{App: map[string]any{"acsUrl": hubURL + "/sso/saml2/0oa1", "audRestriction": hubURL, "baseUrl": hubURL}}}, true)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := spoke.SetProvisioningToken(ctx, app.ID, "not-the-hub-token", true); err == nil {
		t.Fatal("a connection the hub refuses was activated")
	}
	conn, err := spoke.SetProvisioningToken(ctx, app.ID, "hub-token", true)
	if err != nil || conn.Status != okta.ConnectionEnabled {
		t.Fatalf("connection: %+v %v", conn, err)
	}
	var caps okta.ProvisioningCapabilities
	caps.Create.LifecycleCreate, caps.Update.Profile, caps.Update.LifecycleDeactivate = okta.Enabled(true), okta.Enabled(true), okta.Enabled(true)
	if _, err := spoke.SetUserProvisioning(ctx, app.ID, caps); err != nil {
		t.Fatal(err)
	}

	eng, err := spoke.FindGroupByName(ctx, "Engineering")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spoke.AssignGroup(ctx, app.ID, eng.ID, okta.AppGroupAssignment{}); err != nil {
		t.Fatal(err)
	}

	t.Run("assigned users reach the hub without signing in; the hub's bob is matched, not duplicated", func(t *testing.T) {
		alice, status := hubUserOf("alice@example.com")
		if status != 200 || alice.Profile["firstName"] != "Alice" {
			t.Fatalf("alice in the hub: %d %+v", status, alice)
		}
		var bobs []hubUser
		as(t, hubURL, "hub-token", "GET", `/api/v1/users?search=profile.login+eq+%22bob@example.com%22`, "", &bobs)
		if len(bobs) != 1 || bobs[0].Profile["firstName"] != "Bob" {
			t.Fatalf("bob in the hub: %+v (one user, the spoke's profile pushed)", bobs)
		}
		if _, status := hubUserOf("carol@example.com"); status != 404 {
			t.Fatalf("carol, not assigned, is in the hub: %d", status)
		}
	})

	t.Run("a profile change in the spoke reaches the hub, for the attributes the app maps", func(t *testing.T) {
		mapping, err := spoke.AppProfileMapping(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spoke.UpdateProfileMapping(ctx, mapping.ID, map[string]*okta.MappingProperty{"title": {Expression: "user.title", PushStatus: "PUSH"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := spoke.UpdateProfileMapping(ctx, mapping.ID, map[string]*okta.MappingProperty{"salary": {Expression: "user.salary", PushStatus: "PUSH"}}); err == nil {
			t.Error("a property outside the app user's schema was mapped")
		}
		alice, _ := spoke.FindUserByLogin(ctx, "alice@example.com")
		as(t, spokeURL, "spoke-token", "POST", "/api/v1/users/"+alice.ID, `{"profile":{"title":"Staff Engineer"}}`, nil)
		if u, _ := hubUserOf("alice@example.com"); u.Profile["title"] != "Staff Engineer" {
			t.Fatalf("alice's title in the hub: %v", u.Profile["title"])
		}
	})

	t.Run("a pushed group's hub members follow the spoke group", func(t *testing.T) {
		if _, err := spoke.CreateGroupPushMapping(ctx, app.ID, okta.NewGroupPushMapping{SourceGroupID: eng.ID, TargetGroupName: "Engineering"}); err != nil {
			t.Fatal(err)
		}
		if got := hubMembers(t, hubURL, "Engineering"); got != "alice@example.com,bob@example.com" {
			t.Fatalf("the hub's Engineering: %s", got)
		}
		bob, _ := spoke.FindUserByLogin(ctx, "bob@example.com")
		as(t, spokeURL, "spoke-token", "DELETE", "/api/v1/groups/"+eng.ID+"/users/"+bob.ID, "", nil)
		if got := hubMembers(t, hubURL, "Engineering"); got != "alice@example.com" {
			t.Fatalf("the hub's Engineering after bob left the spoke's: %s", got)
		}
		if u, _ := hubUserOf("bob@example.com"); u.Status != "DEPROVISIONED" {
			t.Fatalf("bob, unassigned in the spoke, is %s in the hub (want DEPROVISIONED, never deleted)", u.Status)
		}
	})

	t.Run("a user deactivated in the spoke is deactivated in the hub, and comes back when reactivated", func(t *testing.T) {
		alice, _ := spoke.FindUserByLogin(ctx, "alice@example.com")
		as(t, spokeURL, "spoke-token", "POST", "/api/v1/users/"+alice.ID+"/lifecycle/deactivate", "", nil)
		if u, status := hubUserOf("alice@example.com"); status != 200 || u.Status != "DEPROVISIONED" {
			t.Fatalf("alice in the hub: %d %s", status, u.Status)
		}
		as(t, spokeURL, "spoke-token", "POST", "/api/v1/users/"+alice.ID+"/lifecycle/activate?sendEmail=false", "", nil)
		if u, _ := hubUserOf("alice@example.com"); u.Status == "DEPROVISIONED" {
			t.Fatalf("alice, active again in the spoke, is still deactivated in the hub")
		}
	})

	t.Run("the spoke's System Log says what was pushed", func(t *testing.T) {
		page, err := spoke.LogEvents(ctx, okta.LogQuery{Filter: `eventType sw "application.provision"`, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range page.Events {
			seen[e.EventType]++
		}
		for _, want := range []string{"application.provision.user.push", "application.provision.user.push_profile", "application.provision.user.deactivate", "application.provision.group_push.push"} {
			if seen[want] == 0 {
				t.Errorf("no %s event: %v", want, seen)
			}
		}
	})

	t.Run("a connection turned off pushes nothing more", func(t *testing.T) {
		if err := spoke.SetProvisioningConnectionActive(ctx, app.ID, false); err != nil {
			t.Fatal(err)
		}
		carol, _ := spoke.FindUserByLogin(ctx, "carol@example.com")
		if _, err := spoke.AssignUser(ctx, app.ID, okta.AppUser{ID: carol.ID, Scope: "USER"}); err != nil {
			t.Fatal(err)
		}
		if _, status := hubUserOf("carol@example.com"); status != 404 {
			t.Fatalf("carol was pushed through a deactivated connection: %d", status)
		}
	})
}

// hubMembers lists the logins in the hub group of that name, sorted.
func hubMembers(t *testing.T, hubURL, name string) string {
	t.Helper()
	var groups []struct {
		ID      string `json:"id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	as(t, hubURL, "hub-token", "GET", "/api/v1/groups?q="+name, "", &groups)
	for _, g := range groups {
		if g.Profile.Name != name {
			continue
		}
		var members []hubUser
		as(t, hubURL, "hub-token", "GET", "/api/v1/groups/"+g.ID+"/users", "", &members)
		var logins []string
		for _, m := range members {
			logins = append(logins, m.Profile["login"].(string))
		}
		slices.Sort(logins)
		return strings.Join(logins, ",")
	}
	return "no group " + name
}
