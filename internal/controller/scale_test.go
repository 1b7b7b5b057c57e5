package controller_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

var _ = Describe("Many apps at once", func() {
	It("brings 100 apps to Ready through a 100-per-minute apps bucket without a refused request", func() {
		ctx := context.Background()
		ensureSecrets(ctx, watchedNS)
		clock.Advance(time.Minute) // a fresh rate-limit window
		org.SetRateLimits(map[string]int{"/api/v1/apps": 100})
		DeferCleanup(func() {
			org.SetRateLimits(map[string]int{"/api/v1/apps": 1 << 20})
			clock.Advance(2 * time.Minute) // leave a fresh window: the clock moves only when a test moves it
		})
		org.ResetStats()
		start := time.Now()
		apps := make([]*ssov1.OktaSAMLApp, 100)
		for i := range apps {
			apps[i] = newApp(watchedNS)
			apps[i].Spec.SignOn.AttributeStatements = nil
			Expect(k8s.Create(ctx, apps[i])).To(Succeed())
		}
		Eventually(func() int {
			n := 0
			for _, a := range apps {
				if readyReason(ctx, a) == ready {
					n++
				}
			}
			return n
		}, "3m", "500ms").Should(Equal(100))
		stats := org.Stats()
		Expect(stats.Statuses).NotTo(HaveKey("429"), "the org refused requests: %v", stats.RouteStatuses)
		Expect(stats.Routes["POST /api/v1/apps"]).To(Equal(100), "one create per app")
		AddReportEntry("scale", fmt.Sprintf("100 apps Ready in %s with %d Okta calls: %v", time.Since(start).Round(time.Second), stats.Total, stats.Routes))
		for _, a := range apps {
			Expect(k8s.Delete(ctx, a)).To(Succeed())
		}
		Eventually(func() int {
			var list ssov1.OktaSAMLAppList
			Expect(k8s.List(ctx, &list, client.InNamespace(watchedNS))).To(Succeed())
			n := 0
			for _, a := range list.Items {
				for _, b := range apps {
					if a.Name == b.Name {
						n++
					}
				}
			}
			return n
		}, "2m").Should(BeZero())
	})
})
