package scim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// FuzzServiceProviderAnswers serves any status and body to the SCIM
// client's reads: a list, a user, the service provider's config. Each call
// returns a value or an error, never panics, and a list never claims more
// than it holds.
func FuzzServiceProviderAnswers(f *testing.F) {
	f.Add(200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{"id":"1","userName":"ann@example.com","active":true}]}`)
	f.Add(200, `{"totalResults":1000000000,"startIndex":1,"itemsPerPage":0,"Resources":[]}`)
	f.Add(200, `{"totalResults":2,"startIndex":-5,"itemsPerPage":1,"Resources":[{"id":"1"}]}`)
	f.Add(200, `{"Resources":[{"id":1,"active":"yes"}]}`)
	f.Add(200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"boom"}`)
	f.Add(409, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"uniqueness","status":"409"}`)
	f.Add(503, `<html>down</html>`)
	f.Add(200, `{"patch":{"supported":true},"bulk":{"supported":false},"filter":{"supported":true,"maxResults":-1}}`)
	f.Add(200, `{"Resources":`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			status = 200
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		defer srv.Close()
		c, err := scim.New(scim.Config{BaseURL: srv.URL, AuthType: scim.AuthBearer, Token: "fuzz-token", Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		pages := 0
		_ = c.ListUserPages(ctx, "", 100, func([]scim.Resource) error {
			if pages++; pages > 1000 {
				t.Fatal("a list that never ends was followed a thousand pages")
			}
			return nil
		})
		_, _ = c.GetUser(ctx, "1")
		_, _ = c.ServiceProviderConfig(ctx)
		_, _ = c.ListGroups(ctx, "", 10)
	})
}
