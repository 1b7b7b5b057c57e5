package scim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/scim"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
)

const token = "scim-token-that-must-never-appear"

func target(t *testing.T, opts scimtest.Options) (*scimtest.Server, *scim.Client) {
	t.Helper()
	opts.Token = token
	srv, err := scimtest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c, err := scim.New(scim.Config{BaseURL: srv.URL(), AuthType: scim.AuthBearer, Token: token, RetryBaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestUsersAgainstARealSCIMServer(t *testing.T) {
	srv, c := target(t, scimtest.Options{PageSize: 3})
	ctx := context.Background()
	cfg, err := c.ServiceProviderConfig(ctx)
	if err != nil || !cfg.Patch || !cfg.Filter || cfg.MaxResults != 3 {
		t.Fatalf("ServiceProviderConfig = %+v, %v", cfg, err)
	}
	for _, name := range []string{"ann", "bob", "cid", "dee", "eve", "fay", "gus"} {
		if _, err := c.CreateUser(ctx, scim.Resource{"userName": name + "@example.com", "externalId": "00u" + name, "active": true}); err != nil {
			t.Fatalf("CreateUser %s: %v", name, err)
		}
	}
	all, err := c.ListUsers(ctx, "", 3)
	if err != nil || len(all) != 7 {
		t.Fatalf("ListUsers = %d users, %v; want 7 over three pages", len(all), err)
	}
	if pages := srv.Count("GET /scim/v2/Users"); pages != 3 {
		t.Errorf("listed in %d requests, want 3 pages of 3", pages)
	}
	var pageSizes []int
	err = c.ListUserPages(ctx, "", 3, func(page []scim.Resource) error {
		pageSizes = append(pageSizes, len(page))
		return nil
	})
	if err != nil || fmt.Sprint(pageSizes) != "[3 3 1]" {
		t.Fatalf("ListUserPages handed pages of %v, %v; want [3 3 1]", pageSizes, err)
	}
	stop := errors.New("enough")
	if err := c.ListUserPages(ctx, "", 3, func([]scim.Resource) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("ListUserPages with a page handler failing = %v, want its error", err)
	}
	found, err := c.ListUsers(ctx, scim.EqFilter("externalId", "00ucid"), 0)
	if err != nil || len(found) != 1 || found[0].UserName() != "cid@example.com" {
		t.Fatalf("filter on externalId = %v, %v", found, err)
	}
	id := found[0].ID()
	if _, err := c.PatchUser(ctx, id, []scim.Op{{Op: "replace", Path: "active", Value: false}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(ctx, id)
	if err != nil || got.Active() {
		t.Fatalf("after PATCH active=false: %v, %v", got, err)
	}
	_, err = c.CreateUser(ctx, scim.Resource{"userName": "ann@example.com"})
	if !scim.IsUniqueness(err) {
		t.Errorf("second create of ann = %v, want a uniqueness error", err)
	}
	if _, err := c.GetUser(ctx, "no-such-id"); !scim.IsNotFound(err) {
		t.Errorf("GetUser of an unknown id = %v, want not found", err)
	}
	if n := srv.Count("DELETE "); n != 0 {
		t.Errorf("%d DELETE requests; the client has none", n)
	}
}

func TestFailuresAreTypedAndRetriedOnlyWhereSafe(t *testing.T) {
	tests := map[string]struct {
		fault    scimtest.Fault
		call     func(context.Context, *scim.Client) error
		wantErr  func(error) bool
		attempts int
	}{
		"5xx on a read: retried, then it succeeds": {
			fault: scimtest.Fault{Status: 503, Times: 2}, attempts: 3,
			call: func(ctx context.Context, c *scim.Client) error { _, err := c.ListUsers(ctx, "", 0); return err },
		},
		"429 with Retry-After on a read: waited for, then it succeeds": {
			fault: scimtest.Fault{Status: 429, RetryAfter: "0", Times: 1}, attempts: 2,
			call: func(ctx context.Context, c *scim.Client) error { _, err := c.ListUsers(ctx, "", 0); return err },
		},
		"5xx on a create: not retried": {
			fault: scimtest.Fault{Status: 500, Times: 1, Method: http.MethodPost}, attempts: 1,
			call: func(ctx context.Context, c *scim.Client) error {
				_, err := c.CreateUser(ctx, scim.Resource{"userName": "x@example.com"})
				return err
			},
			wantErr: scim.IsUnavailable,
		},
		"a target that stays down: unavailable after the retries": {
			fault: scimtest.Fault{Status: 502, Times: -1}, attempts: 4,
			call:    func(ctx context.Context, c *scim.Client) error { _, err := c.ListUsers(ctx, "", 0); return err },
			wantErr: scim.IsUnavailable,
		},
		"garbage instead of JSON: an invalid response": {
			fault: scimtest.Fault{Garbage: true, Times: -1}, attempts: 1,
			call:    func(ctx context.Context, c *scim.Client) error { _, err := c.ListUsers(ctx, "", 0); return err },
			wantErr: scim.IsInvalidResponse,
		},
		"a refused token: an auth error, not retried": {
			fault: scimtest.Fault{Status: 401, Times: -1}, attempts: 1,
			call:    func(ctx context.Context, c *scim.Client) error { _, err := c.ListUsers(ctx, "", 0); return err },
			wantErr: scim.IsAuth,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv, c := target(t, scimtest.Options{})
			srv.SetFault(tc.fault)
			err := tc.call(context.Background(), c)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != nil && !tc.wantErr(err):
				t.Fatalf("error %v is not of the wanted kind", err)
			}
			if got := len(srv.Requests(false)); got != tc.attempts {
				t.Errorf("%d requests, want %d: %v", got, tc.attempts, srv.Requests(false))
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

// pagedServer answers lists with the pages given, to check how the client
// trusts them.
func pagedServer(t *testing.T, pages ...string) *scim.Client {
	t.Helper()
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(pages) {
			i = len(pages) - 1
		}
		_, _ = w.Write([]byte(pages[i]))
	}))
	t.Cleanup(ts.Close)
	c, err := scim.New(scim.Config{BaseURL: ts.URL, Token: token, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAListThatPagesInconsistentlyIsNeverAShorterList(t *testing.T) {
	u := func(id string) string { return `{"id":"` + id + `","userName":"` + id + `"}` }
	tests := map[string][]string{
		"an empty page before totalResults": {`{"totalResults":3,"Resources":[` + u("a") + `,` + u("b") + `]}`, `{"totalResults":3,"Resources":[]}`},
		"totalResults changing mid-listing": {`{"totalResults":3,"Resources":[` + u("a") + `]}`, `{"totalResults":2,"Resources":[` + u("b") + `]}`},
		"a resource coming twice":           {`{"totalResults":2,"Resources":[` + u("a") + `]}`, `{"totalResults":2,"Resources":[` + u("a") + `]}`},
	}
	for name, pages := range tests {
		t.Run(name, func(t *testing.T) {
			users, err := pagedServer(t, pages...).ListUsers(context.Background(), "", 0)
			if !scim.IsInvalidResponse(err) || users != nil {
				t.Fatalf("ListUsers = %d users, %v; want no list and an invalid response", len(users), err)
			}
		})
	}
	t.Run("itemsPerPage reported wrongly is ignored", func(t *testing.T) {
		c := pagedServer(t, `{"totalResults":2,"itemsPerPage":100,"Resources":[`+u("a")+`]}`, `{"totalResults":2,"itemsPerPage":100,"Resources":[`+u("b")+`]}`)
		users, err := c.ListUsers(context.Background(), "", 0)
		if err != nil || len(users) != 2 {
			t.Fatalf("ListUsers = %v, %v", users, err)
		}
	})
}

func TestRealSCIMResponsesParse(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	users, err := pagedServer(t, read("list-users.json")).ListUsers(context.Background(), scim.EqFilter("userName", `B"jensen`), 0)
	if err != nil || len(users) != 2 || users[0].UserName() != "Bjensen" || !users[0].Active() {
		t.Fatalf("RFC 7644 list = %v, %v", users, err)
	}
	cfg, err := pagedServer(t, read("service-provider-config.json")).ServiceProviderConfig(context.Background())
	if err != nil || !cfg.Patch || cfg.MaxResults != 200 {
		t.Fatalf("RFC 7643 ServiceProviderConfig = %+v, %v", cfg, err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(read("error-uniqueness.json")))
	}))
	defer ts.Close()
	c, _ := scim.New(scim.Config{BaseURL: ts.URL, Token: token})
	_, err = c.CreateUser(context.Background(), scim.Resource{"userName": "Bjensen"})
	if !scim.IsUniqueness(err) || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("RFC 7644 uniqueness error = %v", err)
	}
}

func TestConfigIsChecked(t *testing.T) {
	tests := map[string]scim.Config{
		"plain http to a remote host": {BaseURL: "http://backup.example.com/scim/v2", Token: "t"},
		"no credential":               {BaseURL: "https://backup.example.com/scim/v2"},
		"Basic without a password":    {BaseURL: "https://backup.example.com/scim/v2", AuthType: scim.AuthBasic, Token: "user"},
		"an unknown auth type":        {BaseURL: "https://backup.example.com/scim/v2", AuthType: "OAuth", Token: "t"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := scim.New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestGroupMembersArePatchedOneByOne(t *testing.T) {
	srv, c := target(t, scimtest.Options{})
	ctx := context.Background()
	ann := srv.AddUser(map[string]any{"userName": "ann@example.com"})
	bob := srv.AddUser(map[string]any{"userName": "bob@example.com"})
	g, err := c.CreateGroup(ctx, scim.Resource{"displayName": "Engineering"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PatchGroup(ctx, g.ID(), []scim.Op{{Op: "add", Path: "members", Value: []map[string]string{{"value": ann}, {"value": bob}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PatchGroup(ctx, g.ID(), []scim.Op{{Op: "remove", Path: `members[value eq "` + ann + `"]`}}); err != nil {
		t.Fatal(err)
	}
	members, _ := srv.Groups()[g.ID()]["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["value"] != bob {
		t.Errorf("members after add both, remove ann = %v; want bob only", members)
	}
	groups, err := c.ListGroups(ctx, scim.EqFilter("displayName", "Engineering"), 0)
	if err != nil || len(groups) != 1 {
		t.Errorf("ListGroups by displayName = %v, %v", groups, err)
	}
}
