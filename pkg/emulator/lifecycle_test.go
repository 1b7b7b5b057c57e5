package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

func TestUserLifecycle(t *testing.T) {
	type step struct {
		operation  string
		wantStatus int
		wantUser   string // the user's status after the step
		wantError  string
	}
	cases := map[string]struct {
		create string // query of the create
		steps  []step
	}{
		"suspended and back": {"?activate=true", []step{
			{"suspend", 200, "SUSPENDED", ""},
			{"suspend", 400, "SUSPENDED", "Cannot suspend a user that is not active"},
			{"unsuspend", 200, "ACTIVE", ""},
			{"unsuspend", 400, "ACTIVE", "Cannot unsuspend a user that is not suspended"},
		}},
		"staged, activated, deprovisioned, activated again": {"?activate=false", []step{
			{"reactivate", 403, "STAGED", "E0000038"},
			{"activate", 200, "ACTIVE", ""},
			{"activate", 403, "ACTIVE", "E0000016"},
			{"deactivate", 200, "DEPROVISIONED", ""},
			{"deactivate", 200, "DEPROVISIONED", ""},
			{"suspend", 400, "DEPROVISIONED", "not active"},
			{"activate", 200, "ACTIVE", ""},
		}},
		"a suspended user deactivated": {"?activate=true", []step{
			{"suspend", 200, "SUSPENDED", ""},
			{"deactivate", 200, "DEPROVISIONED", ""},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, base := org(t, emulator.Config{})
			_, created := call(t, "POST", base+"/api/v1/users"+tc.create,
				`{"profile":{"login":"ann@example.com","email":"ann@example.com","firstName":"Ann","lastName":"Lee"},"credentials":{"password":{"value":"Correct-Horse-9"}}}`)
			id := created[strings.Index(created, `"id":"`)+6:][:20]
			for _, s := range tc.steps {
				resp, body := call(t, "POST", base+"/api/v1/users/"+id+"/lifecycle/"+s.operation, "")
				if resp.StatusCode != s.wantStatus || !strings.Contains(body, s.wantError) {
					t.Fatalf("%s: %d %s, want %d %s", s.operation, resp.StatusCode, body, s.wantStatus, s.wantError)
				}
				if _, user := call(t, "GET", base+"/api/v1/users/"+id, ""); !strings.Contains(user, `"status":"`+s.wantUser+`"`) {
					t.Fatalf("after %s the user is not %s: %s", s.operation, s.wantUser, user)
				}
			}
		})
	}
}

func TestUserSearchAndDeleteRules(t *testing.T) {
	seed := &emulator.Seed{Users: []emulator.SeedUser{
		{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Password: "Correct-Horse-9"},
		{Login: "bob@example.com", FirstName: "Bob", LastName: "Lee"},
	}}
	_, base := org(t, emulator.Config{Seed: seed})
	_, ann := call(t, "GET", base+"/api/v1/users/ann@example.com", "")
	annID := ann[strings.Index(ann, `"id":"`)+6:][:20]
	call(t, "POST", base+"/api/v1/users/"+annID+"/lifecycle/suspend", "")

	filters := map[string]struct{ query, want, notWant string }{
		"by status":       {`filter=status eq "SUSPENDED"`, "ann@", "bob@"},
		"by profile":      {`search=profile.firstName eq "Bob"`, "bob@", "ann@"},
		"starts with":     {`search=profile.login sw "an"`, "ann@", "bob@"},
		"either":          {`search=profile.firstName eq "Ann" or profile.firstName eq "Bob"`, "bob@", ""},
		"the quick query": {`q=bo`, "bob@", "ann@"},
	}
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			_, got := call(t, "GET", base+"/api/v1/users?"+strings.ReplaceAll(f.query, " ", "%20"), "")
			if !strings.Contains(got, f.want) || f.notWant != "" && strings.Contains(got, f.notWant) {
				t.Errorf("%s: %s", f.query, got)
			}
		})
	}

	// A delete deactivates first; a second one deletes, and the user is gone.
	if resp, _ := call(t, "DELETE", base+"/api/v1/users/"+annID, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first delete: %d", resp.StatusCode)
	}
	if _, got := call(t, "GET", base+"/api/v1/users/"+annID, ""); !strings.Contains(got, `"status":"DEPROVISIONED"`) || !strings.Contains(got, `"delete":{"href"`) {
		t.Errorf("after the first delete: %s", got)
	}
	call(t, "DELETE", base+"/api/v1/users/"+annID, "")
	if resp, got := call(t, "GET", base+"/api/v1/users/"+annID, ""); resp.StatusCode != http.StatusNotFound || !strings.Contains(got, "E0000007") {
		t.Errorf("after the second delete: %d %s", resp.StatusCode, got)
	}
}

func TestGroupOwners(t *testing.T) {
	seed := &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}, {Name: "Admins"}},
		Users: []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee"}}}
	_, base := org(t, emulator.Config{Seed: seed})
	idOf := func(body string) string { return body[strings.Index(body, `"id":"`)+6:][:20] }
	_, eng := call(t, "GET", base+"/api/v1/groups?q=Engineering", "")
	_, admins := call(t, "GET", base+"/api/v1/groups?q=Admins", "")
	_, ann := call(t, "GET", base+"/api/v1/users/ann@example.com", "")
	engID, adminsID, annID := idOf(eng), idOf(admins), idOf(ann)
	owners := base + "/api/v1/groups/" + engID + "/owners"

	steps := []struct {
		name, method, url, body string
		status                  int
		want                    string
	}{
		{"a user", "POST", owners, `{"id":"` + annID + `","type":"USER"}`, 201, `"displayName":"Ann Lee"`},
		{"a group", "POST", owners, `{"id":"` + adminsID + `","type":"GROUP"}`, 201, `"displayName":"Admins"`},
		{"the same user again", "POST", owners, `{"id":"` + annID + `","type":"USER"}`, 400, "Provided owner is already assigned to this group"},
		{"a group named a user", "POST", owners, `{"id":"` + adminsID + `","type":"USER"}`, 404, "(User)"},
		{"listed", "GET", owners, "", 200, `"originType":"OKTA_DIRECTORY"`},
		{"removed", "DELETE", owners + "/" + annID, "", 204, ""},
		{"removed again", "DELETE", owners + "/" + annID, "", 404, "(LinkedObject)"},
	}
	for _, s := range steps {
		resp, body := call(t, s.method, s.url, s.body)
		if resp.StatusCode != s.status || !strings.Contains(body, s.want) {
			t.Errorf("%s: %d %s, want %d %s", s.name, resp.StatusCode, body, s.status, s.want)
		}
	}
	if _, list := call(t, "GET", owners, ""); strings.Contains(list, annID) || !strings.Contains(list, adminsID) {
		t.Errorf("owners after the removal: %s", list)
	}
}
