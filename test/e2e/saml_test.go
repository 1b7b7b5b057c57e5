package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
)

const (
	e2eToken    = "00E2eTokenForTheLocalOrg-91c2"
	e2ePassword = "correct-horse-battery"
)

// startBinary builds a main package and runs it.
func startBinary(pkg string, args ...string) *gexec.Session {
	bin, err := gexec.Build(pkg)
	Expect(err).NotTo(HaveOccurred())
	session, err := gexec.Start(exec.Command(bin, args...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { session.Terminate().Wait("10s") })
	return session
}

var _ = Describe("A real SAML login through an OktaSAMLApp", Ordered, func() {
	It("signs in SP-initiated (signed AuthnRequests) and IdP-initiated, configured only from the connection Secret", func(ctx context.Context) {
		dir := GinkgoT().TempDir()
		seed := filepath.Join(dir, "seed.yaml")
		Expect(os.WriteFile(seed, []byte(`groups: [{name: Engineering}]
users:
  - {login: alice@example.com, firstName: Alice, lastName: Smith, password: `+e2ePassword+`, groups: [Engineering]}
`), 0o600)).To(Succeed())

		By("the local Okta org, the manager and the example SP's address")
		emu := startBinary("github.com/oktaop/okta-sso-operator/cmd/okta-emulator", "--api-token", e2eToken, "--seed", seed, "--org-name", "acme")
		Eventually(emu.Out, "30s").Should(gbytes.Say(`http://127\.0\.0\.1:\d+`))
		orgURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(string(emu.Out.Contents()))
		startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
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
					AttributeStatements: []ssov1.AttributeStatement{{Name: "displayName", Values: []string{`user.firstName + " " + user.lastName`}}},
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

		By("Engineering assigned to the app in Okta")
		c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())
		got := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), got)).To(Succeed())
		group, err := c.FindGroupByName(ctx, "Engineering")
		Expect(err).NotTo(HaveOccurred())
		_, err = c.AssignGroup(ctx, got.Status.AppID, group.ID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())

		By("the example SP, configured from the connection Secret's files")
		secret := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: got.Status.ConnectionSecretName}, secret)).To(Succeed())
		secretDir := filepath.Join(dir, "secret")
		Expect(os.MkdirAll(secretDir, 0o700)).To(Succeed())
		for k, v := range secret.Data {
			Expect(os.WriteFile(filepath.Join(secretDir, k), v, 0o600)).To(Succeed())
		}
		sp := startBinary("github.com/oktaop/okta-sso-operator/examples/saml-sp", "--addr", spAddr, "--url", spURL, "--secret-dir", secretDir)
		Eventually(sp.Err, "30s").Should(gbytes.Say("serving"))

		By("SP-initiated: the SP sends a signed AuthnRequest; alice signs in on the org's form")
		loginBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/hack/saml-login")
		Expect(err).NotTo(HaveOccurred())
		out, err := exec.Command(loginBin, "--start", spURL+"/", "--user", "alice@example.com", "--password", e2ePassword).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring(`"subject":"alice@example.com"`))
		Expect(string(out)).To(ContainSubstring(`"displayName":["Alice Smith"]`))

		By("IdP-initiated: from the app tile, with the default RelayState")
		out, err = exec.Command(loginBin, "--start", string(secret.Data["idp-initiated-url"]), "--basic",
			"--user", "alice@example.com", "--password", e2ePassword).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring(`"subject":"alice@example.com"`))

		By("deleting the app deletes it in Okta")
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() bool { _, err := c.GetApp(ctx, got.Status.AppID); return okta.IsNotFound(err) }, "30s").Should(BeTrue())
	})
})
