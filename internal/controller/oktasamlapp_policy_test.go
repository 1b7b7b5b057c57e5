package controller_test

import (
	"context"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/rand"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// createAccessPolicy adds an app sign-on policy to the suite's org, as an
// Okta admin would, and returns its ID.
func createAccessPolicy(name string) string {
	return oktaREST(http.MethodPost, "/api/v1/policies", map[string]any{"name": name, "type": "ACCESS_POLICY", "priority": 1})["id"].(string)
}

var _ = Describe("OktaSAMLApp's sign-on policy", func() {
	var ctx context.Context
	BeforeEach(func() {
		ctx = context.Background()
		ensureSecrets(ctx, watchedNS)
	})

	policyOf := func(ctx context.Context, app *ssov1.OktaSAMLApp) string {
		oktaApp, err := oktaAPI.GetApp(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		return oktaApp.AccessPolicyID()
	}

	It("assigns the policy named in the spec, checks it for free, and puts back a hand change", func() {
		name := "Strict MFA " + rand.String(5)
		strict := createAccessPolicy(name)
		ensureSecrets(ctx, unwatchedNS)
		app := newApp(unwatchedNS)
		app.Spec.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{Name: name}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		direct, calls := countingReconciler()
		key := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(app)}
		for range 2 { // the create, then the check its Secret triggers
			_, err := direct.Reconcile(ctx, key)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(readyReason(ctx, app)).To(Equal(ready))
		Expect(policyOf(ctx, app)).To(Equal(strict))
		Expect(get(ctx, app).Status.AuthenticationPolicy).To(Equal(&ssov1.PolicyStatus{ID: strict, Name: name}))
		Expect(calls.routes).To(HaveKeyWithValue("GET /api/v1/policies", 1), "the name is looked up once")
		Expect(calls.routes).To(HaveKeyWithValue("PUT /api/v1/apps/{id}/policies/{id}", 1))

		By("a check in step: the app's GET alone")
		calls.reset()
		_, err := direct.Reconcile(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(calls.routes).To(Equal(map[string]int{"GET /api/v1/apps/{id}": 1}))

		By("an admin moves the app to the org's default policy")
		policies, err := oktaAPI.ListAccessPolicies(ctx)
		Expect(err).NotTo(HaveOccurred())
		var system string
		for _, p := range policies {
			if p.System {
				system = p.ID
			}
		}
		Expect(oktaAPI.AssignAccessPolicy(ctx, get(ctx, app).Status.AppID, system)).To(Succeed())
		_, err = direct.Reconcile(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(policyOf(ctx, app)).To(Equal(strict))
		Expect(recorder.eventsFor(unwatchedNS, app.Name)).To(ContainElement(And(ContainSubstring(ssov1.DriftCorrectedReason), ContainSubstring(name))))
	})

	It("assigns a policy by ID, and leaves the policy alone without the field", func() {
		byID := createAccessPolicy("By ID " + rand.String(5))
		app := newApp(watchedNS)
		app.Spec.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{ID: byID}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Expect(policyOf(ctx, app)).To(Equal(byID))

		current := get(ctx, app)
		patch := client.MergeFrom(current.DeepCopy())
		current.Spec.SignOn.AuthenticationPolicy = nil
		Expect(k8s.Patch(ctx, current, patch)).To(Succeed())
		Eventually(func() *ssov1.PolicyStatus { return get(ctx, app).Status.AuthenticationPolicy }, "30s").Should(BeNil())
		Expect(policyOf(ctx, app)).To(Equal(byID), "removing the field stops managing the policy; it does not reset it")
	})

	It("names the org's policies when the spec names one it lacks, and takes it once made", func() {
		app := newApp(watchedNS)
		app.Spec.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{Name: "No Such Policy"}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.DependencyNotReadyReason))
		got := get(ctx, app)
		Expect(hasCondition(got, ssov1.StalledCondition)).To(BeFalse(), "looked for again on the interval")
		Expect(meta.FindStatusCondition(got.Status.Conditions, ssov1.ReadyCondition).Message).To(And(ContainSubstring(`"No Such Policy"`), ContainSubstring("Any two factors")))

		By("an admin makes the policy: found on the next look")
		made := createAccessPolicy("No Such Policy")
		requestReconcile(ctx, app)
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Expect(policyOf(ctx, app)).To(Equal(made))
	})
})
