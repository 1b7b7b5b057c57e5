package controller_test

import (
	"context"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// One Okta org for many teams: the credential in the operator's namespace,
// a ClusterOktaOrg saying which namespaces may use it, and team namespaces
// that hold no Okta credential at all.
var _ = Describe("ClusterOktaOrg and OktaOrg", func() {
	var ctx context.Context
	BeforeEach(func() {
		ctx = context.Background()
		ensureSecrets(ctx, watchedNS)
	})

	// credentialSecret puts a token in a Secret of the namespace.
	credentialSecret := func(namespace, token string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "okta-admin-" + rand.String(5)}, StringData: map[string]string{"token": token}}
		Expect(k8s.Create(ctx, s)).To(Succeed())
		return s
	}
	clusterOrg := func(url, secret string, conditions ...ssov1.NamespaceCondition) *ssov1.ClusterOktaOrg {
		o := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "company-" + rand.String(5)},
			Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(url), MaxAPICapacityPercent: 100, MaxOrgDeactivationPercent: ptr.To[int32](100),
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret), Key: "token"}}},
				Conditions: conditions}}
		Expect(k8s.Create(ctx, o)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, o))).To(Succeed()) })
		return o
	}
	appUsing := func(kind ssov1.OrgKind, name string) *ssov1.OktaSAMLApp {
		app := newApp(watchedNS)
		app.Spec.OrgRef = ssov1.OrgReference{Kind: kind, Name: ssov1.ResourceName(name)}
		return app
	}
	readyMessage := func(app *ssov1.OktaSAMLApp) string {
		c := meta.FindStatusCondition(get(ctx, app).Status.Conditions, ssov1.ReadyCondition)
		if c == nil {
			return ""
		}
		return c.Message
	}

	It("lets a team namespace with no Okta credential make an app and bind it through the platform's ClusterOktaOrg", func() {
		secret := credentialSecret(operatorNS, apiToken)
		company := clusterOrg(orgURL, secret.Name, ssov1.NamespaceCondition{NamespaceRegexes: []string{"^sso-su"}})
		app := appUsing(ssov1.OrgKindCluster, company.Name)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))

		By("the org's own status: reachable, how, and by how many")
		Eventually(func(g Gomega) {
			got := &ssov1.ClusterOktaOrg{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(company), got)).To(Succeed())
			g.Expect(conditionState(got.Status.Conditions, ssov1.ReadyCondition)).To(Equal(ready))
			g.Expect(got.Status.URL).To(Equal(orgURL))
			g.Expect(got.Status.AuthMethod).To(Equal(ssov1.AuthMethodAPIToken))
			g.Expect(got.Status.UsedBy).To(Equal(&ssov1.OrgUsage{Namespaces: 1, Objects: 1}))
			g.Expect(got.Status.RateLimits).To(ContainElement(HaveField("Bucket", "/api/v1/groups")), "the headroom of the buckets used")
		}, "30s").Should(Succeed())

		binding := newBinding(app.Name, group("Engineering"))
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		Eventually(bindingReady(ctx, binding), "30s").Should(Equal(ready))
		groups, err := oktaAPI.ListAppGroups(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(groups).To(HaveLen(1))

		connection := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: get(ctx, app).Status.ConnectionSecretName}, connection)).To(Succeed())
		for key, v := range connection.Data {
			Expect(string(v)).NotTo(ContainSubstring(apiToken), "the org's credential reached the team's connection Secret (%s)", key)
		}
		Expect(recorder.eventsFor(watchedNS, app.Name)).NotTo(ContainElement(ContainSubstring(ssov1.DeprecatedReason)))
		Expect(k8s.Delete(ctx, binding)).To(Succeed())
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}) }, "30s").ShouldNot(Succeed())
	})

	It("refuses a namespace the org's conditions do not allow, with no Okta call, and lets it in once they do", func() {
		// An org of its own, so that its request count is this spec's alone.
		lone, err := emulator.New(emulator.Config{APIToken: apiToken, OrgName: "lone", Now: clock.Now, RateLimits: generousLimits})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewServer(lone.Handler())
		DeferCleanup(ts.Close)
		lone.SetBaseURL(ts.URL)

		secret := credentialSecret(operatorNS, apiToken)
		company := clusterOrg(ts.URL, secret.Name, ssov1.NamespaceCondition{Namespaces: []string{"team-payments"}},
			ssov1.NamespaceCondition{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"okta": "allowed"}}})
		app := appUsing(ssov1.OrgKindCluster, company.Name)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.OrgNotAllowedReason))
		Expect(readyMessage(app)).To(ContainSubstring("namespace " + watchedNS + " may not use ClusterOktaOrg " + company.Name))
		// The org's own credential check (a groups search) is the platform's,
		// not the team's: the team's object sent nothing.
		sentForTeam := func() int { st := lone.Stats(); return st.Total - st.Routes["GET /api/v1/groups"] }
		Consistently(sentForTeam, "2s", "250ms").Should(BeZero(), "nothing was sent to Okta for the team's object")
		Expect(lone.Stats().Routes["GET /api/v1/groups"]).To(Equal(1),
			"the org's own check is one call: its status writes do not wake it again, nor does the app's status")

		By("the platform allows the namespace: the app is made at once")
		Eventually(func() error {
			current := &ssov1.ClusterOktaOrg{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(company), current); err != nil {
				return err
			}
			current.Spec.Conditions = append(current.Spec.Conditions, ssov1.NamespaceCondition{Namespaces: []string{watchedNS}})
			return k8s.Update(ctx, current)
		}).Should(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Expect(sentForTeam()).To(BeNumerically(">", 0))
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}) }, "30s").ShouldNot(Succeed())
	})

	It("retries at once when the platform replaces the credential Secret", func() {
		secret := credentialSecret(operatorNS, "revoked")
		company := clusterOrg(orgURL, secret.Name)
		app := appUsing(ssov1.OrgKindCluster, company.Name)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.AuthFailedReason))
		Expect(readyMessage(app)).NotTo(ContainSubstring("revoked"), "the credential is never in status")
		orgReady := func() string {
			got := &ssov1.ClusterOktaOrg{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(company), got)).To(Succeed())
			return conditionState(got.Status.Conditions, ssov1.ReadyCondition)
		}
		Eventually(orgReady, "30s").Should(Equal("False/"+ssov1.AuthFailedReason), "the org says so too")
		binding := newBinding(app.Name, group("Engineering"))
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, binding))).To(Succeed()) })
		Eventually(bindingReady(ctx, binding), "30s").Should(Equal("False/"+ssov1.DependencyNotReadyReason), "its app has no Okta app yet")

		Eventually(func() error {
			current := &corev1.Secret{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(secret), current); err != nil {
				return err
			}
			current.Data = map[string][]byte{"token": []byte(apiToken)}
			return k8s.Update(ctx, current)
		}).Should(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Eventually(orgReady, "30s").Should(Equal(ready))
		Eventually(bindingReady(ctx, binding), "30s").Should(Equal(ready), "the binding follows at once, not at its next backoff")
		Expect(k8s.Delete(ctx, binding)).To(Succeed())
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}) }, "30s").ShouldNot(Succeed())
	})

	It("gives two org objects that name one org (two spellings) the stricter settings, and says so on both", func() {
		secret := credentialSecret(operatorNS, apiToken)
		loose := clusterOrg(orgURL, secret.Name)
		strict := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "strict-" + rand.String(5)},
			Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(orgURL + "/"), MaxAPICapacityPercent: 30, MaxOrgDeactivationPercent: ptr.To[int32](10),
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret.Name), Key: "token"}}}}}
		Expect(k8s.Create(ctx, strict)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, strict))).To(Succeed()) })
		for _, o := range []*ssov1.ClusterOktaOrg{loose, strict} {
			Eventually(func(g Gomega) {
				got := &ssov1.ClusterOktaOrg{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed())
				g.Expect(got.Status.URL).To(Equal(orgURL), "one canonical URL")
				g.Expect(got.Status.AppliedLimits).To(Equal(&ssov1.AppliedOrgLimits{MaxAPICapacityPercent: 30, MaxOrgDeactivationPercent: 10}))
			}, "30s").Should(Succeed(), o.Name)
		}
		got := &ssov1.ClusterOktaOrg{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(loose), got)).To(Succeed())
		Expect(meta.FindStatusCondition(got.Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring("stricter settings, which apply to both: 30% of each rate-limit bucket, 10% org safeguard"))

		By("a team's OktaOrg naming the same org with a 1% share and no working credential narrows nothing")
		squatter := &ssov1.OktaOrg{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "squat-" + rand.String(5)},
			Spec: ssov1.OktaOrgSpec{URL: ssov1.URL(orgURL), MaxAPICapacityPercent: 1, MaxOrgDeactivationPercent: ptr.To[int32](0),
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: "no-such-secret", Key: "token"}}}}
		Expect(k8s.Create(ctx, squatter)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, squatter))).To(Succeed()) })
		Eventually(func(g Gomega) {
			got := &ssov1.OktaOrg{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(squatter), got)).To(Succeed())
			g.Expect(conditionState(got.Status.Conditions, ssov1.ReadyCondition)).To(Equal("False/" + ssov1.SecretNotFoundReason))
		}, "30s").Should(Succeed())
		annotateClusterOrg := func(o *ssov1.ClusterOktaOrg, value string) {
			Eventually(func() error {
				current := &ssov1.ClusterOktaOrg{}
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), current); err != nil {
					return err
				}
				current.Annotations = map[string]string{ssov1.ReconcileRequestAnnotation: value}
				return k8s.Update(ctx, current)
			}).Should(Succeed())
		}
		annotateClusterOrg(loose, "after-squatter")
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(loose), got)).To(Succeed())
			g.Expect(got.Status.LastHandledReconcileAt).To(Equal("after-squatter"))
			g.Expect(got.Status.AppliedLimits).To(Equal(&ssov1.AppliedOrgLimits{MaxAPICapacityPercent: 30, MaxOrgDeactivationPercent: 10}), "the platform's strict one, not the squatter's")
		}, "30s").Should(Succeed())

		By("the strict one gone: the loose one's own settings apply again")
		Expect(k8s.Delete(ctx, strict)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(loose), got)).To(Succeed())
			g.Expect(got.Status.AppliedLimits).To(Equal(&ssov1.AppliedOrgLimits{MaxAPICapacityPercent: 100, MaxOrgDeactivationPercent: 100}))
		}, "30s").Should(Succeed())
	})

	It("lets a team that owns its own org name it with an OktaOrg in its namespace", func() {
		secret := credentialSecret(watchedNS, apiToken)
		own := &ssov1.OktaOrg{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "ours-" + rand.String(5)},
			Spec: ssov1.OktaOrgSpec{URL: ssov1.URL(orgURL), MaxAPICapacityPercent: 100, MaxOrgDeactivationPercent: ptr.To[int32](100),
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret.Name), Key: "token"}}}}
		Expect(k8s.Create(ctx, own)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, own))).To(Succeed()) })
		app := appUsing(ssov1.OrgKindNamespaced, own.Name)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Eventually(func(g Gomega) {
			got := &ssov1.OktaOrg{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(own), got)).To(Succeed())
			g.Expect(conditionState(got.Status.Conditions, ssov1.ReadyCondition)).To(Equal(ready))
			g.Expect(got.Status.UsedBy).To(Equal(&ssov1.OrgUsage{Namespaces: 1, Objects: 1}))
		}, "30s").Should(Succeed())
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}) }, "30s").ShouldNot(Succeed())
	})

	It("connects a team's OktaOrg only where its allowedTargets say: the metadata service stays refused even when listed", func() {
		secret := credentialSecret(watchedNS, apiToken)
		own := &ssov1.OktaOrg{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "inside-" + rand.String(5)},
			Spec: ssov1.OktaOrgSpec{URL: "https://169.254.169.254", AllowedTargets: []string{"169.254.169.254"},
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret.Name), Key: "token"}}}}
		Expect(k8s.Create(ctx, own)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, own))).To(Succeed()) })
		app := appUsing(ssov1.OrgKindNamespaced, own.Name)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.PolicyDeniedReason))
		got := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(app), got)).To(Succeed())
		message := meta.FindStatusCondition(got.Status.Conditions, ssov1.ReadyCondition).Message
		Expect(message).To(And(ContainSubstring("a link-local address"), ContainSubstring("only a ClusterOktaOrg's tenant rule can allow it"), ContainSubstring("nothing was sent")))
		Expect(message).NotTo(ContainSubstring(apiToken))
		Eventually(func(g Gomega) {
			o := &ssov1.OktaOrg{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(own), o)).To(Succeed())
			g.Expect(meta.FindStatusCondition(o.Status.Conditions, ssov1.ReadyCondition)).NotTo(BeNil())
			g.Expect(meta.FindStatusCondition(o.Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring("a link-local address"))
		}, "30s").Should(Succeed())
	})

	It("still works with an org Secret in the namespace, and says it is deprecated", func() {
		app := newApp(watchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(And(
			ContainSubstring(ssov1.DeprecatedReason), ContainSubstring("orgRef: {kind: ClusterOktaOrg, name: NAME}"))))
	})

	It("never puts an Okta org's credential into SAML assertions: InvalidSpec, no app made", func() {
		app := newApp(watchedNS)
		app.Spec.SignOn.AttributeStatements[0].ValueFrom.SecretKeyRef = ssov1.SecretKeySelector{Name: orgSecretName, Key: "apiToken"}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
		Expect(readyMessage(app)).To(ContainSubstring("attribute insync_auth_token: Secret " + watchedNS + "/" + orgSecretName + " holds the credential of the org Secret"))
		apps, err := oktaAPI.ListApps(ctx, okta.AppQuery{Q: app.Spec.Label})
		Expect(err).NotTo(HaveOccurred())
		Expect(apps).To(BeEmpty(), "nothing was sent to Okta")
	})

	It("refuses at admission an orgRef that names both forms, or a kind without a name", func() {
		both := newApp(watchedNS)
		both.Spec.OrgRef.Kind, both.Spec.OrgRef.Name = ssov1.OrgKindCluster, "company"
		Expect(k8s.Create(ctx, both)).To(MatchError(ContainSubstring("not both")))
		kindOnly := newApp(watchedNS)
		kindOnly.Spec.OrgRef = ssov1.OrgReference{Kind: ssov1.OrgKindCluster}
		Expect(k8s.Create(ctx, kindOnly)).To(MatchError(ContainSubstring("kind (ClusterOktaOrg or OktaOrg) and name go together")))
	})
})
