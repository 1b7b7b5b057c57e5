package e2e

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
)

var _ = Describe("A team whose SCIM target hangs, through the built manager", func() {
	It("holds up neither the other team's sync nor its offboarding, and a target on the metadata address is refused with nothing sent", func(ctx context.Context) {
		const poll = 5 * time.Second
		const scimToken = "e2e-hostile-scim-token"
		orgURL := startLocalOrg(GinkgoT().TempDir(), `groups: [{name: Engineering}]
users:
  - {login: erin@example.com, firstName: Erin, lastName: Bell, groups: [Engineering]}
  - {login: finn@example.com, firstName: Finn, lastName: Moss, groups: [Engineering]}
`)
		targets := map[string]*scimtest.Server{}
		for _, team := range []string{"a", "b"} {
			t, err := scimtest.New(scimtest.Options{Token: scimToken})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(t.Close)
			targets[team] = t
		}
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("30s") })

		By("team A and team B each sync one app of the same people into their own target")
		syncs := map[string]*ssov1.AccountSync{}
		for _, team := range []string{"a", "b"} {
			syncs[team] = teamSync(ctx, orgURL, poll.String(), scimToken, targets[team].URL())
		}
		active := func(team string) map[string]any {
			out := map[string]any{}
			for _, u := range targets[team].Users() {
				out[u["userName"].(string)] = u["active"]
			}
			return out
		}
		both := map[string]any{"erin@example.com": true, "finn@example.com": true}
		Eventually(func() map[string]any { return active("a") }, "90s").Should(Equal(both))
		Eventually(func() map[string]any { return active("b") }, "90s").Should(Equal(both))

		By("team A's target now answers every request after 30 s; erin is deactivated in Okta")
		targets["a"].SetFault(scimtest.Fault{Delay: 30 * time.Second, Times: -1})
		DeferCleanup(func() { targets["a"].SetFault(scimtest.Fault{}) })
		c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())
		erin, err := c.FindUserByLogin(ctx, "erin@example.com")
		Expect(err).NotTo(HaveOccurred())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, orgURL+"/api/v1/users/"+erin.ID+"/lifecycle/deactivate", nil)
		req.Header.Set("Authorization", "SSWS "+e2eToken)
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()

		By("team B's account for erin is deactivated within two poll periods, as it is with no neighbour")
		Eventually(func() map[string]any { return active("b") }, 2*poll+5*time.Second, "250ms").
			Should(Equal(map[string]any{"erin@example.com": false, "finn@example.com": true}))

		By("and team B's full run, asked for now, finishes while A's still hangs")
		annotate(ctx, syncs["b"], ssov1.ReconcileRequestAnnotation, "while-a-hangs")
		Eventually(func() string {
			s := &ssov1.AccountSync{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(syncs["b"]), s)).To(Succeed())
			return s.Status.LastHandledReconcileAt
		}, "20s").Should(Equal("while-a-hangs"))

		By("a sync in team B aimed at the cloud metadata address: PolicyDenied, nothing sent")
		metadata := syncs["b"].DeepCopy()
		metadata.ObjectMeta = metav1.ObjectMeta{Namespace: syncs["b"].Namespace, Name: "metadata"}
		metadata.Spec.Target.SCIM.URL = "https://169.254.169.254/scim/v2"
		Expect(k8s.Create(ctx, metadata)).To(Succeed())
		Eventually(func(g Gomega) {
			s := &ssov1.AccountSync{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(metadata), s)).To(Succeed())
			c := meta.FindStatusCondition(s.Status.Conditions, ssov1.ReadyCondition)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(ssov1.PolicyDeniedReason))
			g.Expect(c.Message).To(ContainSubstring("a link-local address"))
		}, "30s").Should(Succeed())
	})
})

// teamSync makes a namespace with an org Secret (the System Log followed
// every poll), an app of the Engineering group, and a Provision sync into
// the target.
func teamSync(ctx context.Context, orgURL, poll, scimToken, targetURL string) *ssov1.AccountSync {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-team-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	for name, data := range map[string]map[string]string{
		"okta-org":   {"orgURL": orgURL, "apiToken": e2eToken, "systemLogPollInterval": poll, "maxOrgDeactivationPercent": "100"},
		"scim-token": {"token": scimToken},
	} {
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name}, StringData: data})).To(Succeed())
	}
	app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "portal"}, Spec: ssov1.OktaSAMLAppSpec{
		OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: "Portal " + ns.Name,
		ServiceProvider: &ssov1.ServiceProvider{EntityID: "portal-" + ns.Name, ACSURL: ssov1.URL("https://" + ns.Name + ".example.com/saml/acs")},
	}}
	Expect(k8s.Create(ctx, app)).To(Succeed())
	binding := &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "engineering"}, Spec: ssov1.SSOBindingSpec{
		AppRef: ssov1.LocalObjectReference{Name: "portal"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}},
	}}
	Expect(k8s.Create(ctx, binding)).To(Succeed())
	Eventually(func(g Gomega) {
		b := &ssov1.SSOBinding{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(binding), b)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(b.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue())
	}, "60s").Should(Succeed(), "the users are assigned before the first run")
	sync := &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "portal-accounts"}, Spec: ssov1.AccountSyncSpec{
		AppRef: ssov1.LocalObjectReference{Name: "portal"}, Mode: ssov1.SyncModeProvision,
		Safeguard: ssov1.Safeguard{MaxDeactivationPercent: ptrTo[int32](100)},
		Target:    ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(targetURL), AuthSecretRef: ssov1.SecretKeySelector{Name: "scim-token", Key: "token"}}},
	}}
	Expect(k8s.Create(ctx, sync)).To(Succeed())
	return sync
}
