package controller_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// Changes made in Okta reach the operator through the org's System Log:
// the objects they concern are corrected within a log poll, with spec
// intervals of ten minutes, and nothing else is read.
var _ = Describe("Changes made in Okta, found through the System Log", func() {
	ctx := context.Background()
	const driftOrg = "okta-org-drift"
	BeforeEach(func() {
		ensureSecrets(ctx, watchedNS)
		s := orgSecret(watchedNS, driftOrg, apiToken)
		s.StringData["systemLogPollInterval"] = "1s"
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, s))).To(Succeed())
	})

	// followedApp is a Ready app of the followed org, with the default
	// ten-minute interval.
	followedApp := func() (*ssov1.OktaSAMLApp, string) {
		app := newApp(watchedNS)
		app.Spec.OrgRef.SecretName, app.Spec.SignOn.AttributeStatements = driftOrg, nil
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		return app, get(ctx, app).Status.AppID
	}

	It("puts back an app's ACS changed by hand within a log poll, and its own write wakes nothing", func() {
		app, id := followedApp()
		appPath := "/api/v1/apps/" + id
		Eventually(func() int { return requestsTo("GET " + appPath) }).Should(BeNumerically(">=", 1))
		time.Sleep(2 * time.Second) // the reconciles the create set off are over
		gets, puts, polls := requestsTo("GET "+appPath), requestsTo("PUT "+appPath), requestsTo("GET /api/v1/logs")

		By("an administrator points the app's ACS elsewhere")
		changed := oktaREST(http.MethodGet, appPath, nil)
		changed["settings"].(map[string]any)["signOn"].(map[string]any)["ssoAcsUrl"] = "https://attacker.example.com/acs"
		oktaREST(http.MethodPut, appPath, changed)
		Eventually(func() string {
			a, err := oktaAPI.GetApp(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			return a.Settings.SignOn.SSOAcsURL
		}, "20s", "200ms").Should(Equal(string(app.Spec.ServiceProvider.ACSURL)), "corrected through the log, long before the ten-minute interval")
		Expect(requestsTo("GET /api/v1/logs")).To(BeNumerically(">", polls), "the follower read the log")
		Expect(requestsTo("PUT "+appPath)).To(Equal(puts+1), "one correction")

		By("the operator's own correction is in the log too, and wakes nothing")
		corrected := requestsTo("GET /api/v1/logs")
		Eventually(func() int { return requestsTo("GET /api/v1/logs") }, "60s", "250ms").Should(BeNumerically(">=", corrected+2),
			"the log read twice after the correction, its own event included")
		Consistently(func() int { return requestsTo("GET " + appPath) }, "3s", "250ms").Should(Equal(gets+1),
			"one read for the hand change; none for the operator's own write, nor any per-object poll")
	})

	It("puts back an assignment removed by hand and removes one made by hand on an Authoritative binding's app", func() {
		app, id := followedApp()
		name, groupID := newOktaGroup("drift")
		binding := newBinding(app.Name, group(name))
		binding.Spec.Mode = ssov1.BindingModeAuthoritative
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, binding))).To(Succeed()) })
		Eventually(bindingReady(ctx, binding), "30s").Should(Equal(ready))
		Expect(appGroupIDs(ctx, id)).To(ConsistOf(groupID))

		By("an administrator removes the binding's group from the app")
		oktaREST(http.MethodDelete, "/api/v1/apps/"+id+"/groups/"+groupID, nil)
		Eventually(func() []string { return appGroupIDs(ctx, id) }, "20s", "200ms").Should(ConsistOf(groupID))

		By("an administrator assigns another group to the app")
		_, otherID := newOktaGroup("by-hand")
		oktaREST(http.MethodPut, "/api/v1/apps/"+id+"/groups/"+otherID, map[string]any{})
		Eventually(func() []string { return appGroupIDs(ctx, id) }, "20s", "200ms").Should(ConsistOf(groupID))
	})

	It("reads every object of an org whose log cannot be read, and goes back to the log when it can", func() {
		_, id := followedApp()
		appPath := "/api/v1/apps/" + id
		followed := &controller.Org{URL: orgURL, LogPoll: time.Second, Sweep: oktaorg.DefaultSweep}
		Eventually(func() bool { return drift.Follows(followed) }).Should(BeTrue())
		time.Sleep(2 * time.Second)
		gets := requestsTo("GET " + appPath)

		By("the org's System Log fails")
		org.SetFaults(emulator.Faults{ErrorRate: 1, Route: "GET /api/v1/logs"})
		DeferCleanup(func() { org.SetFaults(emulator.Faults{}) })
		Eventually(func() bool { return drift.Follows(followed) }, "15s", "200ms").Should(BeFalse(), "a gap after the follower's GapAfter")
		Eventually(func() int { return requestsTo("GET " + appPath) }, "10s", "200ms").Should(BeNumerically(">", gets),
			"the gap sets off a sweep of the org: the app is read in full")

		By("the log works again")
		org.SetFaults(emulator.Faults{})
		Eventually(func() bool { return drift.Follows(followed) }, "15s", "200ms").Should(BeTrue())
	})
})
