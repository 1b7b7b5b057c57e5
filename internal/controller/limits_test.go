package controller_test

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// Objects at the limits of what admission lets through (what it refuses is
// in api/v1alpha1's admission tests): each is Ready, or says what a person
// must fix, and no value of a Secret shows in the condition, an event or
// the log.
var _ = Describe("OktaSAMLApps at the limits", func() {
	ctx := context.Background()
	BeforeEach(func() { ensureSecrets(ctx, watchedNS) })

	// orgSecretWith makes an org Secret of these keys and points the app at it.
	orgSecretWith := func(app *ssov1.OktaSAMLApp, data map[string]string) {
		name := "org-" + rand.String(5)
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: name}, StringData: data})).To(Succeed())
		app.Spec.OrgRef.SecretName = ssov1.ResourceName(name)
	}
	const notPEM = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7-not-pem-at-all"

	DescribeTable("an app is Ready or reports what to fix, leaking nothing",
		func(setup func(*ssov1.OktaSAMLApp), wantReady string, wantMessage string, secrets ...string) {
			app := newApp(watchedNS)
			setup(app)
			Expect(k8s.Create(ctx, app)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
			Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(wantReady))
			cond := meta.FindStatusCondition(get(ctx, app).Status.Conditions, ssov1.ReadyCondition)
			Expect(cond.Message).To(ContainSubstring(wantMessage))
			for _, secret := range append(secrets, apiToken, secretToken) {
				Expect(strings.Contains(cond.Message, secret)).To(BeFalse(), "the condition shows a secret value")
				Expect(strings.Contains(recorder.all(), secret)).To(BeFalse(), "an event shows a secret value")
				Expect(strings.Contains(logs.String(), secret)).To(BeFalse(), "the log shows a secret value")
			}
		},
		Entry("a label of 100 characters in several scripts", func(a *ssov1.OktaSAMLApp) {
			a.Spec.Label = truncateRunes(a.Name+" Ünïcødé 日本語 Ελληνικά 🚀 "+strings.Repeat("é", 100), 100)
		}, "True/"+ssov1.ReconcileSucceededReason, "ACTIVE"),
		Entry("100 attribute statements with values of 1,000 characters", func(a *ssov1.OktaSAMLApp) {
			for i := range 99 {
				a.Spec.SignOn.AttributeStatements = append(a.Spec.SignOn.AttributeStatements,
					ssov1.AttributeStatement{Name: fmt.Sprintf("attr%02d", i), Values: []string{`"` + strings.Repeat("v", 998) + `"`}})
			}
		}, "True/"+ssov1.ReconcileSucceededReason, "ACTIVE"),
		Entry("an org Secret whose token has a trailing newline (as echo writes it)", func(a *ssov1.OktaSAMLApp) {
			orgSecretWith(a, map[string]string{"orgURL": orgURL + "\n", "apiToken": apiToken + "\n", "maxAPICapacityPercent": "100"})
		}, "True/"+ssov1.ReconcileSucceededReason, "ACTIVE"),
		Entry("an org Secret whose token has a space inside", func(a *ssov1.OktaSAMLApp) {
			orgSecretWith(a, map[string]string{"orgURL": orgURL, "apiToken": "00Suite Token-with-a-space-3b9d"})
		}, "False/"+ssov1.AuthFailedReason, "401", "00Suite Token-with-a-space-3b9d"),
		Entry("an org Secret whose orgURL is not a URL", func(a *ssov1.OktaSAMLApp) {
			orgSecretWith(a, map[string]string{"orgURL": "acme okta com", "apiToken": apiToken})
		}, "False/"+ssov1.SecretNotFoundReason, "want https://<org>.okta.com"),
		Entry("an org Secret whose orgURL is plain http to a remote host", func(a *ssov1.OktaSAMLApp) {
			orgSecretWith(a, map[string]string{"orgURL": "http://acme.okta.com", "apiToken": apiToken})
		}, "False/"+ssov1.SecretNotFoundReason, "plain http only on loopback"),
		Entry("an org Secret whose private key is not PEM", func(a *ssov1.OktaSAMLApp) {
			orgSecretWith(a, map[string]string{"orgURL": orgURL, "clientID": "0oaServiceApp123", "privateKey": notPEM})
		}, "False/"+ssov1.SecretNotFoundReason, "the private key is not PEM", notPEM),
		Entry("an org Secret that sits in another namespace", func(a *ssov1.OktaSAMLApp) {
			Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, orgSecret(unwatchedNS, "other-team-org", apiToken)))).To(Succeed())
			a.Spec.OrgRef.SecretName = "other-team-org"
		}, "False/"+ssov1.SecretNotFoundReason, "org Secret "+watchedNS+"/other-team-org not found"),
		Entry("an attribute value Secret without the key", func(a *ssov1.OktaSAMLApp) {
			a.Spec.SignOn.AttributeStatements[0].ValueFrom.SecretKeyRef.Key = "no-such-key"
		}, "False/"+ssov1.SecretNotFoundReason, "has no key no-such-key"),
		Entry("an adopted app ID that is not in this org", func(a *ssov1.OktaSAMLApp) {
			a.Annotations = map[string]string{ssov1.AppIDAnnotation: "0oaNotInThisOrg12345"}
		}, "False/"+ssov1.InvalidSpecReason, "app 0oaNotInThisOrg12345, named by the sso.oktaop.io/app-id annotation, is not in the org"),
	)

	It("creates nothing for an adopted app ID that is not in the org", func() {
		app := newApp(watchedNS)
		app.Annotations = map[string]string{ssov1.AppIDAnnotation: "0oaNotInThisOrgEithr"}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
		apps, err := oktaAPI.ListApps(ctx, okta.AppQuery{Q: app.Spec.Label})
		Expect(err).NotTo(HaveOccurred())
		Expect(apps).To(BeEmpty())
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}) }, "30s").ShouldNot(Succeed())
	})

	It("refuses to adopt an app another OktaSAMLApp manages, deleting it deletes nothing, and adopts once the owner lets it go", func() {
		owner := newApp(watchedNS)
		owner.Spec.DeletionPolicy = ssov1.DeletionPolicyOrphan
		Expect(k8s.Create(ctx, owner)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, owner) }, "30s").Should(Equal(ready))
		id := get(ctx, owner).Status.AppID

		intruder := newApp(watchedNS)
		intruder.Annotations = map[string]string{ssov1.AppIDAnnotation: id, ssov1.AdoptAnnotation: "true"}
		Expect(k8s.Create(ctx, intruder)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, intruder) }, "30s").Should(Equal("False/" + ssov1.NotOwnedReason))
		Expect(meta.FindStatusCondition(get(ctx, intruder).Status.Conditions, ssov1.ReadyCondition).Message).To(
			ContainSubstring("already managed by OktaSAMLApp " + watchedNS + "/" + owner.Name))
		unchanged, err := oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(unchanged.Label).To(Equal(owner.Spec.Label), "the intruder wrote nothing")

		By("a second intruder, deleted, deletes nothing in Okta")
		second := newApp(watchedNS)
		second.Annotations = map[string]string{ssov1.AppIDAnnotation: id, ssov1.AdoptAnnotation: "Delete"}
		Expect(k8s.Create(ctx, second)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, second) }, "30s").Should(Equal("False/" + ssov1.NotOwnedReason))
		Expect(k8s.Delete(ctx, second)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(second), &ssov1.OktaSAMLApp{}) }, "30s").ShouldNot(Succeed())
		_, err = oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred(), "the owner's app is still in Okta")

		By("the owner deleted (Orphan) releases the app: the intruder, which asked to adopt it, does")
		Expect(k8s.Delete(ctx, owner)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, intruder) }, "30s").Should(Equal(ready))
		Expect(get(ctx, intruder).Status.AppID).To(Equal(id))
		Expect(get(ctx, intruder).Status.Origin).To(Equal(ssov1.OriginAdopted))
		Expect(k8s.Delete(ctx, intruder)).To(Succeed())
		Eventually(func() error { return k8s.Get(ctx, client.ObjectKeyFromObject(intruder), &ssov1.OktaSAMLApp{}) }, "30s").ShouldNot(Succeed())
		_, err = oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred(), "an adopted app outlives its object")
	})
})

// truncateRunes cuts s to at most n characters (runes, as the CRD counts).
func truncateRunes(s string, n int) string {
	r := []rune(s)
	return string(r[:min(n, len(r))])
}
