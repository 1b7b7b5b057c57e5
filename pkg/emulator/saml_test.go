package emulator_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// The emulator's IdP is tested with crewjam/saml's samlsp as a real service
// provider: it must accept the emulator's responses, and the emulator must
// accept its (signed) AuthnRequests.

const password = "correct-horse-battery"

type samlEnv struct {
	org    *emulator.Server
	client *okta.Client
	spURL  *url.URL
	sp     *samlsp.Middleware
	app    *okta.App
	spKey  *rsa.PrivateKey
	spCert *x509.Certificate
}

type appOption func(*okta.SAMLSignOn)

// newSAMLEnv starts an org with alice (in Engineering) and bob (in nothing),
// an SP, and a SAML app for the SP assigned to Engineering.
func newSAMLEnv(t *testing.T, opts ...appOption) *samlEnv {
	t.Helper()
	ctx := context.Background()
	org, err := emulator.New(emulator.Config{APIToken: "t", KeyBits: 2048, Seed: &emulator.Seed{
		Groups: []emulator.SeedGroup{{Name: "Engineering"}, {Name: "backup-admins"}},
		Users: []emulator.SeedUser{
			{Login: "alice@example.com", FirstName: "Alice", LastName: "Smith", Password: password, Groups: []string{"Engineering", "backup-admins"}},
			{Login: "bob@example.com", FirstName: "Bob", LastName: "Jones", Password: password},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewServer(org.Handler())
	t.Cleanup(idp.Close)
	org.SetBaseURL(idp.URL)
	client, err := okta.New(okta.Config{OrgURL: idp.URL, APIToken: "t", Budget: okta.NewBudget(100, nil)})
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	spURL, _ := url.Parse("http://" + ln.Addr().String())
	spKey, spCert := selfSignedSP(t)
	signOn := &okta.SAMLSignOn{
		SSOAcsURL: spURL.String() + "/saml/acs", Audience: spURL.String() + "/saml/metadata",
		SubjectNameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", SubjectNameIDTemplate: "${user.email}",
		ResponseSigned: true, AssertionSigned: true, SignatureAlgorithm: "RSA_SHA256", DigestAlgorithm: "SHA256",
		DefaultRelayState: "/hello",
		AttributeStatements: []okta.AttributeStatement{
			{Type: "EXPRESSION", Name: "displayName", Namespace: "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified", Values: []string{`user.firstName + " " + user.lastName`}},
			{Type: "EXPRESSION", Name: "insync_auth_token", Namespace: "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified", Values: []string{`"A-16620-secret"`}},
			{Type: "GROUP", Name: "groups", Namespace: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", FilterType: "STARTS_WITH", FilterValue: "backup-"},
		},
		SAMLSignedRequestEnabled: true,
		SPCertificate:            &okta.SPCertificate{X5c: []string{base64.StdEncoding.EncodeToString(spCert.Raw)}},
	}
	for _, o := range opts {
		o(signOn)
	}
	app, err := client.CreateApp(ctx, &okta.App{Label: "Backup Portal", SignOnMode: okta.SignOnModeSAML2, Settings: okta.AppSettings{SignOn: signOn}}, true)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := client.FindGroupByName(ctx, "Engineering")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AssignGroup(ctx, app.ID, eng.ID, okta.AppGroupAssignment{}); err != nil {
		t.Fatal(err)
	}
	mdXML, err := client.GetSAMLMetadata(ctx, app.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	idpMetadata, err := samlsp.ParseMetadata(mdXML)
	if err != nil {
		t.Fatalf("samlsp cannot read the emulator's metadata: %v", err)
	}
	sp, err := samlsp.New(samlsp.Options{
		URL: *spURL, EntityID: spURL.String() + "/saml/metadata", Key: spKey, Certificate: spCert,
		IDPMetadata: idpMetadata, SignRequest: true, AllowIDPInitiated: true, DefaultRedirectURI: "/hello",
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp)
	mux.Handle("/hello", sp.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
		_ = json.NewEncoder(w).Encode(map[string]any{"subject": claims.Subject, "attributes": claims.Attributes})
	})))
	spSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = spSrv.Serve(ln) }()
	t.Cleanup(func() { _ = spSrv.Close() })
	return &samlEnv{org: org, client: client, spURL: spURL, sp: sp, app: app, spKey: spKey, spCert: spCert}
}

func selfSignedSP(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// browser is a user agent with cookies that shows what it was last given.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) get(u string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

// submitForm posts the page's form, as a browser's auto-submit would, with
// extra fields filled in.
func (b *browser) submitForm(base, page string, extra url.Values) (int, string) {
	b.t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no form on the page:\n%s", page)
	}
	action, _ := url.Parse(html.UnescapeString(m[1]))
	target, _ := url.Parse(base)
	form := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], html.UnescapeString(in[2]))
	}
	for k, v := range extra {
		form[k] = v
	}
	return b.post(target.ResolveReference(action).String(), form)
}

// signIn answers the emulator's login form.
func (b *browser) signIn(env *samlEnv, page, login string) (int, string) {
	return b.submitForm(env.org.BaseURL(), page, url.Values{"username": {login}, "password": {password}})
}

type loginResult struct {
	Subject    string              `json:"subject"`
	Attributes map[string][]string `json:"attributes"`
}

func TestSPInitiatedLogin(t *testing.T) {
	for _, binding := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		t.Run(binding[strings.LastIndex(binding, ":")+1:], func(t *testing.T) {
			env := newSAMLEnv(t)
			env.sp.Binding = binding
			b := newBrowser(t)
			status, page := b.get(env.spURL.String() + "/hello")
			if binding == saml.HTTPPostBinding { // the SP answers with a form that posts the request
				status, page = b.submitForm(env.spURL.String(), page, nil)
			}
			if status != http.StatusOK || !strings.Contains(page, "Sign In") {
				t.Fatalf("expected the emulator's sign-in page, got %d:\n%s", status, page)
			}
			_, page = b.signIn(env, page, "alice@example.com")
			status, page = b.submitForm(env.spURL.String(), page, nil) // SAMLResponse to the SP's ACS
			if status != http.StatusOK {
				t.Fatalf("the SP refused the emulator's response: %d %s", status, page)
			}
			var got loginResult
			if err := json.Unmarshal([]byte(page), &got); err != nil {
				t.Fatalf("not signed in: %s", page)
			}
			if got.Subject != "alice@example.com" {
				t.Errorf("NameID = %q, want alice's email", got.Subject)
			}
			want := map[string][]string{"displayName": {"Alice Smith"}, "insync_auth_token": {"A-16620-secret"}, "groups": {"backup-admins"}}
			for name, values := range want {
				if strings.Join(got.Attributes[name], ",") != strings.Join(values, ",") {
					t.Errorf("attribute %s = %v, want %v", name, got.Attributes[name], values)
				}
			}

			// The IdP session is kept: a new SP session needs no password.
			idpURL, _ := url.Parse(env.org.BaseURL())
			jar, _ := cookiejar.New(nil)
			for _, c := range b.c.Jar.Cookies(idpURL) {
				if strings.HasPrefix(c.Name, "okta_emulator_sid") {
					jar.SetCookies(idpURL, []*http.Cookie{c})
				}
			}
			again := &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
			_, page = again.get(env.spURL.String() + "/hello")
			if binding == saml.HTTPPostBinding {
				_, page = again.submitForm(env.spURL.String(), page, nil)
			}
			if strings.Contains(page, "Sign In") || !strings.Contains(page, "SAMLResponse") {
				t.Errorf("with an IdP session the user was asked to sign in again:\n%s", page)
			}
		})
	}
}

func TestIdPInitiatedLogin(t *testing.T) {
	env := newSAMLEnv(t)
	b := newBrowser(t)
	tile := env.app.Links.AppLinks[0].Href
	req, _ := http.NewRequest(http.MethodGet, tile, nil)
	req.SetBasicAuth("alice@example.com", password) // the non-interactive sign-in for tests
	status, page := b.do(req)
	if status != http.StatusOK || !strings.Contains(page, "SAMLResponse") || !strings.Contains(page, `value="/hello"`) {
		t.Fatalf("the tile gave %d without a response carrying the default RelayState:\n%s", status, page)
	}
	status, page = b.submitForm(env.spURL.String(), page, nil)
	if status != http.StatusOK || !strings.Contains(page, "alice@example.com") {
		t.Fatalf("the SP refused the IdP-initiated response: %d %s", status, page)
	}
}

func TestIdPRefusals(t *testing.T) {
	tests := map[string]struct {
		options    []appOption
		unsignedSP bool
		login      string
		wantStatus int
		wantText   string
	}{
		"unsigned request when the app requires signatures": {
			unsignedSP: true, login: "alice@example.com", wantStatus: http.StatusBadRequest, wantText: "not signed",
		},
		"user not assigned": {
			login: "bob@example.com", wantStatus: http.StatusForbidden, wantText: "not assigned",
		},
		"request issuer is not the app's audience": {
			options: []appOption{func(so *okta.SAMLSignOn) { so.Audience = "https://someone-else.example.com" }},
			login:   "alice@example.com", wantStatus: http.StatusBadRequest, wantText: "issuer does not match",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := newSAMLEnv(t, tc.options...)
			if tc.unsignedSP {
				env.sp.ServiceProvider.SignatureMethod = ""
			}
			b := newBrowser(t)
			_, page := b.get(env.spURL.String() + "/hello")
			if !strings.Contains(page, "Sign In") {
				// A refused request is refused before sign-in.
				if !strings.Contains(page, tc.wantText) {
					t.Fatalf("got %q, want it to say %q", page, tc.wantText)
				}
				return
			}
			status, page := b.signIn(env, page, tc.login)
			if status != tc.wantStatus || !strings.Contains(page, tc.wantText) {
				t.Errorf("got %d %q, want %d saying %q", status, page, tc.wantStatus, tc.wantText)
			}
		})
	}
}

func TestSigningHonoursTheAppsSettings(t *testing.T) {
	tests := map[string]appOption{
		"assertion signed only": func(so *okta.SAMLSignOn) { so.ResponseSigned = false },
		"response signed only":  func(so *okta.SAMLSignOn) { so.AssertionSigned = false },
		"SHA-1 signatures":      func(so *okta.SAMLSignOn) { so.SignatureAlgorithm, so.DigestAlgorithm = "RSA_SHA1", "SHA1" },
	}
	for name, option := range tests {
		t.Run(name, func(t *testing.T) {
			env := newSAMLEnv(t, option)
			b := newBrowser(t)
			req, _ := http.NewRequest(http.MethodGet, env.app.Links.AppLinks[0].Href, nil)
			req.SetBasicAuth("alice@example.com", password)
			_, page := b.do(req)
			m := formInput.FindAllStringSubmatch(page, -1)
			var response []byte
			for _, in := range m {
				if in[1] == "SAMLResponse" {
					response, _ = base64.StdEncoding.DecodeString(html.UnescapeString(in[2]))
				}
			}
			doc := string(response)
			assertionSigned := strings.Contains(doc[strings.Index(doc, "<saml:Assertion"):], "<ds:Signature")
			responseSigned := strings.Index(doc, "<ds:Signature") < strings.Index(doc, "<saml:Assertion")
			so := env.app.Settings.SignOn
			if responseSigned != so.ResponseSigned || (assertionSigned && !so.AssertionSigned) {
				t.Errorf("response signed %v (want %v), assertion signed %v (want %v)", responseSigned, so.ResponseSigned, assertionSigned, so.AssertionSigned)
			}
			if so.SignatureAlgorithm == "RSA_SHA1" && !strings.Contains(doc, "rsa-sha1") {
				t.Error("the signature is not RSA-SHA1")
			}
			status, body := b.submitForm(env.spURL.String(), page, nil)
			if status != http.StatusOK || !strings.Contains(body, "alice@example.com") {
				t.Errorf("the SP refused it: %d %s", status, body)
			}
		})
	}
}
