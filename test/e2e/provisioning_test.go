package e2e

import (
	"context"
	"net/http"
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

var _ = Describe("Org2Org provisioning through the built binaries", func() {
	It("puts a spoke user in the hub before any sign-in, links them at sign-in, and deactivates them in the hub when the spoke takes the app away", func(ctx context.Context) {
		dir := GinkgoT().TempDir()
		hubURL := startNamedOrg(dir, "hub", "groups: [{name: Engineering}]\n")
		spokeURL := startNamedOrg(dir, "spoke", `groups: [{name: Engineering}]
users:
  - {login: erin@example.com, firstName: Erin, lastName: Park, password: `+e2ePassword+`, groups: [Engineering]}
`)
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		spAddr := freeAddr()
		spURL := "http://" + spAddr
		hubAPI, err := okta.New(okta.Config{OrgURL: hubURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())

		By("one apply: the hub's IdP (no just-in-time users: they are provisioned), the spoke's Org2Org app with provisioning and Engineering pushed, the hub's wiki for Engineering")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-provisioning-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		for name, url := range map[string]string{"okta-hub": hubURL, "okta-spoke": spokeURL} {
			Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name},
				StringData: map[string]string{"orgURL": url, "apiToken": e2eToken}})).To(Succeed())
		}
		// The provisioning connection's own hub token: an org Secret's is refused.
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hub-provisioning"},
			StringData: map[string]string{"token": e2eToken}})).To(Succeed())
		objects := []client.Object{
			&ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "spoke"},
				Spec: ssov1.OktaSAMLIdentityProviderSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-hub"},
					SpokeAppRef: &ssov1.LocalObjectReference{Name: "hub"}, AccountLink: ssov1.AccountLink{Policy: ssov1.AccountLinkAuto},
					Provisioning: ssov1.Provisioning{IfNoMatch: ssov1.IfNoMatchRedirect}, SharedApps: []ssov1.SharedApp{{Name: "wiki"}}}},
			&ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hub"},
				Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-spoke"}, Label: "Hub", Preconfigured: "okta_org2org",
					ServiceProvider: &ssov1.ServiceProvider{FromIdentityProviderRef: &ssov1.LocalObjectReference{Name: "spoke"}},
					Provisioning: &ssov1.AppProvisioning{Connection: ssov1.ProvisioningConnection{TokenSecretRef: &ssov1.SecretKeySelector{Name: "hub-provisioning", Key: "token"}},
						GroupPush: []ssov1.GroupPushRule{{Group: "Engineering"}}}}},
			&ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hub-engineering"},
				Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: "hub"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}}},
			&ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "wiki"},
				Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta-hub"}, Label: "Wiki",
					ServiceProvider: &ssov1.ServiceProvider{EntityID: spURL + "/saml/metadata", ACSURL: ssov1.URL(spURL + "/saml/acs"),
						SigningCertificate: &ssov1.SigningCertificate{Generate: &ssov1.GenerateCertificate{}}},
					SignOn: ssov1.SignOn{NameIDFormat: ssov1.NameIDFormatEmailAddress, UsernameTemplate: "${user.email}"}}},
			&ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "wiki-engineering"},
				Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: "wiki"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}}},
		}
		harness.ApplyAndWaitReady(ctx, k8s, objects)

		By("erin is in the hub, and in its Engineering, before she ever signs in")
		var provisioned *okta.User
		Eventually(func() error {
			provisioned, err = hubAPI.FindUserByLogin(ctx, "erin@example.com")
			return err
		}, "30s").Should(Succeed())
		engineering, err := hubAPI.FindGroupByName(ctx, "Engineering")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() ([]okta.User, error) { return hubAPI.ListGroupMembers(ctx, engineering.ID) }, "30s").Should(ContainElement(HaveField("ID", provisioned.ID)))

		By("she signs in through the spoke's wiki tile: linked to the provisioned user, not created again")
		wiki := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "wiki"}, wiki)).To(Succeed())
		mountSecret(ctx, ns.Name, wiki.Status.ConnectionSecretName, filepath.Join(dir, "wiki"))
		sp := startBinary("github.com/oktaop/okta-sso-operator/examples/saml-sp", "--addr", spAddr, "--url", spURL, "--secret-dir", filepath.Join(dir, "wiki"))
		Eventually(sp.Err, "30s").Should(gbytes.Say("serving"))
		idp := &ssov1.OktaSAMLIdentityProvider{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "spoke"}, idp)).To(Succeed())
		spokeAPI, err := okta.New(okta.Config{OrgURL: spokeURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())
		tile, err := spokeAPI.GetApp(ctx, idp.Status.SharedApps[0].BookmarkAppID)
		Expect(err).NotTo(HaveOccurred())
		loginBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/hack/saml-login")
		Expect(err).NotTo(HaveOccurred())
		signIn := func() (string, error) {
			out, err := exec.Command(loginBin, "--start", tile.Links.AppLinks[0].Href, "--basic", "--user", "erin@example.com", "--password", e2ePassword).CombinedOutput()
			return string(out), err
		}
		out, err := signIn()
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(`"subject":"erin@example.com"`))
		users, err := hubAPI.ListGroupMembers(ctx, engineering.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(users).To(HaveLen(1), "one erin in the hub")

		By("the spoke takes the app away (erin leaves Engineering): deactivated in the hub, never deleted, and refused")
		erin, err := spokeAPI.FindUserByLogin(ctx, "erin@example.com")
		Expect(err).NotTo(HaveOccurred())
		spokeEngineering, err := spokeAPI.FindGroupByName(ctx, "Engineering")
		Expect(err).NotTo(HaveOccurred())
		req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, spokeURL+"/api/v1/groups/"+spokeEngineering.ID+"/users/"+erin.ID, nil)
		req.Header.Set("Authorization", "SSWS "+e2eToken)
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Eventually(func() (string, error) {
			u, err := hubAPI.GetUser(ctx, provisioned.ID)
			if err != nil {
				return "", err
			}
			return u.Status, nil
		}, "30s").Should(Equal("DEPROVISIONED"))
		out, err = signIn()
		Expect(err).To(HaveOccurred(), out)
	})
})
