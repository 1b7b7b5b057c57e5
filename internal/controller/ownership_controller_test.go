package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	"github.com/oktaop/okta-sso-operator/internal/keys"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/oktatest"
)

// Ownership: the operator writes or deletes in Okta only what it created or
// what a person adopted on purpose. Each spec makes the Okta object by hand
// first, as an admin would in the console, and checks it byte for byte.
var _ = Describe("Ownership of Okta objects", func() {
	var ctx context.Context
	BeforeEach(func() {
		ctx = context.Background()
		ensureSecrets(ctx, watchedNS)
	})

	// handMadeSAMLApp is the company's Salesforce app, made in the console:
	// its own ACS URL, audience and recipient, and an admin's note.
	handMadeSAMLApp := func() *okta.App {
		app, err := oktatest.HandMadeSAMLApp(ctx, oktaAPI, "Salesforce "+rand.String(5), "Owner: IT (ticket 4711)")
		Expect(err).NotTo(HaveOccurred())
		return app
	}
	// asInOkta is the app as Okta answers it now, as JSON, to compare byte for byte.
	asInOkta := func(id string) string {
		app, err := oktaAPI.GetApp(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		b, err := json.Marshal(app)
		Expect(err).NotTo(HaveOccurred())
		return string(b)
	}
	naming := func(id string, annotations ...string) *ssov1.OktaSAMLApp {
		app := newApp(watchedNS)
		app.Annotations = map[string]string{ssov1.AppIDAnnotation: id}
		for i := 0; i+1 < len(annotations); i += 2 {
			app.Annotations[annotations[i]] = annotations[i+1]
		}
		return app
	}
	gone := func(obj client.Object) func() bool {
		return func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object)))
		}
	}
	refused := func(app *ssov1.OktaSAMLApp, message string) {
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.NotOwnedReason))
		got := get(ctx, app)
		Expect(meta.IsStatusConditionTrue(got.Status.Conditions, ssov1.StalledCondition)).To(BeTrue())
		Expect(meta.FindStatusCondition(got.Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring(message))
		Expect(got.Status.AppID).To(BeEmpty(), "nothing is recorded as owned")
	}

	It("adopts a hand-made SAML app only on request, and leaves it in Okta, owner note removed, when the object goes", func() {
		salesforce := handMadeSAMLApp()
		before := asInOkta(salesforce.ID)

		By("the ID alone (a typo, or a team reaching for another's app): refused, nothing written")
		app := naming(salesforce.ID)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		refused(app, "was not made by the operator")
		Consistently(func() string { return asInOkta(salesforce.ID) }, "2s", "250ms").Should(Equal(before))

		By("the adoption request added: adopted, the spec applied, the owner note written before the admin's")
		annotate(ctx, app, ssov1.AdoptAnnotation, "true")
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		got := get(ctx, app)
		Expect(got.Status.AppID).To(Equal(salesforce.ID))
		Expect(got.Status.Origin).To(Equal(ssov1.OriginAdopted))
		adopted, err := oktaAPI.GetApp(ctx, salesforce.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(adopted.Settings.SignOn.SSOAcsURL).To(Equal(string(app.Spec.ServiceProvider.ACSURL)))
		Expect(*adopted.Settings.Notes.Admin).To(MatchRegexp(`^Managed by okta-sso-operator: OktaSAMLApp %s/%s in cluster %s \(adopted\)\..*\nOwner: IT \(ticket 4711\)$`,
			watchedNS, app.Name, clusterID))
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring("Adopted app " + salesforce.ID)))

		By("deleted: the app stays in Okta with the admin's note alone")
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(gone(app), "30s").Should(BeTrue())
		left, err := oktaAPI.GetApp(ctx, salesforce.ID)
		Expect(err).NotTo(HaveOccurred(), "an adopted app outlives its object")
		Expect(*left.Settings.Notes.Admin).To(Equal("Owner: IT (ticket 4711)"))
		Expect(left.Status).To(Equal(okta.StatusActive))
		Eventually(func() []string { return recorder.eventsFor(watchedNS, app.Name) }).Should(ContainElement(ContainSubstring(ssov1.ReleasedReason)))
	})

	It(`deletes an adopted app with its object when the adopt annotation says "Delete"`, func() {
		salesforce := handMadeSAMLApp()
		app := naming(salesforce.ID, ssov1.AdoptAnnotation, "Delete")
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Expect(get(ctx, app).Status.Origin).To(Equal(ssov1.OriginAdopted))
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(gone(app), "30s").Should(BeTrue())
		_, err := oktaAPI.GetApp(ctx, salesforce.ID)
		Expect(okta.IsNotFound(err)).To(BeTrue(), "deleted as asked: %v", err)
	})

	It("refuses an adoption request it cannot read, writing nothing", func() {
		salesforce := handMadeSAMLApp()
		before := asInOkta(salesforce.ID)
		app := naming(salesforce.ID, ssov1.AdoptAnnotation, "yes please")
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
		Expect(asInOkta(salesforce.ID)).To(Equal(before))
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(gone(app), "30s").Should(BeTrue())
		Expect(asInOkta(salesforce.ID)).To(Equal(before), "deleting it deleted nothing")
	})

	DescribeTable("refuses an app that is not SAML 2.0 even when adoption is requested; deleting the object deletes nothing",
		func(make func() *okta.App, mode string) {
			other := make()
			before := asInOkta(other.ID)
			app := naming(other.ID, ssov1.AdoptAnnotation, "Delete")
			Expect(k8s.Create(ctx, app)).To(Succeed())
			refused(app, "signs on with "+mode+", not SAML 2.0")
			Expect(k8s.Delete(ctx, app)).To(Succeed())
			Eventually(gone(app), "30s").Should(BeTrue())
			Expect(asInOkta(other.ID)).To(Equal(before), "written or deleted")
		},
		Entry("a bookmark app", func() *okta.App {
			a, err := oktaAPI.CreateApp(ctx, &okta.App{Name: "bookmark", Label: "Wiki " + rand.String(5), SignOnMode: okta.SignOnModeBookmark,
				Settings: okta.AppSettings{App: map[string]any{"url": "https://wiki.example.com", "requestIntegration": false}}}, true)
			Expect(err).NotTo(HaveOccurred())
			return a
		}, "BOOKMARK"),
		Entry("an OIDC app", func() *okta.App {
			return &okta.App{ID: oktaREST(http.MethodPost, "/api/v1/apps", map[string]any{"name": "oidc_client", "label": "Portal " + rand.String(5), "signOnMode": "OPENID_CONNECT",
				"credentials": map[string]any{"oauthClient": map[string]any{"token_endpoint_auth_method": "client_secret_basic"}},
				"settings": map[string]any{"oauthClient": map[string]any{"redirect_uris": []string{"https://portal.example.com/cb"},
					"response_types": []string{"code"}, "grant_types": []string{"authorization_code"}, "application_type": "web"}}})["id"].(string)}
		}, "OPENID_CONNECT"),
		Entry("an SWA app", func() *okta.App {
			return &okta.App{ID: oktaREST(http.MethodPost, "/api/v1/apps", map[string]any{"label": "Legacy " + rand.String(5), "signOnMode": "AUTO_LOGIN",
				"settings": map[string]any{"signOn": map[string]any{"loginUrl": "https://legacy.example.com/login"}}})["id"].(string)}
		}, "AUTO_LOGIN"),
	)

	It("refuses an app whose owner note names another object or cluster, even when adoption is requested", func() {
		theirs := handMadeSAMLApp()
		note := "Managed by okta-sso-operator: OktaSAMLApp team-b/crm in cluster other-cluster (created). Change it in Git, not here."
		theirs.Settings.Notes = &okta.AppNotes{Admin: &note}
		_, err := oktaAPI.UpdateApp(ctx, theirs)
		Expect(err).NotTo(HaveOccurred())
		before := asInOkta(theirs.ID)
		app := naming(theirs.ID, ssov1.AdoptAnnotation, "Delete")
		Expect(k8s.Create(ctx, app)).To(Succeed())
		refused(app, "is managed by okta-sso-operator as OktaSAMLApp team-b/crm in cluster other-cluster")
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(gone(app), "30s").Should(BeTrue())
		Expect(asInOkta(theirs.ID)).To(Equal(before))
	})

	It("re-attaches a restored object (same name, new UID, no status) to its app without a duplicate or a write", func() {
		original := newApp(watchedNS)
		Expect(k8s.Create(ctx, original)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, original) }, "30s").Should(Equal(ready))
		id := get(ctx, original).Status.AppID

		By("the object lost (suspended, so its deletion leaves Okta alone), then restored from a backup: spec and annotations, no status")
		update(ctx, original, func(a *ssov1.OktaSAMLApp) { a.Spec.Suspend = true })
		Eventually(func() string { return readyReason(ctx, original) }, "30s").Should(Equal("False/" + ssov1.SuspendedReason))
		Expect(k8s.Delete(ctx, original)).To(Succeed())
		Eventually(gone(original), "30s").Should(BeTrue())
		// The API server's garbage collector removes what the object owned;
		// envtest runs none, so the test does.
		Expect(k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: original.ConnectionSecretName()}})).To(Succeed())
		before := asInOkta(id)

		restored := newApp(watchedNS)
		restored.Name, restored.Spec = original.Name, original.Spec
		restored.Spec.Suspend = false
		restored.Annotations = map[string]string{ssov1.AppIDAnnotation: id}
		Expect(k8s.Create(ctx, restored)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, restored) }, "30s").Should(Equal(ready))
		got := get(ctx, restored)
		Expect(got.Status.AppID).To(Equal(id))
		Expect(got.Status.Origin).To(Equal(ssov1.OriginCreated), "the origin comes back from the owner note")
		Expect(asInOkta(id)).To(Equal(before), "nothing changed, so nothing was written")
		apps, err := oktaAPI.ListApps(ctx, okta.AppQuery{Q: original.Spec.Label})
		Expect(err).NotTo(HaveOccurred())
		Expect(apps).To(HaveLen(1), "no duplicate")

		By("it owns the app again: deleted under deletionPolicy Delete")
		Expect(k8s.Delete(ctx, restored)).To(Succeed())
		Eventually(gone(restored), "30s").Should(BeTrue())
		_, err = oktaAPI.GetApp(ctx, id)
		Expect(okta.IsNotFound(err)).To(BeTrue())
	})

	It("releases an app it created under deletionPolicy Orphan: left in Okta without its owner note", func() {
		app := newApp(watchedNS)
		app.Spec.DeletionPolicy = ssov1.DeletionPolicyOrphan
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		got := get(ctx, app)
		Expect(got.Status.Origin).To(Equal(ssov1.OriginCreated))
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(gone(app), "30s").Should(BeTrue())
		left, err := oktaAPI.GetApp(ctx, got.Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Settings.Notes.Admin).To(BeNil(), "free to be adopted again")
	})

	Context("identity providers", func() {
		// spokeWrittenOut is a spoke's side written in the spec: a hub IdP
		// needs nothing else.
		spokeWrittenOut := func() *ssov1.Spoke {
			certPEM, _, err := keys.SelfSigned("spoke "+rand.String(5), 2048, time.Now(), 24*time.Hour)
			Expect(err).NotTo(HaveOccurred())
			return &ssov1.Spoke{Issuer: "http://www.okta.com/exk" + rand.String(10), SSOURL: "https://spoke.example.com/app/org2org/sso/saml", SigningCertificate: string(certPEM)}
		}
		handMadeIdP := func(name string) okta.IdentityProvider {
			idp, err := oktatest.HandMadeSAMLIdP(ctx, oktaAPI, name)
			Expect(err).NotTo(HaveOccurred())
			return idp
		}
		idpAsInOkta := func(id string) string {
			idp, err := oktaAPI.GetIdentityProvider(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			delete(idp, "_links") // links are Okta's rendering, not the IdP
			b, err := json.Marshal(idp)
			Expect(err).NotTo(HaveOccurred())
			return string(b)
		}
		getIdP := func(p *ssov1.OktaSAMLIdentityProvider) *ssov1.OktaSAMLIdentityProvider {
			out := &ssov1.OktaSAMLIdentityProvider{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(p), out)).To(Succeed())
			return out
		}
		idpReason := func(p *ssov1.OktaSAMLIdentityProvider) func() string {
			return func() string { return conditionState(getIdP(p).Status.Conditions, ssov1.ReadyCondition) }
		}
		newIdP := func(name string) *ssov1.OktaSAMLIdentityProvider {
			return &ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "adfs-" + rand.String(5)},
				Spec: ssov1.OktaSAMLIdentityProviderSpec{OrgRef: ssov1.OrgReference{SecretName: orgSecretName}, Name: name, Spoke: spokeWrittenOut()}}
		}

		It("never finds an IdP by name: one made by hand with the same name is untouched through create, update and delete", func() {
			name := "Corporate ADFS " + rand.String(5)
			adfs := handMadeIdP(name)
			before := idpAsInOkta(adfs.ID())

			p := newIdP(name)
			p.Spec.AccountLink.Policy = ssov1.AccountLinkAuto
			Expect(k8s.Create(ctx, p)).To(Succeed())
			Eventually(idpReason(p), "30s").Should(Equal(ready))
			got := getIdP(p)
			Expect(got.Status.IdPID).NotTo(Equal(adfs.ID()), "an IdP of its own")
			Expect(got.Status.Origin).To(Equal(ssov1.OriginCreated))
			Expect(got.Annotations).To(HaveKeyWithValue(ssov1.IdPIDAnnotation, got.Status.IdPID))
			Expect(got.Status.CreateStartedAt).To(BeNil())
			Expect(idpAsInOkta(adfs.ID())).To(Equal(before))

			Eventually(func() error {
				current := getIdP(p)
				current.Spec.Spoke = spokeWrittenOut()
				return k8s.Update(ctx, current)
			}).Should(Succeed())
			Eventually(func() int64 { return getIdP(p).Status.ObservedGeneration }, "30s").Should(Equal(getIdP(p).Generation))
			Expect(idpAsInOkta(adfs.ID())).To(Equal(before))

			Expect(k8s.Delete(ctx, p)).To(Succeed())
			Eventually(gone(p), "30s").Should(BeTrue())
			_, err := oktaAPI.GetIdentityProvider(ctx, got.Status.IdPID)
			Expect(okta.IsNotFound(err)).To(BeTrue(), "its own IdP is deleted")
			Expect(idpAsInOkta(adfs.ID())).To(Equal(before), "the hand-made one is not")
		})

		It("adopts an IdP made by hand only on request, and leaves it in the hub when the object goes", func() {
			name := "Partner IdP " + rand.String(5)
			partner := handMadeIdP(name)
			before := idpAsInOkta(partner.ID())

			p := newIdP(name)
			p.Annotations = map[string]string{ssov1.IdPIDAnnotation: partner.ID()}
			Expect(k8s.Create(ctx, p)).To(Succeed())
			Eventually(idpReason(p), "30s").Should(Equal("False/" + ssov1.NotOwnedReason))
			Consistently(func() string { return idpAsInOkta(partner.ID()) }, "2s", "250ms").Should(Equal(before))

			annotateIdP(ctx, p, ssov1.AdoptAnnotation, "true")
			Eventually(idpReason(p), "30s").Should(Equal(ready))
			got := getIdP(p)
			Expect(got.Status.IdPID).To(Equal(partner.ID()))
			Expect(got.Status.Origin).To(Equal(ssov1.OriginAdopted))
			adopted, err := oktaAPI.GetIdentityProvider(ctx, partner.ID())
			Expect(err).NotTo(HaveOccurred())
			Expect(adopted.TrustKid()).To(Equal(got.Status.TrustedCertificate.KeyID), "the spec applied")

			Expect(k8s.Delete(ctx, p)).To(Succeed())
			Eventually(gone(p), "30s").Should(BeTrue())
			left, err := oktaAPI.GetIdentityProvider(ctx, partner.ID())
			Expect(err).NotTo(HaveOccurred(), "an adopted IdP outlives its object")
			Expect(left.Status()).To(Equal(okta.StatusActive))
		})

		It("takes up the IdP it created just before a crash, never the hand-made one of the same name", func() {
			ensureSecrets(ctx, unwatchedNS)
			name := "Partner " + rand.String(5)
			handMade := handMadeIdP(name) // made before the operator's create started
			clock.Advance(controller.OktaClockSkew + time.Minute)
			p := newIdP(name)
			p.Namespace = unwatchedNS
			Expect(k8s.Create(ctx, p)).To(Succeed())
			crashing := &controller.OktaSAMLIdentityProviderReconciler{Client: failFirstIdPIDRecord(), APIReader: k8s, Recorder: recorder, Now: clock.Now, Cluster: &controller.ClusterID{Name: clusterID},
				Orgs: &controller.SecretOrgs{Egress: loopbackEgress, Reader: k8s, Now: clock.Now, Configure: fastRetries}}
			key := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}
			_, err := crashing.Reconcile(ctx, key) // adds the finalizer
			for i := 0; i < 3 && err == nil; i++ {
				_, err = crashing.Reconcile(ctx, key)
			}
			Expect(err).To(MatchError(ContainSubstring("injected")), "recording the new IdP failed")
			Expect(getIdP(p).Status.CreateStartedAt).NotTo(BeNil())
			Expect(getIdP(p).Status.IdPID).To(BeEmpty())

			_, err = crashing.Reconcile(ctx, key)
			Expect(err).NotTo(HaveOccurred())
			got := getIdP(p)
			Expect(got.Status.IdPID).NotTo(BeEmpty())
			Expect(got.Status.IdPID).NotTo(Equal(handMade.ID()))
			Expect(got.Status.Origin).To(Equal(ssov1.OriginCreated))
			Expect(got.Status.CreateStartedAt).To(BeNil())
			found, err := oktaAPI.ListIdentityProviders(ctx, name)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(HaveLen(2), "the hand-made one and one of the operator's: no duplicate")

			Expect(k8s.Delete(ctx, p)).To(Succeed())
			_, err = crashing.Reconcile(ctx, key)
			Expect(err).NotTo(HaveOccurred())
			found, err = oktaAPI.ListIdentityProviders(ctx, name)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(ConsistOf(HaveKeyWithValue("id", handMade.ID())))
		})

		It("refuses an IdP ID that is not in the hub, creating nothing", func() {
			p := newIdP("Nowhere " + rand.String(5))
			p.Annotations = map[string]string{ssov1.IdPIDAnnotation: "0oaNoSuchIdP1234", ssov1.AdoptAnnotation: "true"}
			Expect(k8s.Create(ctx, p)).To(Succeed())
			Eventually(idpReason(p), "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
			found, err := oktaAPI.ListIdentityProviders(ctx, p.Spec.Name)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeEmpty())
			Expect(k8s.Delete(ctx, p)).To(Succeed())
			Eventually(gone(p), "30s").Should(BeTrue())
		})
	})
})

// annotateIdP sets one annotation on an OktaSAMLIdentityProvider, keeping the others.
func annotateIdP(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider, key, value string) {
	Eventually(func() error {
		current := &ssov1.OktaSAMLIdentityProvider{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), current); err != nil {
			return err
		}
		if current.Annotations == nil {
			current.Annotations = map[string]string{}
		}
		current.Annotations[key] = value
		return k8s.Update(ctx, current)
	}).Should(Succeed())
}

// failFirstIdPIDRecord is a client whose first status write recording an
// IdP's ID fails, as if the operator crashed right after creating the IdP.
func failFirstIdPIDRecord() client.Client {
	ww, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	var once sync.Once
	return interceptor.NewClient(ww, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			injected := false
			if p, ok := obj.(*ssov1.OktaSAMLIdentityProvider); ok && p.Status.IdPID != "" {
				once.Do(func() { injected = true })
			}
			if injected {
				return errors.New("injected failure recording the IdP's ID")
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
}
