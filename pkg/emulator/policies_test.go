package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

func TestAccessPolicies(t *testing.T) {
	seed := &emulator.Seed{AccessPolicies: []emulator.SeedPolicy{{Name: "Strict MFA", Description: "Phishing-resistant factors only"}}}
	_, base := org(t, emulator.Config{Seed: seed})
	idOf := func(body string) string { return body[strings.Index(body, `"id":"`)+6:][:20] }

	_, list := call(t, "GET", base+"/api/v1/policies?type=ACCESS_POLICY", "")
	for _, name := range []string{"Any two factors", "Okta Dashboard", "Strict MFA"} {
		if !strings.Contains(list, `"name":"`+name+`"`) {
			t.Errorf("the org's access policies lack %q: %s", name, list)
		}
	}
	_, strict := call(t, "GET", base+"/api/v1/policies?type=ACCESS_POLICY&q=strict", "")
	strictID := idOf(strict)

	_, app := call(t, "POST", base+"/api/v1/apps", `{"label":"Wiki","signOnMode":"SAML_2_0","settings":{"signOn":{"ssoAcsUrl":"https://wiki.example.com/acs","audience":"https://wiki.example.com"}}}`)
	appID := idOf(app)
	if !strings.Contains(app, `"accessPolicy":{"href":"`+base+`/api/v1/policies/rst`) || strings.Contains(app, strictID) {
		t.Fatalf("a new app does not link the org's default policy: %s", app)
	}
	if resp, body := call(t, "PUT", base+"/api/v1/apps/"+appID+"/policies/"+strictID, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("assigning a policy: %d %s", resp.StatusCode, body)
	}
	if _, got := call(t, "GET", base+"/api/v1/apps/"+appID, ""); !strings.Contains(got, "/api/v1/policies/"+strictID+`"`) {
		t.Errorf("the app does not link its new policy: %s", got)
	}

	cases := map[string]struct {
		method, path, body string
		status             int
		want               string
	}{
		"a policy of no type":             {"GET", "/api/v1/policies", "", 400, "type"},
		"a policy named like another":     {"POST", "/api/v1/policies", `{"name":"strict mfa","type":"ACCESS_POLICY"}`, 400, "already exists"},
		"a policy without a name":         {"POST", "/api/v1/policies", `{"type":"ACCESS_POLICY"}`, 400, "cannot be left blank"},
		"a policy an app uses, deleted":   {"DELETE", "/api/v1/policies/" + strictID, "", 400, "access policy of the app Wiki"},
		"an unknown policy, assigned":     {"PUT", "/api/v1/apps/" + appID + "/policies/rst00000000000000000", "", 404, "E0000007"},
		"an unknown policy, read":         {"GET", "/api/v1/policies/rst00000000000000000", "", 404, "E0000007"},
		"a policy of a type not emulated": {"POST", "/api/v1/policies", `{"name":"Pw","type":"PASSWORD"}`, 400, "ACCESS_POLICY"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := call(t, tc.method, base+tc.path, tc.body)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want %d naming %q", resp.StatusCode, body, tc.status, tc.want)
			}
		})
	}
}

func TestClassicOrgsHadNoAccessPoliciesBefore2025(t *testing.T) {
	_, base := org(t, emulator.Config{Classic: true, Release: "2025.03"})
	_, list := call(t, "GET", base+"/api/v1/policies?type=ACCESS_POLICY", "")
	_, app := call(t, "POST", base+"/api/v1/apps", `{"label":"Wiki","signOnMode":"SAML_2_0","settings":{"signOn":{"ssoAcsUrl":"https://wiki.example.com/acs","audience":"https://wiki.example.com"}}}`)
	if strings.TrimSpace(list) != "[]" || strings.Contains(app, "accessPolicy") {
		t.Errorf("a Classic org of 2025.03 has access policies: %s; app %s", list, app)
	}
}
