package controller_test

import (
	"context"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

var _ = Describe("OktaSAMLApp against an Okta that answers wrongly", func() {
	var ctx context.Context
	BeforeEach(func() {
		ctx = context.Background()
		ensureSecrets(ctx, watchedNS)
	})

	DescribeTable("reports it, writes nothing to Okta, and recovers once the answers are right",
		func(method, route string, status int, body string, rotate bool, wantMessage string) {
			app := newApp(watchedNS)
			Expect(k8s.Create(ctx, app)).To(Succeed())
			Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
			id := get(ctx, app).Status.AppID
			before, err := oktaAPI.GetApp(ctx, id)
			Expect(err).NotTo(HaveOccurred())

			wrongAnswer.Store(&wrongAnswerRule{method: method, path: regexp.MustCompile("^/api/v1/apps/" + id + route + "$"), status: status, body: body})
			DeferCleanup(func() { wrongAnswer.Store(nil) })
			if rotate {
				annotate(ctx, app, ssov1.RotateSigningKeyAnnotation, rand.String(6))
			} else {
				requestReconcile(ctx, app)
			}
			Eventually(func(g Gomega) {
				got := get(ctx, app)
				ready := meta.FindStatusCondition(got.Status.Conditions, ssov1.ReadyCondition)
				g.Expect(ready).NotTo(BeNil())
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal(ssov1.ReconcileErrorReason))
				g.Expect(ready.Message).To(ContainSubstring(wantMessage))
			}, "30s").Should(Succeed())
			after, err := oktaAPI.GetApp(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(after.LastUpdated).To(Equal(before.LastUpdated), "the app in Okta was not written")
			keys, err := oktaAPI.ListAppKeys(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(keys).To(HaveLen(1), "no key generated on a key list Okta answered wrongly")

			wrongAnswer.Store(nil)
			requestReconcile(ctx, app)
			Eventually(func() string { return readyReason(ctx, app) }, "60s").Should(Or(Equal(ready), Equal("True/"+ssov1.KeyRotationPendingReason)))
		},
		Entry("truncated JSON", "GET", "", 200, `{"id":"0oa`, false, "decoding the answer"),
		Entry("an HTML error page from a gateway", "GET", "", 502, `<html><body><h1>502 Bad Gateway</h1></body></html>`, false, "502"),
		Entry("a 200 with an error body", "GET", "", 200, `{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorCauses":[]}`, false, "without an id"),
		Entry("a key list without the active key", "GET", "/credentials/keys", 200, `[]`, true, "does not list it"),
	)
})
