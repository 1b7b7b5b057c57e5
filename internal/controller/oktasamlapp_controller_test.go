package controller_test

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const ready = "True/" + ssov1.ReconcileSucceededReason

var _ = Describe("OktaSAMLApp", func() {
	var ctx context.Context
	BeforeEach(func() {
		ctx = context.Background()
		ensureSecrets(ctx, watchedNS)
	})

	It("creates the app, its keys and its connection Secret in 3 Okta calls", func() {
		ensureSecrets(ctx, unwatchedNS)
		app := newApp(unwatchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		direct, calls := countingReconciler()
		key := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(app)}
		_, err := direct.Reconcile(ctx, key) // create
		Expect(err).NotTo(HaveOccurred())
		_, err = direct.Reconcile(ctx, key) // the check the Secret's creation triggers
		Expect(err).NotTo(HaveOccurred())
		Expect(readyReason(ctx, app)).To(Equal(ready))
		Expect(calls.routes).To(Equal(map[string]int{"POST /api/v1/apps": 1, "GET /api/v1/apps/{id}/sso/saml/metadata": 1, "GET /api/v1/apps/{id}": 1}),
			"a create, its metadata (which holds the new key's certificate), the check its Secret triggers")

		got := get(ctx, app)
		Expect(got.Finalizers).To(ContainElement(ssov1.Finalizer))
		id := got.Annotations[ssov1.AppIDAnnotation]
		Expect(id).NotTo(BeEmpty())
		Expect(got.Annotations).NotTo(HaveKey(ssov1.CreatePendingAnnotation))
		Expect(got.Status.AppID).To(Equal(id))
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(got.Generation).To(Equal(int64(1)), "the operator never writes the spec (adding its finalizer included)")
		Expect(got.Status.SigningKey.RotationPhase).To(Equal(ssov1.RotationPhaseStable))

		oktaApp, err := oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(oktaApp.Label).To(Equal(app.Spec.Label))
		Expect(oktaApp.Settings.SignOn.Audience).To(Equal(app.Spec.ServiceProvider.EntityID))
		Expect(oktaApp.Settings.SignOn.SubjectNameIDFormat).To(Equal("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"))
		Expect(oktaApp.Settings.SignOn.AttributeStatements[0].Values).To(ConsistOf(`"` + secretToken + `"`))

		secret := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: unwatchedNS, Name: app.Name + "-saml"}, secret)).To(Succeed())
		for _, key := range []string{"idp-metadata.xml", "idp.crt", "idp-sso-url", "idp-issuer", "idp-initiated-url", "company-id", "sp-metadata.xml"} {
			Expect(secret.Data).To(HaveKeyWithValue(key, Not(BeEmpty())), key)
		}
		Expect(string(secret.Data["company-id"])).To(Equal("127.0.0.1"), "an org on an IP has no subdomain")
		Expect(string(secret.Data["idp-issuer"])).To(HavePrefix("http://www.okta.com/exk"))
		Expect(string(secret.Data["idp-sso-url"])).To(HavePrefix(orgURL + "/app/"))
		Expect(secret.Labels).To(HaveKeyWithValue("app.kubernetes.io/name", "druva"))
		Expect(secret.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "okta-sso-operator"))
		Expect(secret.Annotations).To(HaveKey("sso.oktaop.io/content-hash"))
		Expect(secret.Annotations).To(HaveKeyWithValue("reloader.example.com/match", "true"))
		Expect(metav1.IsControlledBy(secret, got)).To(BeTrue())
		keys, err := oktaAPI.ListAppKeys(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(secret.Data["idp.crt"])).To(ContainSubstring(strings.TrimSpace(pemBody(keys[0].X5c[0]))))

		By("a drift check that finds nothing changed: one call, no writes")
		before := get(ctx, app)
		calls.reset()
		_, err = direct.Reconcile(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(calls.routes).To(Equal(map[string]int{"GET /api/v1/apps/{id}": 1}))
		Expect(get(ctx, app).ResourceVersion).To(Equal(before.ResourceVersion), "no status write")
		secretAfter := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(secret), secretAfter)).To(Succeed())
		Expect(secretAfter.ResourceVersion).To(Equal(secret.ResourceVersion), "no Secret write")
	})

	It("puts back a change made in Okta by hand and reports it", func() {
		app := newApp(watchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		id := get(ctx, app).Status.AppID

		edited, err := oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		edited.Label = "Renamed by hand"
		edited.Settings.SignOn.ResponseSigned = false
		_, err = oktaAPI.UpdateApp(ctx, edited)
		Expect(err).NotTo(HaveOccurred())

		token := requestReconcile(ctx, app)
		Eventually(handled(ctx, app), "30s").Should(Equal(token))
		restored, err := oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(restored.Label).To(Equal(app.Spec.Label))
		Expect(restored.Settings.SignOn.ResponseSigned).To(BeTrue())
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring(ssov1.DriftCorrectedReason)))
	})

	It("creates the app again after it was deleted in Okta by hand", func() {
		app := newApp(watchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		id := get(ctx, app).Status.AppID
		// A reconcile between the two calls puts an app deactivated by hand
		// back to ACTIVE (drift), and Okta refuses to delete an active app:
		// try again, as a person would.
		Eventually(func() error {
			if err := oktaAPI.DeactivateApp(ctx, id); err != nil {
				return err
			}
			return oktaAPI.DeleteApp(ctx, id)
		}, "30s").Should(Succeed())

		requestReconcile(ctx, app)
		Eventually(func() string { return get(ctx, app).Status.AppID }, "30s").ShouldNot(Equal(id))
		newID := get(ctx, app).Status.AppID
		_, err := oktaAPI.GetApp(ctx, newID)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring(ssov1.RecreatedReason)))
	})

	It("suspends: Okta is left alone until resumed", func() {
		app := newApp(watchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		id := get(ctx, app).Status.AppID

		update(ctx, app, func(a *ssov1.OktaSAMLApp) { a.Spec.Suspend, a.Spec.Label = true, "While suspended" })
		Eventually(func() string { return readyReason(ctx, app) }).Should(Equal("False/" + ssov1.SuspendedReason))
		Consistently(func() string { a, _ := oktaAPI.GetApp(ctx, id); return a.Label }, "2s").Should(Equal(app.Spec.Label))

		update(ctx, app, func(a *ssov1.OktaSAMLApp) { a.Spec.Suspend = false })
		Eventually(func() string { a, _ := oktaAPI.GetApp(ctx, id); return a.Label }, "30s").Should(Equal("While suspended"))
	})

	It("sets the app INACTIVE when active is false", func() {
		app := newApp(watchedNS)
		app.Spec.Active = ptr.To(false)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("True/" + ssov1.InactiveReason))
		oktaApp, err := oktaAPI.GetApp(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(oktaApp.Status).To(Equal(okta.StatusInactive))
	})

	DescribeTable("deletion follows the deletion policy",
		func(policy ssov1.DeletionPolicy, wantGone bool) {
			app := newApp(watchedNS)
			app.Spec.DeletionPolicy = policy
			Expect(k8s.Create(ctx, app)).To(Succeed())
			Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
			id := get(ctx, app).Status.AppID
			Expect(k8s.Delete(ctx, app)).To(Succeed())
			Eventually(func() bool {
				return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}))
			}, "30s").Should(BeTrue())
			_, err := oktaAPI.GetApp(ctx, id)
			Expect(okta.IsNotFound(err)).To(Equal(wantGone), "GetApp after delete: %v", err)
		},
		Entry("Delete deactivates and deletes the Okta app", ssov1.DeletionPolicyDelete, true),
		Entry("Orphan leaves the Okta app", ssov1.DeletionPolicyOrphan, false),
	)

	It("is released, with a warning, when its org Secret was deleted first", func() {
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, orgSecret(watchedNS, "short-lived-org", apiToken)))).To(Succeed())
		app := newApp(watchedNS)
		app.Spec.OrgRef.SecretName = "short-lived-org"
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		id := get(ctx, app).Status.AppID
		Expect(k8s.Delete(ctx, orgSecret(watchedNS, "short-lived-org", ""))).To(Succeed())
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}))
		}, "30s").Should(BeTrue())
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring("LeftInOkta")))
		_, err := oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred(), "the app is still in Okta, as the event says")
	})

	It("adopts an existing Okta app named in the app-id annotation when asked to", func() {
		app := newApp(watchedNS)
		existing, err := oktaAPI.CreateApp(ctx, &okta.App{Label: "Made by hand", SignOnMode: okta.SignOnModeSAML2,
			Settings: okta.AppSettings{SignOn: &okta.SAMLSignOn{SSOAcsURL: "https://old.example.com/acs", Audience: "old"}}}, true)
		Expect(err).NotTo(HaveOccurred())
		app.Annotations = map[string]string{ssov1.AppIDAnnotation: existing.ID, ssov1.AdoptAnnotation: "true"}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Expect(get(ctx, app).Status.AppID).To(Equal(existing.ID))
		adopted, err := oktaAPI.GetApp(ctx, existing.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(adopted.Label).To(Equal(app.Spec.Label))
		Expect(adopted.Settings.SignOn.Audience).To(Equal(app.Spec.ServiceProvider.EntityID))
		apps, err := oktaAPI.ListApps(ctx, okta.AppQuery{Q: app.Spec.Label})
		Expect(err).NotTo(HaveOccurred())
		Expect(apps).To(HaveLen(1), "no second app was created")
	})

	It("makes no duplicate when the ID cannot be recorded after create", func() {
		ensureSecrets(ctx, unwatchedNS)
		app := newApp(unwatchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		failing := directReconcilerWith(failFirstAppIDPatch(k8s))
		key := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(app)}
		_, err := failing.Reconcile(ctx, key) // adds the finalizer
		for i := 0; i < 3 && err == nil && get(ctx, app).Status.AppID == ""; i++ {
			_, err = failing.Reconcile(ctx, key)
		}
		Expect(err).To(MatchError(ContainSubstring("injected")), "the write after create failed")
		Expect(get(ctx, app).Annotations).To(HaveKey(ssov1.CreatePendingAnnotation))

		_, err = failing.Reconcile(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		apps, err := oktaAPI.ListApps(ctx, okta.AppQuery{Q: app.Spec.Label})
		Expect(err).NotTo(HaveOccurred())
		Expect(apps).To(HaveLen(1), "the app created before the crash was adopted, not duplicated")
		Expect(get(ctx, app).Annotations[ssov1.AppIDAnnotation]).To(Equal(apps[0].ID))
	})

	DescribeTable("failures show as conditions with the reason",
		func(setup func(app *ssov1.OktaSAMLApp), wantReason string, stalled bool) {
			app := newApp(watchedNS)
			setup(app)
			Expect(k8s.Create(ctx, app)).To(Succeed())
			// A failing object retries with backoff; remove it so it does not
			// spend the org's rate limit under later specs.
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
			Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + wantReason))
			got := get(ctx, app)
			Expect(hasCondition(got, ssov1.StalledCondition)).To(Equal(stalled))
			Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring(wantReason)))
		},
		Entry("org Secret missing", func(a *ssov1.OktaSAMLApp) { a.Spec.OrgRef.SecretName = "no-such-org" }, ssov1.SecretNotFoundReason, false),
		Entry("token Secret missing", func(a *ssov1.OktaSAMLApp) {
			a.Spec.SignOn.AttributeStatements[0].ValueFrom.SecretKeyRef.Name = "no-such-token"
		}, ssov1.SecretNotFoundReason, false),
		Entry("token refused by Okta", func(a *ssov1.OktaSAMLApp) {
			Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, orgSecret(watchedNS, "revoked-org", "revoked")))).To(Succeed())
			a.Spec.OrgRef.SecretName = "revoked-org"
		}, ssov1.AuthFailedReason, false),
		Entry("catalog app Okta does not know", func(a *ssov1.OktaSAMLApp) {
			a.Spec.Preconfigured, a.Spec.ServiceProvider, a.Spec.SignOn.AttributeStatements = "no_such_catalog_app", nil, nil
		}, ssov1.InvalidSpecReason, true),
	)

	It("is Throttled by a 429 and recovers after the reset", func() {
		// Every request is refused until this app shows it: the manager's
		// background reconciles of other objects share the org.
		org.SetFaults(emulator.Faults{Force429: 1 << 20})
		DeferCleanup(func() { org.SetFaults(emulator.Faults{}) })
		app := newApp(watchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.ThrottledReason))
		org.SetFaults(emulator.Faults{})
		clock.Advance(2 * time.Minute) // past the reset
		token := requestReconcile(ctx, app)
		Eventually(handled(ctx, app), "30s").Should(Equal(token))
		Expect(readyReason(ctx, app)).To(Equal(ready))
	})

	It("writes the secret attribute value to Okta and nowhere else", func() {
		app := newApp(watchedNS)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		raw, err := oktaAPI.GetApp(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(raw.Settings.SignOn.AttributeStatements[0].Values[0]).To(ContainSubstring(secretToken))

		status := get(ctx, app).Status
		statusText := strings.Join([]string{status.AppID, status.IDP.Issuer, status.IDP.SSOURL, status.SP.MetadataSHA256}, " ")
		for _, c := range status.Conditions {
			statusText += " " + c.Message
		}
		var events corev1.EventList
		Expect(k8s.List(ctx, &events, client.InNamespace(watchedNS))).To(Succeed())
		eventText := recorder.all()
		for _, e := range events.Items {
			eventText += " " + e.Message
		}
		families, err := ctrlmetrics.Registry.Gather()
		Expect(err).NotTo(HaveOccurred())
		var metricsText strings.Builder
		for _, f := range families {
			_, err := expfmt.MetricFamilyToText(&metricsText, f)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(metricsText.String()).To(ContainSubstring("okta_requests_total"))
		for _, secret := range []string{secretToken, apiToken} {
			Expect(metricsText.String()).NotTo(ContainSubstring(secret))
			Expect(statusText).NotTo(ContainSubstring(secret))
			Expect(eventText).NotTo(ContainSubstring(secret))
			Expect(logs.String()).NotTo(ContainSubstring(secret))
		}
	})
})

func hasCondition(app *ssov1.OktaSAMLApp, condType string) bool {
	for _, c := range app.Status.Conditions {
		if c.Type == condType && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

// pemBody is the certificate's base64 body as a PEM file wraps it.
func pemBody(b64 string) string {
	var lines []string
	for len(b64) > 64 {
		lines = append(lines, b64[:64])
		b64 = b64[64:]
	}
	return strings.Join(append(lines, b64), "\n")
}

// directReconcilerWith reconciles on the test's own call with the given
// client, for failure injection.
func directReconcilerWith(c client.Client) *controller.OktaSAMLAppReconciler {
	return &controller.OktaSAMLAppReconciler{Client: c, Recorder: recorder, Now: clock.Now, Cluster: &controller.ClusterID{Name: clusterID},
		Orgs: &controller.SecretOrgs{Egress: loopbackEgress, Reader: c, Now: clock.Now, Configure: fastRetries}}
}
