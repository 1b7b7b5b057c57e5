package e2e

import (
	"context"
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/keys"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/oktatest"
)

// A team that wants more than its share: it names the company's hand-made
// Salesforce app by ID and its ADFS identity provider by name. The built
// manager must leave both exactly as they were, through create, update and
// delete of the team's objects.
var _ = Describe("Okta objects the operator did not make, through the built binaries", func() {
	It("leaves the company's hand-made SAML app and IdP untouched, and its own IdP beside them", func(ctx context.Context) {
		dir := GinkgoT().TempDir()
		orgURL := startLocalOrg(dir, "groups: [{name: Sales}]\n")
		oktaClient, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())

		By("the company's Salesforce app and Corporate ADFS, made by hand")
		salesforce, err := oktatest.HandMadeSAMLApp(ctx, oktaClient, "Salesforce", "Owner: IT")
		Expect(err).NotTo(HaveOccurred())
		adfs, err := oktatest.HandMadeSAMLIdP(ctx, oktaClient, "Corporate ADFS")
		Expect(err).NotTo(HaveOccurred())
		appBefore, idpBefore := appJSON(ctx, oktaClient, salesforce.ID), idpJSON(ctx, oktaClient, adfs.ID())

		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-ownership-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "okta"},
			StringData: map[string]string{"orgURL": orgURL, "apiToken": e2eToken}})).To(Succeed())

		By("an OktaSAMLApp naming Salesforce's ID, its ACS URL pointed elsewhere: refused, nothing written")
		grab := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "crm",
			Annotations: map[string]string{ssov1.AppIDAnnotation: salesforce.ID}},
			Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: "okta"}, Label: "CRM",
				ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://saml.salesforce.com", ACSURL: "https://attacker.example.com/acs"}}}
		Expect(k8s.Create(ctx, grab)).To(Succeed())
		Eventually(func() string { return readyOf(ctx, grab) }, "60s").Should(Equal("False/" + ssov1.NotOwnedReason))

		By("an OktaSAMLIdentityProvider named like Corporate ADFS: an IdP of its own")
		certPEM, _, err := keys.SelfSigned("partner", 2048, time.Now(), 24*time.Hour)
		Expect(err).NotTo(HaveOccurred())
		lookalike := &ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "partner"},
			Spec: ssov1.OktaSAMLIdentityProviderSpec{OrgRef: ssov1.OrgReference{SecretName: "okta"}, Name: "Corporate ADFS",
				AccountLink: ssov1.AccountLink{Policy: ssov1.AccountLinkAuto},
				Spoke:       &ssov1.Spoke{Issuer: "http://attacker.example.com", SSOURL: "https://attacker.example.com/sso", SigningCertificate: string(certPEM)}}}
		Expect(k8s.Create(ctx, lookalike)).To(Succeed())
		Eventually(func() string { return readyOf(ctx, lookalike) }, "60s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(lookalike), lookalike)).To(Succeed())
		Expect(lookalike.Status.IdPID).NotTo(BeEmpty())
		Expect(lookalike.Status.IdPID).NotTo(Equal(adfs.ID()))

		By("both deleted: the company's objects are as they were, the operator's own IdP is gone")
		Expect(k8s.Delete(ctx, grab)).To(Succeed())
		Expect(k8s.Delete(ctx, lookalike)).To(Succeed())
		for _, obj := range []client.Object{grab, lookalike} {
			Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)) }, "60s").Should(BeTrue())
		}
		Expect(appJSON(ctx, oktaClient, salesforce.ID)).To(Equal(appBefore), "Salesforce's sign-on settings")
		Expect(idpJSON(ctx, oktaClient, adfs.ID())).To(Equal(idpBefore), "Corporate ADFS")
		_, err = oktaClient.GetIdentityProvider(ctx, lookalike.Status.IdPID)
		Expect(okta.IsNotFound(err)).To(BeTrue(), "the IdP it created is deleted with it: %v", err)
	})
})

// readyOf is an object's Ready condition as status/reason.
func readyOf(ctx context.Context, obj client.Object) string {
	current := obj.DeepCopyObject().(client.Object)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
		return err.Error()
	}
	c := meta.FindStatusCondition(conditionsOf(current), ssov1.ReadyCondition)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

func appJSON(ctx context.Context, c *okta.Client, id string) string {
	app, err := c.GetApp(ctx, id)
	Expect(err).NotTo(HaveOccurred())
	b, err := json.Marshal(app)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

func idpJSON(ctx context.Context, c *okta.Client, id string) string {
	idp, err := c.GetIdentityProvider(ctx, id)
	Expect(err).NotTo(HaveOccurred())
	b, err := json.Marshal(idp)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}
