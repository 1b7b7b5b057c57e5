package controller_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

var _ = Describe("Many apps at once", func() {
	// A create costs two calls in Okta's apps bucket (the POST and the
	// metadata), so 100 apps need two of its windows: the budget stops at
	// the first window's end and the apps go on in the next.
	It("brings 100 apps to Ready through a 100-per-minute apps bucket, over two windows, without a refused request", func() {
		ctx := context.Background()
		ensureSecrets(ctx, watchedNS)
		// An org of its own: what other specs' objects still do in the
		// suite's org would spend its windows too.
		org, err := emulator.New(emulator.Config{APIToken: apiToken, OrgName: "scale", Now: clock.Now, RateLimits: map[string]int{okta.BucketApps: 100}})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewServer(org.Handler())
		DeferCleanup(ts.Close)
		org.SetBaseURL(ts.URL)
		secret := orgSecret(watchedNS, "okta-org-scale-"+rand.String(5), apiToken)
		secret.StringData["orgURL"] = ts.URL
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		clock.Advance(3 * time.Minute)                          // a fresh rate-limit window
		DeferCleanup(func() { clock.Advance(2 * time.Minute) }) // leave a fresh window: the clock moves only when a test moves it
		start := time.Now()
		apps := make([]*ssov1.OktaSAMLApp, 100)
		for i := range apps {
			apps[i] = newApp(watchedNS)
			apps[i].Spec.OrgRef.SecretName = ssov1.ResourceName(secret.Name)
			apps[i].Spec.SignOn.AttributeStatements = nil
			Expect(k8s.Create(ctx, apps[i])).To(Succeed())
		}
		// The clock stands still unless moved: once a window's first
		// requests are in, it moves to the window's end, so that the apps
		// the spent budget turns away wait a second or two, not a minute;
		// once the window's 100 are spent, past its reset. (A reconcile
		// that has to read an app's metadata twice makes a third window.)
		windows, atEnd := 0, false
		Eventually(func() int {
			switch calls := org.Stats().Buckets[okta.BucketApps]; {
			case calls >= 100*(windows+1):
				clock.Advance(2 * time.Minute)
				windows, atEnd = windows+1, false
			case calls > 100*windows && !atEnd:
				clock.Advance(58 * time.Second)
				atEnd = true
			}
			n := 0
			for _, a := range apps {
				if readyReason(ctx, a) == ready {
					n++
				}
			}
			return n
		}, "4m", "500ms").Should(Equal(100))
		stats := org.Stats()
		Expect(stats.Statuses).NotTo(HaveKey("429"), "the org refused requests: %v", stats.RouteStatuses)
		Expect(stats.Routes["POST /api/v1/apps"]).To(Equal(100), "one create per app")
		Expect(stats.Buckets[okta.BucketApps]).To(BeNumerically(">=", 200), "a create and a metadata read per app in the apps bucket: %v", stats.Routes)
		Expect(windows).To(BeNumerically(">=", 1), "the first window was spent and the apps went on in the next")
		AddReportEntry("scale", fmt.Sprintf("100 apps Ready in %s with %d Okta calls: %v", time.Since(start).Round(time.Second), stats.Total, stats.Routes))
		clock.Advance(2 * time.Minute) // a fresh window for the deletes: each deactivation is an apps-bucket call
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
