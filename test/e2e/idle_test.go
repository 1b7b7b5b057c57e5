package e2e

import (
	"context"
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// idleApps is how many apps, each with a binding, sit idle.
const idleApps = 200

// idleFor is how long they are watched.
const idleFor = 3 * time.Minute

var _ = Describe("An idle org", func() {
	It("costs its System Log polls and a sweep spread over a day, not a read of every object every interval", func(ctx context.Context) {
		orgURL := startNamedOrg(GinkgoT().TempDir(), "idle", soakSeed())
		putJSON(orgURL+"/emulator/rate-limits", emulator.UnlimitedRateLimits()) // the set-up is not what is measured
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-idle-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "okta-org"},
			StringData: map[string]string{"orgURL": orgURL, "apiToken": e2eToken}})).To(Succeed()) // the System Log followed every minute
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		DeferCleanup(func(ctx context.Context) { // before the manager stops: the next specs' managers must not inherit them
			Expect(k8s.DeleteAllOf(ctx, &ssov1.SSOBinding{}, client.InNamespace(ns.Name))).To(Succeed())
			Expect(k8s.DeleteAllOf(ctx, &ssov1.OktaSAMLApp{}, client.InNamespace(ns.Name))).To(Succeed())
			Eventually(func() int { return countAll(ctx, ns.Name) }, "5m", "2s").Should(BeZero())
		})

		By(fmt.Sprintf("%d apps and bindings, each asking for a check against Okta every minute", idleApps))
		everyMinute := metav1.Duration{Duration: time.Minute}
		for i := range idleApps {
			app, binding := soakApp(ns.Name, i), soakBinding(ns.Name, i)
			app.Spec.Interval, binding.Spec.Interval = everyMinute, everyMinute
			Expect(k8s.Create(ctx, app)).To(Succeed())
			Expect(k8s.Create(ctx, binding)).To(Succeed())
		}
		Eventually(func() int {
			return countTrue(ctx, ns.Name, ssov1.ReadyCondition, &ssov1.OktaSAMLAppList{}) + countTrue(ctx, ns.Name, ssov1.ReadyCondition, &ssov1.SSOBindingList{})
		}, "10m", "2s").Should(Equal(2 * idleApps))
		Eventually(func() int { // the reconciles the creates set off are over
			before := orgStats(orgURL).Total
			time.Sleep(3 * time.Second)
			return orgStats(orgURL).Total - before
		}, "2m").Should(BeZero())

		By(fmt.Sprintf("idle for %s", idleFor))
		req, err := http.NewRequest(http.MethodDelete, orgURL+"/emulator/stats", nil)
		Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		time.Sleep(idleFor)
		buckets := orgStats(orgURL).Buckets
		minutes := idleFor.Minutes()
		AddReportEntry("idle org", fmt.Sprintf("%d apps and %d bindings idle for %s: calls by bucket %v", idleApps, idleApps, idleFor, buckets))
		// Polling every object every interval would cost 200 app reads and
		// 400 apps-bucket reads a minute; the sweep's share of three minutes
		// of a day is under one of each.
		Expect(float64(buckets[okta.BucketApps])/minutes).To(BeNumerically("<=", 2), "apps bucket a minute: %v", buckets)
		Expect(float64(buckets[okta.BucketApp])/minutes).To(BeNumerically("<=", 2), "app bucket a minute: %v", buckets)
		Expect(buckets[okta.BucketLogs]).To(BeNumerically("<=", int(minutes)+1), "one System Log poll a minute: %v", buckets)
		Expect(buckets[okta.BucketLogs]).To(BeNumerically(">=", int(minutes)-1), "the System Log is followed: %v", buckets)

		By("an administrator points one app's ACS elsewhere: put back within a log poll, not at the app's interval")
		admin, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken, MaxAPICapacityPercent: 100})
		Expect(err).NotTo(HaveOccurred())
		app := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: soakApp(ns.Name, 1).Name}, app)).To(Succeed())
		changed, err := admin.GetApp(ctx, app.Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		changed.Settings.SignOn.SSOAcsURL = "https://attacker.example.com/acs"
		_, err = admin.UpdateApp(ctx, changed)
		Expect(err).NotTo(HaveOccurred())
		changedAt := time.Now()
		Eventually(func() string {
			got, err := admin.GetApp(ctx, app.Status.AppID)
			Expect(err).NotTo(HaveOccurred())
			return got.Settings.SignOn.SSOAcsURL
		}, "90s", "500ms").Should(Equal(string(app.Spec.ServiceProvider.ACSURL)))
		AddReportEntry("hand change", fmt.Sprintf("an ACS changed by hand was put back %s later (System Log polled every minute)", time.Since(changedAt).Round(time.Second)))
	})
})
