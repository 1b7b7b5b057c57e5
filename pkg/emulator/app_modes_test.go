package emulator_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

func TestAppsOfEveryFamily(t *testing.T) {
	cases := map[string]struct {
		body                string
		wantMode            string
		wantCredentialsKeys []string
		wantLink            string
	}{
		"OIDC client": {
			body:                `{"name":"oidc_client","label":"Portal","signOnMode":"OPENID_CONNECT","settings":{"oauthClient":{"application_type":"web","grant_types":["authorization_code"],"redirect_uris":["https://portal.example.com/cb"],"response_types":["code"]}},"credentials":{"oauthClient":{"token_endpoint_auth_method":"client_secret_basic"}}}`,
			wantMode:            "OPENID_CONNECT",
			wantCredentialsKeys: []string{"oauthClient", "signing", "userNameTemplate"},
			wantLink:            "oidc_client_link",
		},
		"SWA template": {
			body:                `{"name":"template_swa","label":"Wiki","signOnMode":"BROWSER_PLUGIN","settings":{"app":{"url":"https://wiki.example.com/login","usernameField":"u","passwordField":"p","buttonField":"b"}}}`,
			wantMode:            "BROWSER_PLUGIN",
			wantCredentialsKeys: []string{"revealPassword", "scheme", "signing", "userNameTemplate"},
			wantLink:            "login",
		},
		"custom auto-login": {
			body:                `{"label":"Legacy","signOnMode":"AUTO_LOGIN","settings":{"signOn":{"loginUrl":"https://legacy.example.com/login"}},"credentials":{"scheme":"EDIT_USERNAME_AND_PASSWORD"}}`,
			wantMode:            "AUTO_LOGIN",
			wantCredentialsKeys: []string{"revealPassword", "scheme", "signing", "userNameTemplate"},
			wantLink:            "emulator_legacy_1_link",
		},
		"catalog app asked for AUTO_LOGIN answers BROWSER_PLUGIN": {
			body:                `{"name":"aws_console","label":"AWS","signOnMode":"AUTO_LOGIN","settings":{"app":{}}}`,
			wantMode:            "BROWSER_PLUGIN",
			wantCredentialsKeys: []string{"revealPassword", "scheme", "signing", "userNameTemplate"},
			wantLink:            "aws_console_login",
		},
		"office365, with a link per Microsoft 365 app": {
			body:                `{"name":"office365","label":"M365","signOnMode":"AUTO_LOGIN","settings":{"app":{"domain":"example.com","msftTenant":"example"}},"visibility":{"appLinks":{"login":true,"mail":false,"teams":false}}}`,
			wantMode:            "BROWSER_PLUGIN",
			wantCredentialsKeys: []string{"revealPassword", "scheme", "signing", "userNameTemplate"},
			wantLink:            "login",
		},
		"a catalog app Okta answers with no sign-on mode": {
			body:                `{"name":"deelhr","label":"Deel HR","signOnMode":"AUTO_LOGIN","settings":{"app":{}}}`,
			wantMode:            "",
			wantCredentialsKeys: []string{"signing", "userNameTemplate"},
			wantLink:            "deelhr_link",
		},
		"basic auth": {
			body:                `{"name":"template_basic_auth","label":"Router","signOnMode":"BASIC_AUTH","settings":{"app":{"url":"https://router.example.com","authURL":"https://router.example.com/auth"}}}`,
			wantMode:            "BASIC_AUTH",
			wantCredentialsKeys: []string{"revealPassword", "scheme", "signing", "userNameTemplate"},
			wantLink:            "login",
		},
		"bookmark": {
			body:                `{"name":"bookmark","label":"Docs","signOnMode":"BOOKMARK","settings":{"app":{"url":"https://docs.example.com"}}}`,
			wantMode:            "BOOKMARK",
			wantCredentialsKeys: []string{"signing", "userNameTemplate"},
			wantLink:            "login",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, base := org(t, emulator.Config{})
			resp, body := call(t, "POST", base+"/api/v1/apps", tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("create: %d %s", resp.StatusCode, body)
			}
			var created struct {
				ID          string                     `json:"id"`
				SignOnMode  string                     `json:"signOnMode"`
				Credentials map[string]json.RawMessage `json:"credentials"`
				Visibility  struct {
					AppLinks map[string]bool `json:"appLinks"`
				} `json:"visibility"`
			}
			if err := json.Unmarshal([]byte(body), &created); err != nil {
				t.Fatal(err)
			}
			if created.SignOnMode != tc.wantMode || tc.wantMode == "" && !strings.Contains(body, `"signOnMode":null`) {
				t.Errorf("signOnMode %q, want %q (null when empty)", created.SignOnMode, tc.wantMode)
			}
			if got := strings.Join(sortedKeys(created.Credentials), ","); got != strings.Join(tc.wantCredentialsKeys, ",") {
				t.Errorf("credentials keys %s, want %s", got, strings.Join(tc.wantCredentialsKeys, ","))
			}
			if !created.Visibility.AppLinks[tc.wantLink] {
				t.Errorf("app links %v, want %s", created.Visibility.AppLinks, tc.wantLink)
			}
			// Every app takes group assignments, and is listed with the rest.
			_, groups := call(t, "GET", base+"/api/v1/groups?q=Everyone", "")
			everyone := groups[strings.Index(groups, `"id":"`)+6:][:20]
			if resp, body := call(t, "PUT", base+"/api/v1/apps/"+created.ID+"/groups/"+everyone, `{}`); resp.StatusCode != http.StatusOK {
				t.Errorf("assigning a group: %d %s", resp.StatusCode, body)
			}
			if _, list := call(t, "GET", base+"/api/v1/apps?filter="+strings.ReplaceAll(`status eq "ACTIVE"`, " ", "%20"), ""); !strings.Contains(list, created.ID) {
				t.Errorf("the app is not listed: %s", list)
			}
		})
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

func TestOIDCClientSecretIsShownOnlyOnWrites(t *testing.T) {
	_, base := org(t, emulator.Config{})
	body := `{"name":"oidc_client","label":"Portal","signOnMode":"OPENID_CONNECT","settings":{"oauthClient":{"application_type":"web","grant_types":["authorization_code"]}}}`
	_, created := call(t, "POST", base+"/api/v1/apps", body)
	if !strings.Contains(created, `"client_secret":"`) {
		t.Fatalf("the create's answer has no client secret: %s", created)
	}
	id := created[strings.Index(created, `"id":"`)+6:][:20]
	if _, got := call(t, "GET", base+"/api/v1/apps/"+id, ""); strings.Contains(got, `"client_secret":`) || !strings.Contains(got, `"client_id":"`+id) {
		t.Errorf("a read shows the secret or lacks the client ID: %s", got)
	}
	if _, metadata := call(t, "GET", base+"/api/v1/apps/"+id+"/sso/saml/metadata", ""); !strings.Contains(metadata, "E0000007") {
		t.Errorf("an OIDC app has SAML metadata: %s", metadata)
	}
}

func TestAppRefusals(t *testing.T) {
	cases := map[string]struct {
		body, want string
	}{
		"unknown catalog name":           {`{"name":"no_such_app","label":"x","signOnMode":"SAML_2_0","settings":{}}`, "no app named no_such_app"},
		"catalog app in a mode it lacks": {`{"name":"bookmark","label":"x","signOnMode":"SAML_2_0","settings":{"app":{"url":"https://x.example.com"}}}`, "does not support SAML_2_0"},
		"custom app of a catalog mode":   {`{"label":"x","signOnMode":"OPENID_CONNECT","settings":{}}`, "must be SAML_2_0 or AUTO_LOGIN"},
		"OIDC client without grants":     {`{"name":"oidc_client","label":"x","signOnMode":"OPENID_CONNECT","settings":{"oauthClient":{"application_type":"web"}}}`, "grant_types"},
		"auto-login without a login URL": {`{"label":"x","signOnMode":"AUTO_LOGIN","settings":{"signOn":{}}}`, "loginUrl"},
		"password app of unknown scheme": {`{"name":"template_swa","label":"x","signOnMode":"BROWSER_PLUGIN","settings":{"app":{"url":"https://x.example.com"}},"credentials":{"scheme":"GUESS"}}`, "unknown scheme"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, base := org(t, emulator.Config{})
			resp, body := call(t, "POST", base+"/api/v1/apps", tc.body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "E0000001") || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want 400 E0000001 naming %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

func TestAnInactiveCustomSWAAppTakesNoSharedCredentials(t *testing.T) {
	_, base := org(t, emulator.Config{})
	body := `{"label":"Legacy","signOnMode":"AUTO_LOGIN","settings":{"signOn":{"loginUrl":"https://legacy.example.com/login"}}}`
	shared := `{"label":"Legacy","signOnMode":"AUTO_LOGIN","settings":{"signOn":{"loginUrl":"https://legacy.example.com/login"}},` +
		`"credentials":{"scheme":"SHARED_USERNAME_AND_PASSWORD","userName":"ops","password":{"value":"s3cret"}}}`
	_, created := call(t, "POST", base+"/api/v1/apps?activate=false", body)
	id := created[strings.Index(created, `"id":"`)+6:][:20]
	if resp, got := call(t, "PUT", base+"/api/v1/apps/"+id, body); resp.StatusCode != http.StatusOK {
		t.Errorf("an inactive app's update: %d %s", resp.StatusCode, got)
	}
	if resp, got := call(t, "PUT", base+"/api/v1/apps/"+id, shared); resp.StatusCode != http.StatusBadRequest || !strings.Contains(got, "E0000024") {
		t.Errorf("shared credentials on an inactive custom SWA app: %d %s, want 400 E0000024 as Okta answers", resp.StatusCode, got)
	}
	call(t, "POST", base+"/api/v1/apps/"+id+"/lifecycle/activate", "")
	resp, got := call(t, "PUT", base+"/api/v1/apps/"+id, shared)
	if resp.StatusCode != http.StatusOK || !strings.Contains(got, `"userName":"ops"`) || strings.Contains(got, "s3cret") {
		t.Errorf("shared credentials on the active app: %d %s (the user name answered, the password never)", resp.StatusCode, got)
	}
}

func TestAnswersFollowTheRelease(t *testing.T) {
	saml := `{"label":"Wiki","signOnMode":"SAML_2_0","settings":{"signOn":{"ssoAcsUrl":"https://wiki.example.com/acs","audience":"https://wiki.example.com"}}}`
	cases := map[string]struct {
		release                             string
		universalLogout, realmID, ownerLink bool
	}{
		"newest":  {"", true, true, true},
		"2025.03": {"2025.03", false, false, false},
		"2025.11": {"2025.11", true, false, false},
		"2025.12": {"2025.12", true, true, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, base := org(t, emulator.Config{Release: tc.release})
			_, app := call(t, "POST", base+"/api/v1/apps", saml)
			_, users := call(t, "POST", base+"/api/v1/users", `{"profile":{"login":"ann@example.com","email":"ann@example.com","firstName":"Ann","lastName":"Lee"}}`)
			_, group := call(t, "POST", base+"/api/v1/groups", `{"profile":{"name":"Engineering"}}`)
			for what, got := range map[string]bool{
				"universalLogout": strings.Contains(app, `"universalLogout"`) && strings.Contains(app, `"emOptInStatus"`),
				"realmId":         strings.Contains(users, `"realmId"`),
				"owners link":     strings.Contains(group, `"owners"`),
			} {
				want := map[string]bool{"universalLogout": tc.universalLogout, "realmId": tc.realmID, "owners link": tc.ownerLink}[what]
				if got != want {
					t.Errorf("%s present %t, want %t", what, got, want)
				}
			}
		})
	}
	if _, err := emulator.New(emulator.Config{Release: "2026-02"}); err == nil {
		t.Error("a release not written YYYY.MM was taken")
	}
}
