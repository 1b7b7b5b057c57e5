package e2e

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/test/harness"
)

var _ = Describe("Hub and spoke through the built binaries", func() {
	It("signs a spoke user in to a hub app through the spoke's bookmark, created just in time in the hub", func(ctx context.Context) {
		dir := GinkgoT().TempDir()

		By("two local Okta orgs, the manager, and the hub app's SP address")
		hubURL := startNamedOrg(dir, "hub", "groups: [{name: Spoke users}]\n")
		spokeURL := startNamedOrg(dir, "spoke", `groups: [{name: Engineering}]
users:
  - {login: alice@example.com, firstName: Alice, lastName: Smith, password: `+e2ePassword+`, groups: [Engineering]}
  - {login: carol@corp.example, firstName: Carol, lastName: Diaz, password: `+e2ePassword+`, groups: [Engineering]}
  - {login: dave@example.com, firstName: Dave, lastName: Lee, password: `+e2ePassword+`, groups: [Engineering]}
`)
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		spAddr := freeAddr()
		spURL := "http://" + spAddr

		By("one apply: the hub's IdP, the spoke's Org2Org app, the hub app, and a binding on each side")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-federation-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		for name, url := range map[string]string{"okta-hub": hubURL, "okta-spoke": spokeURL} {
			Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name},
				StringData: map[string]string{"orgURL": url, "apiToken": e2eToken}})).To(Succeed())
		}
		objects := []client.Object{
			&ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "spoke"},
				Spec: ssov1.OktaSAMLIdentityProviderSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-hub"},
					SpokeAppRef: &ssov1.LocalObjectReference{Name: "hub"}, UsernameFilter: `^[a-z.]+@example\.com$`,
					Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchJIT, Groups: []string{"Spoke users"}},
					SharedApps:   []ssov1.SharedApp{{Name: "wiki"}}}},
			&ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hub"},
				Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-spoke"}, Label: "Hub", Preconfigured: "okta_org2org",
					ServiceProvider: &ssov1.ServiceProvider{FromIdentityProviderRef: &ssov1.LocalObjectReference{Name: "spoke"}}}},
			&ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hub-engineering"},
				Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: "hub"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}}},
			&ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "wiki"},
				Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-hub"}, Label: "Wiki",
					ServiceProvider: &ssov1.ServiceProvider{EntityID: spURL + "/saml/metadata", ACSURL: ssov1.URL(spURL + "/saml/acs"),
						SigningCertificate: &ssov1.SigningCertificate{Generate: &ssov1.GenerateCertificate{}}},
					SignOn: ssov1.SignOn{NameIDFormat: ssov1.NameIDFormatEmailAddress, UsernameTemplate: "${user.email}"}}},
			&ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "wiki-spoke-users"},
				Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: "wiki"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Spoke users"}}}},
		}
		harness.ApplyAndWaitReady(ctx, k8s, objects)

		By("the hub app's SP, from its connection Secret")
		wiki := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "wiki"}, wiki)).To(Succeed())
		wikiSecret := mountSecret(ctx, ns.Name, wiki.Status.ConnectionSecretName, filepath.Join(dir, "wiki"))
		sp := startBinary("github.com/oktaop/okta-sso-operator/examples/saml-sp", "--addr", spAddr, "--url", spURL, "--secret-dir", filepath.Join(dir, "wiki"))
		Eventually(sp.Err, "30s").Should(gbytes.Say("serving"))

		By("alice clicks the wiki's tile in the spoke: a bookmark the operator made, to the spoke's SSO URL with the wiki's embed link as RelayState")
		hub := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "hub"}, hub)).To(Succeed())
		hubSecret := mountSecret(ctx, ns.Name, hub.Status.ConnectionSecretName, filepath.Join(dir, "hub"))
		idp := &ssov1.OktaSAMLIdentityProvider{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "spoke"}, idp)).To(Succeed())
		Expect(idp.Status.SharedApps).To(HaveLen(1))
		spokeAPI, err := okta.New(okta.Config{OrgURL: spokeURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())
		tile, err := spokeAPI.GetApp(ctx, idp.Status.SharedApps[0].BookmarkAppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(tile.Settings.App["url"]).To(Equal(string(hubSecret.Data["idp-sso-url"]) + "?RelayState=" + url.QueryEscape(string(wikiSecret.Data["idp-initiated-url"]))))
		bookmark := tile.Links.AppLinks[0].Href
		loginBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/hack/saml-login")
		Expect(err).NotTo(HaveOccurred())
		signIn := func(login string) (string, error) {
			out, err := exec.Command(loginBin, "--start", bookmark, "--basic", "--user", login, "--password", e2ePassword).CombinedOutput()
			return string(out), err
		}
		out, err := signIn("alice@example.com")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(`"subject":"alice@example.com"`), "the wiki's SP received the spoke user")

		By("carol's transformed username fails the hub's filter: refused by the hub")
		out, err = signIn("carol@corp.example")
		Expect(err).To(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("does not match the identity provider's filter"))

		By("the spoke's signing key rotated and promoted: the hub follows it, and alice still signs in")
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "spoke"}, idp)).To(Succeed())
		trusted := idp.Status.TrustedCertificate.SHA256Fingerprint
		annotate(ctx, hub, ssov1.RotateSigningKeyAnnotation, "rotate-1")
		Eventually(func() ssov1.RotationPhase {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(hub), hub)).To(Succeed())
			return hub.Status.SigningKey.RotationPhase
		}, "30s").Should(Equal(ssov1.RotationPhaseStaged))
		out, err = signIn("alice@example.com")
		Expect(err).NotTo(HaveOccurred(), "Staged: the spoke still signs with the key the hub trusts: "+out)
		nextKid := hub.Status.SigningKey.NextKeyID
		annotate(ctx, hub, ssov1.PromoteSigningKeyAnnotation, "promote-1")
		Eventually(func() string {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(hub), hub)).To(Succeed())
			return hub.Status.SigningKey.ActiveKeyID
		}, "30s").Should(Equal(nextKid))
		out, err = signIn("alice@example.com")
		Expect(err).NotTo(HaveOccurred(), "the moment the spoke signs with its new key, the hub trusts it (moved just before the promotion): "+out)
		Expect(out).To(ContainSubstring(`"subject":"alice@example.com"`))
		Eventually(func() string {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(idp), idp)).To(Succeed())
			return idp.Status.TrustedCertificate.SHA256Fingerprint
		}, "30s").ShouldNot(Equal(trusted), "the IdP's status follows")

		By("with just-in-time provisioning off, a spoke user the hub does not know is refused")
		Eventually(func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(idp), idp)).To(Succeed())
			idp.Spec.Provisioning.IfNoMatch = ssov1.IfNoMatchRedirect
			return k8s.Update(ctx, idp)
		}).Should(Succeed())
		Eventually(func() int64 { // a Throttled write waits for the org's window to turn: up to a minute
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(idp), idp)).To(Succeed())
			return idp.Status.ObservedGeneration
		}, "90s").Should(Equal(idp.Generation))
		out, err = signIn("dave@example.com")
		Expect(err).To(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("JIT is off"))
		out, err = signIn("alice@example.com")
		Expect(err).NotTo(HaveOccurred(), "a user the hub created earlier still signs in: "+out)
	})
})
