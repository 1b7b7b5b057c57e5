package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// A team's SCIM target is hostile until shown otherwise: each answer below
// must cost the manager a bounded read and tell the team nothing but the
// status, a scimType and a short detail.
func TestHostileTargets(t *testing.T) {
	const secretLine = "internal-only page: db password hunter2"
	cases := map[string]struct {
		handler http.HandlerFunc
		// want is what the error must say; never is what it must not.
		want, never string
		check       func(error) bool
	}{
		"an error page fronting an internal service": {
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprintln(w, "<html><body><pre>"+secretLine+"</pre></body></html>")
			},
			want: "scim list-users: 502", never: "hunter2", check: scim.IsUnavailable,
		},
		"a SCIM error with a long, multi-line detail": {
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"invalidFilter","detail":%q}`, "bad filter\n"+strings.Repeat("x", 300)+secretLine)
			},
			want: "scim list-users: 400 invalidFilter: bad filter x", never: "hunter2",
			check: func(err error) bool { typ, ok := scim.IsInvalid(err); return ok && typ == "invalidFilter" },
		},
		"a scimType that is not one": {
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"scimType":%q}`, secretLine)
			},
			want: "scim list-users: 400", never: "hunter2",
			check: func(err error) bool { typ, ok := scim.IsInvalid(err); return ok && typ == "" },
		},
		"a page of 64 MiB": {
			handler: func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprint(w, `{"totalResults":1,"Resources":[{"id":"1","userName":"`)
				for range 64 {
					fmt.Fprint(w, strings.Repeat("a", 1<<20))
				}
				fmt.Fprint(w, `"}]}`)
			},
			want: "the answer is over 2 MiB; nothing more was read", check: scim.IsInvalidResponse,
		},
		"a listing that claims to never end": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"totalResults":1000000000,"Resources":[{"id":"%s","userName":"u"}]}`, r.URL.Query().Get("startIndex"))
			},
			want: "over the 1000000 a listing reads", check: scim.IsInvalidResponse,
		},
		"a redirect to somewhere else": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			},
			want:  "scim list-users: 302",
			check: func(err error) bool { return err != nil && !scim.IsInvalidResponse(err) },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			c, err := scim.New(scim.Config{BaseURL: srv.URL, Token: token, Retries: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListUsers(context.Background(), "", 0)
			if err == nil || !tc.check(err) {
				t.Fatalf("got %v, not the refusal wanted", err)
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.never != "" && strings.Contains(err.Error(), tc.never)) {
				t.Errorf("error %q: want %q in it and never %q", err, tc.want, tc.never)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error of %d characters: a team's target must not fill a condition", len(err.Error()))
			}
		})
	}
}

// A target that takes the connection and never answers, or one refused,
// says so without the transport's words (addresses and ports of the
// manager's network).
func TestNoAnswerSaysNothingOfTheNetwork(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	for url, want := range map[string]string{hang.URL: "no answer within the timeout", closedURL: "the connection could not be made"} {
		c, err := scim.New(scim.Config{BaseURL: url, Token: token, Retries: -1, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListUsers(context.Background(), "", 0)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "127.0.0.1") || !scim.IsUnavailable(err) {
			t.Errorf("%s: got %v, want %q and no address", url, err, want)
		}
	}
}
