package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/test/harness"
)

const (
	e2eToken    = "00E2eTokenForTheLocalOrg-91c2"
	e2ePassword = "correct-horse-battery"
)

// startBinary builds a main package and runs it.
func startBinary(pkg string, args ...string) *gexec.Session { return harness.StartBinary(pkg, args...) }

// startLocalOrg runs the built okta-emulator with the seed (YAML) and
// returns the org's URL.
func startLocalOrg(dir, seed string) string { return startNamedOrg(dir, "acme", seed) }

// startNamedOrg runs a local Okta org of that name (a hub and a spoke need
// two), with any further flags, and returns its URL.
func startNamedOrg(dir, name, seed string, flags ...string) string {
	path := filepath.Join(dir, name+"-seed.yaml")
	Expect(os.WriteFile(path, []byte(seed), 0o600)).To(Succeed())
	emu := startBinary("github.com/oktaop/okta-sso-operator/cmd/okta-emulator",
		append([]string{"--api-token", e2eToken, "--seed", path, "--org-name", name}, flags...)...)
	Eventually(emu.Out, "30s").Should(gbytes.Say(`http://127\.0\.0\.1:\d+`))
	return regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(string(emu.Out.Contents()))
}

// mountSecret writes a Secret's files into dir, as a Secret volume would,
// and returns the Secret.
func mountSecret(ctx context.Context, namespace, name, dir string) *corev1.Secret {
	return harness.MountSecret(ctx, k8s, namespace, name, dir)
}

// annotate sets one annotation on an object, as kubectl annotate
// --overwrite does.
func annotate(ctx context.Context, obj client.Object, key, value string) {
	Eventually(func() error {
		current := obj.DeepCopyObject().(client.Object)
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
			return err
		}
		annotations := current.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[key] = value
		current.SetAnnotations(annotations)
		return k8s.Update(ctx, current)
	}).Should(Succeed())
}

var _ = Describe("A real SAML login through an OktaSAMLApp", Ordered, func() {
	It("signs in SP-initiated (signed AuthnRequests) and IdP-initiated, configured only from the connection Secret", func(ctx context.Context) {
		dir := GinkgoT().TempDir()
		seed := `groups: [{name: Engineering}, {name: Contractors}]
users:
  - {login: alice@example.com, firstName: Alice, lastName: Smith, password: ` + e2ePassword + `, groups: [Engineering]}
  - {login: bob@example.com, firstName: Bob, lastName: Jones, password: ` + e2ePassword + `}
accessPolicies: [{name: Engineering apps, description: Two factors for engineering tools}]
`

		By("the local Okta org, the manager and the example SP's address")
		orgURL := startLocalOrg(dir, seed)
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		spAddr := freeAddr()
		spURL := "http://" + spAddr

		By("an OktaSAMLApp for the SP, with a generated SP key pair and signed requests")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-saml-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "okta-org"},
			StringData: map[string]string{"orgURL": orgURL, "apiToken": e2eToken}})).To(Succeed())
		app := &ssov1.OktaSAMLApp{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "example-sp"},
			Spec: ssov1.OktaSAMLAppSpec{
				OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: "Example SP",
				ServiceProvider: &ssov1.ServiceProvider{
					EntityID: spURL + "/saml/metadata", ACSURL: ssov1.URL(spURL + "/saml/acs"),
					SigningCertificate: &ssov1.SigningCertificate{Generate: &ssov1.GenerateCertificate{
						Validity: metav1.Duration{Duration: 24 * 365 * time.Hour}, RenewBefore: metav1.Duration{Duration: 30 * 24 * time.Hour}}},
				},
				SignOn: ssov1.SignOn{
					NameIDFormat: ssov1.NameIDFormatEmailAddress, UsernameTemplate: "${user.email}", RequestSignatureRequired: true,
					AuthenticationPolicy: &ssov1.PolicyReference{Name: "Engineering apps"},
					AttributeStatements:  []ssov1.AttributeStatement{{Name: "displayName", Values: []string{`user.firstName + " " + user.lastName`}}},
				},
				IDPInitiated: ssov1.IDPInitiated{DefaultRelayState: "/"},
			},
		}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func(g Gomega) {
			got := &ssov1.OktaSAMLApp{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), got)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue(), "%v", got.Status.Conditions)
		}, "60s").Should(Succeed())

		By("the app under the sign-on policy the spec names")
		c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())
		got := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), got)).To(Succeed())
		oktaApp, err := c.GetApp(ctx, got.Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Status.AuthenticationPolicy).NotTo(BeNil())
		Expect(oktaApp.AccessPolicyID()).To(Equal(got.Status.AuthenticationPolicy.ID))
		Expect(got.Status.AuthenticationPolicy.Name).To(Equal("Engineering apps"))

		By("Engineering bound to the app with an SSOBinding")
		binding := &ssov1.SSOBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "engineering"},
			Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: "example-sp"},
				Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}},
		}
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		bindingReady := func(g Gomega) {
			b := &ssov1.SSOBinding{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(binding), b)).To(Succeed())
			g.Expect(b.Status.ObservedGeneration).To(Equal(b.Generation))
			g.Expect(meta.IsStatusConditionTrue(b.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue(), "%v", b.Status.Conditions)
		}
		Eventually(bindingReady, "60s").Should(Succeed())

		By("the example SP, configured from the connection Secret's files")
		secretDir := filepath.Join(dir, "secret")
		secret := mountSecret(ctx, ns.Name, got.Status.ConnectionSecretName, secretDir)
		sp := startBinary("github.com/oktaop/okta-sso-operator/examples/saml-sp", "--addr", spAddr, "--url", spURL, "--secret-dir", secretDir)
		Eventually(sp.Err, "30s").Should(gbytes.Say("serving"))

		By("SP-initiated: the SP sends a signed AuthnRequest; alice signs in on the org's form")
		loginBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/hack/saml-login")
		Expect(err).NotTo(HaveOccurred())
		spLogin := func() string {
			out, err := exec.Command(loginBin, "--start", spURL+"/", "--user", "alice@example.com", "--password", e2ePassword).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			return string(out)
		}
		out := spLogin()
		Expect(out).To(ContainSubstring(`"subject":"alice@example.com"`))
		Expect(out).To(ContainSubstring(`"displayName":["Alice Smith"]`))

		By("IdP-initiated: from the app tile, with the default RelayState")
		idpOut, err := exec.Command(loginBin, "--start", string(secret.Data["idp-initiated-url"]), "--basic",
			"--user", "alice@example.com", "--password", e2ePassword).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(idpOut))
		Expect(string(idpOut)).To(ContainSubstring(`"subject":"alice@example.com"`))

		By("bob, in no bound group, is refused")
		refused, err := exec.Command(loginBin, "--start", spURL+"/", "--user", "bob@example.com", "--password", e2ePassword).CombinedOutput()
		Expect(err).To(HaveOccurred(), string(refused))
		Expect(string(refused)).To(ContainSubstring("not assigned to this application"))
		Expect(string(refused)).NotTo(ContainSubstring(`"subject"`))

		By("rotate now: a staged rotation on request, logins working in every phase")
		current := func() *ssov1.OktaSAMLApp {
			a := &ssov1.OktaSAMLApp{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), a)).To(Succeed())
			return a
		}
		phase := func() ssov1.RotationPhase { return current().Status.SigningKey.RotationPhase }
		oldKid := current().Status.SigningKey.ActiveKeyID
		annotate(ctx, app, ssov1.RotateSigningKeyAnnotation, "2026-12-01T10:00:00Z")
		Eventually(phase, "30s").Should(Equal(ssov1.RotationPhaseStaged))
		Expect(current().Status.LastHandledRotateAt).To(Equal("2026-12-01T10:00:00Z"))
		nextKid := current().Status.SigningKey.NextKeyID
		publishedCerts := func() int {
			return strings.Count(string(mountSecret(ctx, ns.Name, got.Status.ConnectionSecretName, secretDir).Data["idp.crt"]), "BEGIN CERTIFICATE")
		}
		Eventually(publishedCerts, "30s").Should(Equal(2), "both certificates published")
		Expect(spLogin()).To(ContainSubstring(`"subject":"alice@example.com"`), "Staged: Okta signs with the old key")

		By("promoted on request: Okta signs with the new key the SP already trusts; then the old key retires")
		annotate(ctx, app, ssov1.PromoteSigningKeyAnnotation, "2026-12-01T10:05:00Z")
		Eventually(func() string { return current().Status.SigningKey.ActiveKeyID }, "30s").Should(Equal(nextKid))
		Expect(spLogin()).To(ContainSubstring(`"subject":"alice@example.com"`), "Promoted: the SP still has the Staged Secret")
		Eventually(phase, "30s").Should(Equal(ssov1.RotationPhaseStable))
		Eventually(publishedCerts, "30s").Should(Equal(1))
		Expect(spLogin()).To(ContainSubstring(`"subject":"alice@example.com"`), "Retired: only the new key is published")
		Expect(current().Status.SigningKey.ActiveKeyID).NotTo(Equal(oldKid))

		By("after a restart of the manager, the handled requests still on the object do nothing")
		keysBefore, err := c.ListAppKeys(ctx, got.Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		manager.Kill().Wait("10s")
		manager = startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		annotate(ctx, app, ssov1.ReconcileRequestAnnotation, "after-restart")
		Eventually(func() string { return current().Status.LastHandledReconcileAt }, "60s").Should(Equal("after-restart"))
		keysAfter, err := c.ListAppKeys(ctx, got.Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(keysAfter).To(HaveLen(len(keysBefore)), "no new key for a request already handled")
		Expect(phase()).To(Equal(ssov1.RotationPhaseStable))
		Expect(current().Status.SigningKey.ActiveKeyID).To(Equal(nextKid), "no second promotion")
		Expect(current().Annotations).To(HaveKey(ssov1.RotateSigningKeyAnnotation), "the operator never removes a request annotation")
		Expect(current().Annotations).To(HaveKey(ssov1.PromoteSigningKeyAnnotation))
		Expect(spLogin()).To(ContainSubstring(`"subject":"alice@example.com"`))

		By("Engineering taken off the binding: alice's next login fails")
		Eventually(func() error {
			b := &ssov1.SSOBinding{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(binding), b); err != nil {
				return err
			}
			b.Spec.Subjects = []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Contractors"}}
			return k8s.Update(ctx, b)
		}).Should(Succeed())
		Eventually(bindingReady, "60s").Should(Succeed())
		unbound, err := exec.Command(loginBin, "--start", spURL+"/", "--user", "alice@example.com", "--password", e2ePassword).CombinedOutput()
		Expect(err).To(HaveOccurred(), string(unbound))
		Expect(string(unbound)).To(ContainSubstring("not assigned to this application"))
		Expect(string(unbound)).NotTo(ContainSubstring(`"subject"`))

		By("deleting the app deletes it in Okta")
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() bool { _, err := c.GetApp(ctx, got.Status.AppID); return okta.IsNotFound(err) }, "30s").Should(BeTrue())
	})
})
