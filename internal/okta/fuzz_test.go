package okta_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// FuzzAnswers serves whatever an org, a proxy in front of it or a broken
// gateway might answer (any status, body and Link header) to the client's
// reads: every call returns a value or a typed error, never panics, and a
// Link header pointing outside the org is never followed.
func FuzzAnswers(f *testing.F) {
	app, err := os.ReadFile("testdata/okta-api/cassettes/TestAccResourceOktaAppSaml_crud/oie-00.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(200, `{"id":"0oa1","status":"ACTIVE","signOnMode":"SAML_2_0","settings":{"signOn":{"ssoAcsUrl":"x"}},"_links":{"accessPolicy":{"href":"/"}}}`, "")
	f.Add(200, `[{"id":"0oa1"},{"id":"0oa2"}]`, `<https://evil.example.com/api/v1/apps?after=x>; rel="next"`)
	f.Add(200, `[]`, `<>; rel="next"`)
	f.Add(200, `[{"id":"0oa1"}]`, `</api/v1/apps?after=0oa1>; rel="next", </api/v1/apps>; rel="self"`)
	f.Add(400, `{"errorCode":"E0000001","errorSummary":"Api validation failed: label","errorCauses":[{"errorSummary":"label: blank"}]}`, "")
	f.Add(429, `{"errorCode":"E0000047"}`, "")
	f.Add(200, `{"errorCode":"E0000009","errorSummary":"Internal Server Error"}`, "")
	f.Add(502, `<html><body><h1>502 Bad Gateway</h1></body></html>`, "")
	f.Add(200, `{"id":`, "")
	f.Add(200, string(app[:4096]), "")
	f.Fuzz(func(t *testing.T, status int, body, link string) {
		if status < 100 || status > 599 {
			status = 200
		}
		elsewhere := false
		evil := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere = true }))
		defer evil.Close()
		org := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if link != "" {
				w.Header().Set("Link", link)
			}
			w.Header().Set("X-Rate-Limit-Reset", strconv.Itoa(1))
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		defer org.Close()
		c, err := okta.New(okta.Config{OrgURL: org.URL, APIToken: token, Budget: okta.NewBudget(100, nil), MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		defer func() {
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("the calls took %s: an answer made the client wait", took)
			}
		}()
		if a, err := c.GetApp(ctx, "0oa00000000000000001"); err == nil {
			_ = a.AccessPolicyID()
		}
		_, _ = c.ListApps(ctx, okta.AppQuery{Q: "x"})
		_, _ = c.ListAccessPolicies(ctx)
		_, _ = c.ListAppKeys(ctx, "0oa00000000000000001")
		if p, err := c.GetIdentityProvider(ctx, "0oa00000000000000002"); err == nil {
			_, _, _ = p.ID(), p.Status(), p.TrustKid()
		}
		_, _ = c.GetUser(ctx, "00u00000000000000001")
		if elsewhere {
			t.Fatal("the client followed a link outside the org")
		}
	})
}
