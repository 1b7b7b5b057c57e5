package browser

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/test/harness"
)

const password = "correct-horse-battery"

// slowWait is how long the slow person leaves the password form open:
// longer than crewjam's 90-second request cookie the example SP used to
// keep.
const slowWait = 100 * time.Second

// The local orgs and the example SP in a real browser; the hub answers
// like an Identity Engine org, the spoke like a Classic one. The SP is at
// https://localhost, the orgs at http://127.0.0.1: another site, so every
// flow crosses sites the way a real SP and Okta do, under Chromium's strict
// SameSite rules.
var _ = Describe("Signing in as a person does", Ordered, func() {
	var (
		browser          context.Context
		hubURL, spokeURL string
		spURL            string
		slow             *person
		slowStarted      time.Time
	)

	BeforeAll(func(ctx context.Context) {
		dir := GinkgoT().TempDir()
		hubURL = startOrg(dir, "hub", `groups: [{name: Engineering}, {name: Spoke users}]
users:
  - {login: alice@example.com, firstName: Alice, lastName: Smith, password: `+password+`, groups: [Engineering]}
  - {login: bob@example.com, firstName: Bob, lastName: Jones, password: `+password+`}
  - {login: carol@example.com, firstName: Carol, lastName: Diaz, password: `+password+`, groups: [Engineering]}
`)
		spokeURL = startOrg(dir, "spoke", `groups: [{name: Engineering}]
users:
  - {login: sam@example.com, firstName: Sam, lastName: Lee, password: `+password+`, groups: [Engineering]}
`, "--classic")
		harness.StartBinary(project+"cmd/manager", "--kubeconfig", apiServer.Kubeconfig, "--allow-loopback-targets",
			"--metrics-bind-address", "0", "--health-probe-bind-address", harness.FreeAddr())
		spAddr := harness.FreeAddr()
		_, spPort, _ := net.SplitHostPort(spAddr)
		spURL = "https://localhost:" + spPort

		By("the wiki in the hub (SLO on), bound to Engineering and the spoke's users; the hub app in the spoke, bound to its Engineering")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "browser-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		for name, url := range map[string]string{"okta-hub": hubURL, "okta-spoke": spokeURL} {
			Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name},
				StringData: map[string]string{"orgURL": url, "apiToken": apiToken}})).To(Succeed())
		}
		wiki := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "wiki"},
			Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-hub"}, Label: "Wiki",
				ServiceProvider: &ssov1.ServiceProvider{EntityID: spURL + "/saml/metadata", ACSURL: ssov1.URL(spURL + "/saml/acs"),
					SingleLogoutURL:    ssov1.URL(spURL + "/saml/slo"),
					SigningCertificate: &ssov1.SigningCertificate{Generate: &ssov1.GenerateCertificate{}}},
				SignOn: ssov1.SignOn{NameIDFormat: ssov1.NameIDFormatEmailAddress, UsernameTemplate: "${user.email}", RequestSignatureRequired: true,
					AttributeStatements: []ssov1.AttributeStatement{{Name: "displayName", Values: []string{`user.firstName + " " + user.lastName`}}}}}}
		objects := []client.Object{
			&ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "spoke"},
				Spec: ssov1.OktaSAMLIdentityProviderSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-hub"},
					SpokeAppRef:  &ssov1.LocalObjectReference{Name: "hub"},
					Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchJIT, Groups: []string{"Spoke users"}},
					SharedApps:   []ssov1.SharedApp{{Name: "wiki"}}}},
			&ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hub"},
				Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-spoke"}, Label: "Hub", Preconfigured: "okta_org2org",
					ServiceProvider: &ssov1.ServiceProvider{FromIdentityProviderRef: &ssov1.LocalObjectReference{Name: "spoke"}}}},
			&ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hub-engineering"},
				Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: "hub"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}}},
			wiki,
			&ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "wiki-people"},
				Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: "wiki"}, Subjects: []ssov1.Subject{
					{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}, {Kind: ssov1.SubjectKindGroup, Name: "Spoke users"}}}},
		}
		harness.ApplyAndWaitReady(ctx, k8s, objects)

		By("the example SP over HTTPS, configured from the wiki's connection Secret")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(wiki), wiki)).To(Succeed())
		secretDir := filepath.Join(dir, "wiki")
		harness.MountSecret(ctx, k8s, ns.Name, wiki.Status.ConnectionSecretName, secretDir)
		harness.SelfSignedCertificate(dir, "localhost")
		sp := harness.StartBinary(project+"examples/saml-sp", "--addr", spAddr, "--url", spURL, "--secret-dir", secretDir,
			"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-key-file", filepath.Join(dir, "tls.key"))
		Eventually(sp.Err, "30s").Should(gbytes.Say("serving"))

		browser = startChromium()

		By("a slow person opens the wiki and leaves the password form open while the others go on")
		slow = newPerson(browser)
		slow.open(spURL + "/pages/slow?tab=history")
		slow.types(`input[name="identifier"]`, "carol@example.com")
		slow.clicks(`input[data-type="save"]`)
		slow.sees(`input[name="credentials.passcode"]`)
		slowStarted = time.Now()
	})

	It("runs Chromium with the strict SameSite rule on: a cookie without SameSite stays home on a cross-site POST", func() {
		site := http.NewServeMux() // 127.0.0.1: sets a cookie as crewjam's default tracker did, then says whether a POST brought it
		site.HandleFunc("GET /set", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Add("Set-Cookie", "probe=1; Path=/")
			fmt.Fprint(w, "set")
		})
		site.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			_, err := r.Cookie("probe")
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<p id="cookie">%t</p>`, err == nil)
		})
		home := httptest.NewServer(site)
		DeferCleanup(home.Close)
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { // another site posts to it
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<form method="post" action="%s/echo"></form><script>document.forms[0].submit()</script>`, home.URL)
		}))
		DeferCleanup(other.Close)
		p := newPerson(browser)
		p.open(home.URL + "/set")
		p.open(strings.Replace(other.URL, "127.0.0.1", "localhost", 1))
		Expect(p.sees(`#cookie`)).To(Equal("false"), "Chromium's two-minute grace for such cookies is off")
	})

	It("signs in SP-initiated, on the identifier-first form, and lands on the page asked for", func() {
		alice := newPerson(browser)
		alice.open(spURL + "/reports/q3")
		Expect(alice.sees(`.okta-org`)).To(Equal("hub"), "the sign-in page names the org")
		Expect(alice.sees(`.okta-app`)).To(Equal("Wiki"), "and the app")
		alice.screenshot("signin-identify")
		alice.types(`input[name="identifier"]`, "alice@example.com")
		alice.clicks(`input[data-type="save"]`)
		Expect(alice.sees(`[data-se="identifier"]`)).To(Equal("alice@example.com"))
		alice.types(`input[name="credentials.passcode"]`, password)
		alice.screenshot("signin-password")
		alice.clicks(`input[data-type="save"][value="Verify"]`)
		Expect(alice.sees(`#subject`)).To(Equal("alice@example.com"))
		Expect(alice.sees(`#path`)).To(Equal("/reports/q3"), "the SP's request cookie crossed from the org's site")
		Expect(alice.sees(`#attributes`)).To(ContainSubstring("Alice Smith"))
		alice.screenshot("sp-signed-in")
	})

	It("says a wrong password is wrong, on the page", func() {
		alice := newPerson(browser)
		alice.open(spURL + "/")
		alice.signsInAtIdentityEngine("alice@example.com", "not-her-password")
		Expect(alice.sees(`.okta-form-infobox-error`)).To(Equal("Unable to sign in"))
		Expect(alice.sees(`[data-se="identifier"]`)).To(Equal("alice@example.com"))
		alice.screenshot("signin-error")
		alice.types(`input[name="credentials.passcode"]`, password)
		alice.clicks(`input[data-type="save"][value="Verify"]`)
		Expect(alice.sees(`#subject`)).To(Equal("alice@example.com"), "the right password next")
	})

	It("signs in IdP-initiated from My Apps, and Back to the sign-in page brings My Apps again", func() {
		alice := newPerson(browser)
		alice.open(hubURL + "/")
		Expect(alice.sees(`h2`)).To(Equal("Sign In"))
		alice.signsInAtIdentityEngine("alice@example.com", password)
		Expect(alice.sees(`#okta-user`)).To(Equal("alice@example.com"))
		Expect(alice.sees(`.app-tiles`)).To(ContainSubstring("Wiki"))
		alice.screenshot("my-apps")
		alice.goesBack(2) // past the password step to the sign-in page
		Expect(alice.sees(`body:not([data-left]) #okta-user`)).To(Equal("alice@example.com"), "signed in already: My Apps again, not an expired form")
		alice.clicksTile("Wiki")
		Expect(alice.sees(`#subject`)).To(Equal("alice@example.com"))
	})

	It("refuses a person the app is not assigned to, who signs out and signs in as someone it is", func() {
		bob := newPerson(browser)
		bob.open(spURL + "/reports/q4")
		bob.signsInAtIdentityEngine("bob@example.com", password)
		Expect(bob.sees(`#error-title`)).To(Equal("You can't access this app"))
		Expect(bob.sees(`#error-message`)).To(ContainSubstring("bob@example.com is not assigned to this application"))
		bob.screenshot("refused")
		bob.clicks(`#signout`)
		bob.signsInAtIdentityEngine("alice@example.com", password)
		Expect(bob.sees(`#subject`)).To(Equal("alice@example.com"), "the SP's request goes on with the other account")
		Expect(bob.sees(`#path`)).To(Equal("/reports/q4"))
	})

	It("signs out of the SP and of Okta with single logout", func() {
		alice := newPerson(browser)
		alice.open(spURL + "/")
		alice.signsInAtIdentityEngine("alice@example.com", password)
		Expect(alice.sees(`#subject`)).To(Equal("alice@example.com"))
		alice.clicks(`#signout`)
		Expect(alice.sees(`#signed-out`)).To(Equal("You are signed out of the Example SP and of Okta."))
		alice.screenshot("signed-out")
		alice.clicks(`#signin`)
		Expect(alice.sees(`h2`)).To(Equal("Sign In"), "Okta asks again: its session ended too")
		alice.open(hubURL + "/app/UserHome")
		Expect(alice.sees(`h2`)).To(Equal("Sign In"), "My Apps asks again")
	})

	It("signs a spoke user in to the hub's app from the spoke's tile, on the Classic widget's form", func() {
		sam := newPerson(browser)
		sam.open(spokeURL + "/")
		Expect(sam.sees(`.okta-org`)).To(Equal("spoke"))
		sam.types(`#okta-signin-username`, "sam@example.com")
		sam.types(`#okta-signin-password`, password)
		sam.screenshot("signin-classic")
		sam.clicks(`#okta-signin-submit`)
		Expect(sam.sees(`#okta-user`)).To(Equal("sam@example.com"))
		Eventually(func() string { // the tile follows the Org2Org app's binding within moments
			tiles := sam.sees(`.app-tiles`)
			if !strings.Contains(tiles, "Wiki") {
				sam.open(spokeURL + "/app/UserHome") // as a person reloads
			}
			return tiles
		}, "60s", "2s").Should(ContainSubstring("Wiki"))
		sam.screenshot("spoke-my-apps")
		sam.clicksTile("Wiki")
		Expect(sam.sees(`#subject`)).To(Equal("sam@example.com"), "through the hub, created there just in time")
	})

	It("signs in a person who left the password form open for 100 s", func() {
		if wait := slowWait - time.Since(slowStarted); wait > 0 {
			By("the slow person waits another " + wait.Round(time.Second).String())
			time.Sleep(wait)
		}
		slow.types(`input[name="credentials.passcode"]`, password)
		slow.clicks(`input[data-type="save"][value="Verify"]`)
		Expect(slow.sees(`#subject`)).To(Equal("carol@example.com"))
		Expect(slow.sees(`#path`)).To(Equal("/pages/slow?tab=history"), "the SP still knew what she asked for")
	})
})
