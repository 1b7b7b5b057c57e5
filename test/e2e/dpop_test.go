package e2e

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// OAuth service apps as Okta makes them now: one that requires DPoP (the
// default) and one that does not, through the built manager and the built
// local org. The operator finds out which by itself.
var _ = Describe("OAuth with DPoP through the built binaries", func() {
	It("brings apps to Ready through a service app that requires DPoP and one that does not, and follows a new nonce", func(ctx context.Context) {
		dir := GinkgoT().TempDir()
		key, err := rsa.GenerateKey(cryptorand.Reader, 2048)
		Expect(err).NotTo(HaveOccurred())
		pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		Expect(err).NotTo(HaveOccurred())
		pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		scopes := []string{"okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.idps.manage", "okta.logs.read"}
		noDPoP := false
		seed, err := json.Marshal(emulator.Seed{ServiceApps: []emulator.SeedServiceApp{
			{ClientID: "0oaDPoPRequired", PublicKeyPEM: pub, Scopes: scopes},
			{ClientID: "0oaBearerOnly", PublicKeyPEM: pub, Scopes: scopes, DPoPBoundAccessTokens: &noDPoP},
		}})
		Expect(err).NotTo(HaveOccurred())
		orgURL := startLocalOrg(dir, string(seed)) // JSON is YAML

		platform := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-dpop-platform-"}}
		Expect(k8s.Create(ctx, platform)).To(Succeed())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platform.Name, Name: "okta-service-app"},
			Data: map[string][]byte{"key.pem": keyPEM}})).To(Succeed())
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(), "--cluster-resource-namespace", platform.Name)
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		team := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-dpop-team-"}}
		Expect(k8s.Create(ctx, team)).To(Succeed())

		orgFor := func(clientID string) *ssov1.ClusterOktaOrg {
			o := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "dpop-" + strings.ToLower(clientID[3:]) + "-" + rand.String(4)},
				Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(orgURL),
					Credentials: ssov1.OrgCredentials{OAuth: &ssov1.OAuthCredentials{ClientID: clientID,
						PrivateKey: ssov1.SecretKeySelector{Name: "okta-service-app", Key: "key.pem"}}}}}}
			Expect(k8s.Create(ctx, o)).To(Succeed())
			DeferCleanup(func() { // before the manager stops, so it releases the org's finalizer
				Expect(k8s.Delete(context.Background(), o)).To(Succeed())
				Eventually(func() error { return k8s.Get(context.Background(), client.ObjectKeyFromObject(o), o) }, "30s").ShouldNot(Succeed())
			})
			return o
		}
		appThrough := func(org *ssov1.ClusterOktaOrg, name string) *ssov1.OktaSAMLApp {
			app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: team.Name, Name: name}, Spec: ssov1.OktaSAMLAppSpec{
				OrgRef: ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(org.Name)}, Label: "DPoP " + name,
				ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://" + name + ".example.com/saml", ACSURL: ssov1.URL("https://" + name + ".example.com/acs")}}}
			Expect(k8s.Create(ctx, app)).To(Succeed())
			return app
		}
		orgStatus := func(o *ssov1.ClusterOktaOrg) func(Gomega) ssov1.OktaOrgStatus {
			return func(g Gomega) ssov1.OktaOrgStatus {
				got := &ssov1.ClusterOktaOrg{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed())
				return got.Status
			}
		}

		required, bearer := orgFor("0oaDPoPRequired"), orgFor("0oaBearerOnly")
		withDPoP, withBearer := appThrough(required, "with-dpop"), appThrough(bearer, "with-bearer")
		for _, app := range []*ssov1.OktaSAMLApp{withDPoP, withBearer} {
			Eventually(func() string { return readyOf(ctx, app) }, "60s").Should(Equal("True/"+ssov1.ReconcileSucceededReason), app.Name)
		}
		Eventually(func(g Gomega) {
			s := orgStatus(required)(g)
			g.Expect(s.AuthMethod).To(Equal(ssov1.AuthMethodOAuth))
			g.Expect(s.DPoP).To(BeTrue(), "the service app requires DPoP")
			g.Expect(s.Scopes).To(ContainElement("okta.apps.manage"))
		}, "30s").Should(Succeed())
		Eventually(func(g Gomega) { g.Expect(orgStatus(bearer)(g).DPoP).To(BeFalse()) }, "30s").Should(Succeed())

		By("Okta gives out a new nonce mid-run: the next change still lands")
		resp, err := http.Post(orgURL+"/emulator/dpop-nonce", "application/json", nil)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Eventually(func() error {
			current := &ssov1.OktaSAMLApp{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(withDPoP), current); err != nil {
				return err
			}
			current.Spec.Label = "DPoP after a new nonce"
			return k8s.Update(ctx, current)
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			current := &ssov1.OktaSAMLApp{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(withDPoP), current)).To(Succeed())
			g.Expect(current.Status.ObservedGeneration).To(Equal(current.Generation))
			g.Expect(readyOf(ctx, withDPoP)).To(Equal("True/" + ssov1.ReconcileSucceededReason))
		}, "60s").Should(Succeed())
		stats := emulatorStats(orgURL)
		Expect(stats.RouteStatuses["PUT /api/v1/apps/{appID}"]).To(HaveKeyWithValue("200", BeNumerically(">=", 1)))
		Expect(stats.RouteStatuses["POST /oauth2/v1/token"]["200"]).To(Equal(2), "one token for each service app: the orgs' status writes make no new client")
		refusedForNonce := 0
		for _, byStatus := range stats.RouteStatuses {
			refusedForNonce += byStatus["401"]
		}
		Expect(refusedForNonce).To(BeNumerically(">=", 1), "a request with the old nonce was refused, then sent again with the new one: %v", stats.RouteStatuses)

		for _, app := range []*ssov1.OktaSAMLApp{withDPoP, withBearer} {
			Expect(k8s.Delete(ctx, app)).To(Succeed())
			Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(app), app) }, "60s").ShouldNot(Succeed())
		}
	})
})

// emulatorStats reads the local org's request counts.
func emulatorStats(orgURL string) emulator.Stats {
	resp, err := http.Get(orgURL + "/emulator/stats")
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var st emulator.Stats
	Expect(json.NewDecoder(resp.Body).Decode(&st)).To(Succeed())
	return st
}
