package controller_test

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
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dsig "github.com/russellhaering/goxmldsig"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// testSP is a service provider (crewjam/saml's samlsp) configured only from
// the connection Secret's files, reloaded when the test says so.
type testSP struct {
	url     *url.URL
	current atomic.Pointer[samlsp.Middleware]
}

func newTestSP() *testSP {
	// The SP checks assertion times on the suite's clock, like the org does.
	saml.TimeNow = clock.Now
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	sp := &testSP{url: &url.URL{Scheme: "http", Host: ln.Addr().String()}}
	mux := http.NewServeMux()
	mux.HandleFunc("/saml/", func(w http.ResponseWriter, r *http.Request) { sp.current.Load().ServeHTTP(w, r) })
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		sp.current.Load().RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims).Subject)
		})).ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	DeferCleanup(srv.Close)
	return sp
}

// reload configures the SP from the connection Secret, as a workload that
// watches it would.
func (sp *testSP) reload(ctx context.Context, namespace, name string) {
	var s corev1.Secret
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s)).To(Succeed())
	md, err := samlsp.ParseMetadata(s.Data["idp-metadata.xml"])
	Expect(err).NotTo(HaveOccurred())
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	m, err := samlsp.New(samlsp.Options{URL: *sp.url, EntityID: sp.url.String() + "/saml/metadata", Key: key, Certificate: cert,
		IDPMetadata: md, AllowIDPInitiated: true, DefaultRedirectURI: "/hello"})
	Expect(err).NotTo(HaveOccurred())
	sp.current.Store(m)
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

// login signs alice in from the Okta tile (IdP-initiated) and returns the
// subject the SP saw, or what went wrong.
func (sp *testSP) login(tileURL string) string {
	saml.Clock = dsig.NewFakeClockAt(clock.Now()) // certificate validity, on the suite's clock
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, tileURL, nil)
	req.SetBasicAuth("alice@example.com", userPassword)
	resp, err := browser.Do(req)
	Expect(err).NotTo(HaveOccurred())
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := formAction.FindStringSubmatch(string(page))
	if action == nil {
		return "no SAML response: " + string(page)
	}
	form := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(in[1], html.UnescapeString(in[2]))
	}
	// The SP's answer at its ACS tells: a redirect with a session cookie
	// when it accepted the assertion, 403 when not. (Its session token is
	// then checked on real time, which the suite's clock has left behind.)
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = browser.PostForm(html.UnescapeString(action[1]), form)
	Expect(err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "token" && resp.StatusCode == http.StatusFound {
			return jwtSubject(c.Value)
		}
	}
	return "the SP refused the response: " + resp.Status + " " + string(body)
}

// jwtSubject reads the sub claim of the SP's session token.
func jwtSubject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "not a session token"
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "not a session token"
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(payload, &claims)
	return claims.Sub
}

var _ = Describe("IdP signing key rotation", func() {
	It("keeps logins working at every phase for an SP that reloads the Secret", func() {
		ctx := context.Background()
		ensureSecrets(ctx, watchedNS)
		sp := newTestSP()
		app := newApp(watchedNS)
		app.Spec.ServiceProvider = &ssov1.ServiceProvider{EntityID: sp.url.String() + "/saml/metadata", ACSURL: ssov1.URL(sp.url.String() + "/saml/acs")}
		app.Spec.SignOn.AttributeStatements = nil
		app.Spec.SigningKey = ssov1.SigningKey{ValidityYears: 2}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		appID := get(ctx, app).Status.AppID
		group, err := oktaAPI.FindGroupByName(ctx, "Engineering")
		Expect(err).NotTo(HaveOccurred())
		_, err = oktaAPI.AssignGroup(ctx, appID, group.ID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())
		secretName := app.Name + "-saml"
		tile := func() string {
			var s corev1.Secret
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: secretName}, &s)).To(Succeed())
			return string(s.Data["idp-initiated-url"])
		}
		certsInSecret := func() int {
			var s corev1.Secret
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: secretName}, &s)).To(Succeed())
			return strings.Count(string(s.Data["idp.crt"]), "BEGIN CERTIFICATE")
		}

		By("Stable: one key")
		sp.reload(ctx, watchedNS, secretName)
		Expect(sp.login(tile())).To(Equal("alice@example.com"))
		oldKid := get(ctx, app).Status.SigningKey.ActiveKeyID

		By("Staged: inside rotateBefore, the successor is published beside the active key")
		clock.Advance(10*365*24*time.Hour - 20*24*time.Hour) // the first key lives 10 years; rotateBefore is 30 days
		requestReconcile(ctx, app)
		Eventually(func() ssov1.RotationPhase { return get(ctx, app).Status.SigningKey.RotationPhase }, "30s").Should(Equal(ssov1.RotationPhaseStaged))
		Expect(readyReason(ctx, app)).To(Equal("True/" + ssov1.KeyRotationPendingReason))
		Eventually(certsInSecret, "10s").Should(Equal(2))
		sp.reload(ctx, watchedNS, secretName)
		Expect(sp.login(tile())).To(Equal("alice@example.com"), "Okta still signs with the old key")
		nextKid := get(ctx, app).Status.SigningKey.NextKeyID
		Expect(nextKid).NotTo(BeEmpty())

		By("Promoted on the annotation: Okta signs with the new key, which the SP already trusts")
		update(ctx, app, func(a *ssov1.OktaSAMLApp) { a.Annotations[ssov1.PromoteSigningKeyAnnotation] = "now" })
		Eventually(func() string { return get(ctx, app).Status.SigningKey.ActiveKeyID }, "30s").Should(Equal(nextKid))
		oktaApp, err := oktaAPI.GetApp(ctx, appID)
		Expect(err).NotTo(HaveOccurred())
		Expect(oktaApp.Credentials.Signing.Kid).To(Equal(nextKid))
		Expect(sp.login(tile())).To(Equal("alice@example.com"), "the SP still has the Staged Secret")

		By("Retired: the old key is no longer published")
		Eventually(func() ssov1.RotationPhase { return get(ctx, app).Status.SigningKey.RotationPhase }, "30s").Should(Equal(ssov1.RotationPhaseStable))
		Eventually(certsInSecret, "10s").Should(Equal(1))
		Expect(get(ctx, app).Annotations).NotTo(HaveKey(ssov1.PromoteSigningKeyAnnotation), "the promotion request is one-shot")
		sp.reload(ctx, watchedNS, secretName)
		Expect(sp.login(tile())).To(Equal("alice@example.com"))
		Expect(get(ctx, app).Status.SigningKey.ActiveKeyID).NotTo(Equal(oldKid))
		events := func() string { return strings.Join(recorder.eventsFor(watchedNS, app.Name), "\n") }
		Eventually(events).Should(And(ContainSubstring("SigningKeyPromoted"), ContainSubstring("SigningKeyRetired")))
	})
})
