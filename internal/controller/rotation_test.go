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

// tileURL is the IdP-initiated login URL in an app's connection Secret.
func tileURL(ctx context.Context, secretName string) string {
	var s corev1.Secret
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: secretName}, &s)).To(Succeed())
	return string(s.Data["idp-initiated-url"])
}

// certsIn counts the signing certificates a connection Secret publishes.
func certsIn(ctx context.Context, secretName string) int {
	var s corev1.Secret
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: secretName}, &s)).To(Succeed())
	return strings.Count(string(s.Data["idp.crt"]), "BEGIN CERTIFICATE")
}

// assignEngineering lets alice (in Engineering) sign in to the app.
func assignEngineering(ctx context.Context, appID string) {
	group, err := oktaAPI.FindGroupByName(ctx, "Engineering")
	Expect(err).NotTo(HaveOccurred())
	_, err = oktaAPI.AssignGroup(ctx, appID, group.ID, okta.AppGroupAssignment{})
	Expect(err).NotTo(HaveOccurred())
}

// annotate sets one annotation on the app, as kubectl annotate --overwrite.
func annotate(ctx context.Context, app *ssov1.OktaSAMLApp, key, value string) {
	update(ctx, app, func(a *ssov1.OktaSAMLApp) {
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		a.Annotations[key] = value
	})
}

// spApp is an app for the in-process SP, its keys valid for validityYears.
func spApp(sp *testSP, validityYears int32) *ssov1.OktaSAMLApp {
	app := newApp(watchedNS)
	app.Spec.ServiceProvider = &ssov1.ServiceProvider{EntityID: sp.url.String() + "/saml/metadata", ACSURL: ssov1.URL(sp.url.String() + "/saml/acs")}
	app.Spec.SignOn.AttributeStatements = nil
	app.Spec.SigningKey = ssov1.SigningKey{ValidityYears: validityYears}
	return app
}

func rotationPhase(ctx context.Context, app *ssov1.OktaSAMLApp) func() ssov1.RotationPhase {
	return func() ssov1.RotationPhase { return get(ctx, app).Status.SigningKey.RotationPhase }
}

var _ = Describe("IdP signing key rotation", func() {
	It("keeps logins working at every phase for an SP that reloads the Secret", func() {
		ctx := context.Background()
		ensureSecrets(ctx, watchedNS)
		sp := newTestSP()
		app := spApp(sp, 2)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		appID := get(ctx, app).Status.AppID
		assignEngineering(ctx, appID)
		secretName := app.Name + "-saml"
		tile := func() string { return tileURL(ctx, secretName) }
		certsInSecret := func() int { return certsIn(ctx, secretName) }

		By("Stable: one key")
		sp.reload(ctx, watchedNS, secretName)
		Expect(sp.login(tile())).To(Equal("alice@example.com"))
		oldKid := get(ctx, app).Status.SigningKey.ActiveKeyID

		By("Staged: inside rotateBefore, the successor is published beside the active key")
		clock.Advance(10*365*24*time.Hour - 20*24*time.Hour) // the first key lives 10 years; rotateBefore is 30 days
		requestReconcile(ctx, app)
		Eventually(rotationPhase(ctx, app), "30s").Should(Equal(ssov1.RotationPhaseStaged))
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
		Eventually(rotationPhase(ctx, app), "30s").Should(Equal(ssov1.RotationPhaseStable))
		Eventually(certsInSecret, "10s").Should(Equal(1))
		Expect(get(ctx, app).Annotations).To(HaveKeyWithValue(ssov1.PromoteSigningKeyAnnotation, "now"), "a request annotation is never removed")
		Expect(get(ctx, app).Status.LastHandledPromoteAt).To(Equal("now"), "the handled request is echoed in status")
		sp.reload(ctx, watchedNS, secretName)
		Expect(sp.login(tile())).To(Equal("alice@example.com"))
		Expect(get(ctx, app).Status.SigningKey.ActiveKeyID).NotTo(Equal(oldKid))
		events := func() string { return strings.Join(recorder.eventsFor(watchedNS, app.Name), "\n") }
		Eventually(events).Should(And(ContainSubstring("SigningKeyPromoted"), ContainSubstring("SigningKeyRetired")))
	})

	It("rotates on request, and a request already handled does nothing again", func() {
		ctx := context.Background()
		ensureSecrets(ctx, watchedNS)
		sp := newTestSP()
		app := spApp(sp, 10)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		appID := get(ctx, app).Status.AppID
		assignEngineering(ctx, appID)
		secretName := app.Name + "-saml"
		login := func() string {
			sp.reload(ctx, watchedNS, secretName)
			return sp.login(tileURL(ctx, secretName))
		}
		Expect(login()).To(Equal("alice@example.com"))
		oldKid := get(ctx, app).Status.SigningKey.ActiveKeyID

		By("a promote request with nothing staged is handled and changes nothing")
		annotate(ctx, app, ssov1.PromoteSigningKeyAnnotation, "p1")
		Eventually(func() string { return get(ctx, app).Status.LastHandledPromoteAt }, "30s").Should(Equal("p1"))
		Expect(get(ctx, app).Status.SigningKey.ActiveKeyID).To(Equal(oldKid))
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring("NothingToPromote")))

		By("Staged at once on the rotate annotation, ten years from expiry")
		clock.Advance(time.Hour) // Okta orders keys by creation time
		annotate(ctx, app, ssov1.RotateSigningKeyAnnotation, "r1")
		Eventually(rotationPhase(ctx, app), "30s").Should(Equal(ssov1.RotationPhaseStaged))
		Expect(get(ctx, app).Status.LastHandledRotateAt).To(Equal("r1"))
		Eventually(func() int { return certsIn(ctx, secretName) }, "10s").Should(Equal(2))
		Expect(login()).To(Equal("alice@example.com"), "Okta still signs with the old key")
		nextKid := get(ctx, app).Status.SigningKey.NextKeyID

		By("the old promote request (p1) does not promote the new key: it waits for promoteAfter")
		token := requestReconcile(ctx, app)
		Eventually(handled(ctx, app), "30s").Should(Equal(token))
		Expect(get(ctx, app).Status.SigningKey.RotationPhase).To(Equal(ssov1.RotationPhaseStaged))

		By("Promoted after promoteAfter, then Retired, with logins working")
		clock.Advance(8 * 24 * time.Hour)
		requestReconcile(ctx, app)
		Eventually(func() string { return get(ctx, app).Status.SigningKey.ActiveKeyID }, "30s").Should(Equal(nextKid))
		Expect(sp.login(tileURL(ctx, secretName))).To(Equal("alice@example.com"), "the SP trusts the new key from the Staged Secret")
		Eventually(rotationPhase(ctx, app), "30s").Should(Equal(ssov1.RotationPhaseStable))
		Eventually(func() int { return certsIn(ctx, secretName) }, "10s").Should(Equal(1))
		Expect(login()).To(Equal("alice@example.com"))

		By("the handled rotate request (r1) still on the object starts nothing, after a reconcile as after a restart")
		keysBefore, err := oktaAPI.ListAppKeys(ctx, appID)
		Expect(err).NotTo(HaveOccurred())
		token = requestReconcile(ctx, app)
		Eventually(handled(ctx, app), "30s").Should(Equal(token))
		keysAfter, err := oktaAPI.ListAppKeys(ctx, appID)
		Expect(err).NotTo(HaveOccurred())
		Expect(keysAfter).To(HaveLen(len(keysBefore)), "no key generated for a handled request")
		got := get(ctx, app)
		Expect(got.Status.SigningKey.RotationPhase).To(Equal(ssov1.RotationPhaseStable))
		Expect(got.Annotations).To(HaveKeyWithValue(ssov1.RotateSigningKeyAnnotation, "r1"), "the operator never removes a request annotation")
		Expect(got.Annotations).To(HaveKeyWithValue(ssov1.PromoteSigningKeyAnnotation, "p1"))
	})
})
