package controller_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// Hub and spoke: the suite's org is the hub; each spec gets a spoke org of
// its own (a second local Okta org, with its own token).
var _ = Describe("OktaSAMLIdentityProvider and an Org2Org app", func() {
	const spokeToken = "spoke-api-token-that-must-never-appear"
	var (
		ctx      context.Context
		spokeAPI *okta.Client
		spokeURL string
	)
	BeforeEach(func() {
		ctx = context.Background()
		spoke, err := emulator.New(emulator.Config{APIToken: spokeToken, OrgName: "spoke", Now: clock.Now, RateLimits: generousLimits,
			Seed: &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}}}})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewServer(spoke.Handler())
		DeferCleanup(ts.Close)
		spoke.SetBaseURL(ts.URL)
		spokeURL = ts.URL
		spokeAPI, err = okta.New(okta.Config{OrgURL: ts.URL, APIToken: spokeToken})
		Expect(err).NotTo(HaveOccurred())
		ensureSecrets(ctx, watchedNS)
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "okta-spoke-" + rand.String(5)},
			StringData: map[string]string{"orgURL": spokeURL, "apiToken": spokeToken, "maxAPICapacityPercent": "100"}}
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		spokeSecret = secret.Name
	})

	pair := func() (*ssov1.OktaSAMLIdentityProvider, *ssov1.OktaSAMLApp) {
		suffix := rand.String(5)
		idp := &ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "spoke-" + suffix},
			Spec: ssov1.OktaSAMLIdentityProviderSpec{OrgRef: ssov1.OrgReference{SecretName: orgSecretName},
				SpokeAppRef: &ssov1.LocalObjectReference{Name: ssov1.ResourceName("hub-" + suffix)}, UsernameFilter: `^[a-z.]+@example\.com$`}}
		app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "hub-" + suffix},
			Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: ssov1.ResourceName(spokeSecret)}, Label: "Hub " + suffix,
				Preconfigured:   "okta_org2org",
				ServiceProvider: &ssov1.ServiceProvider{FromIdentityProviderRef: &ssov1.LocalObjectReference{Name: ssov1.ResourceName(idp.Name)}}}}
		return idp, app
	}
	getIdP := func(p *ssov1.OktaSAMLIdentityProvider) *ssov1.OktaSAMLIdentityProvider {
		out := &ssov1.OktaSAMLIdentityProvider{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(p), out)).To(Succeed())
		return out
	}
	idpReady := func(p *ssov1.OktaSAMLIdentityProvider) func() string {
		return func() string { return conditionState(getIdP(p).Status.Conditions, ssov1.ReadyCondition) }
	}
	requestIdP := func(p *ssov1.OktaSAMLIdentityProvider, value string) {
		Eventually(func() error {
			current := getIdP(p)
			current.Annotations = map[string]string{ssov1.ReconcileRequestAnnotation: value}
			return k8s.Update(ctx, current)
		}).Should(Succeed())
	}
	// shareApps sets the IdP's spec.sharedApps to the named hub apps.
	shareApps := func(p *ssov1.OktaSAMLIdentityProvider, names ...string) {
		var shared []ssov1.SharedApp
		for _, n := range names {
			shared = append(shared, ssov1.SharedApp{Name: ssov1.ResourceName(n)})
		}
		Eventually(func() error {
			current := getIdP(p)
			current.Spec.SharedApps = shared
			return k8s.Update(ctx, current)
		}).Should(Succeed())
	}
	// wired checks both orgs: the hub trusts the spoke app's issuer, SSO URL
	// and certificate; the spoke app sends to the hub's ACS URL and audience.
	wired := func(p *ssov1.OktaSAMLIdentityProvider, app *ssov1.OktaSAMLApp) {
		p, app = getIdP(p), get(ctx, app)
		secret := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: app.Status.ConnectionSecretName}, secret)).To(Succeed())
		hubIdP, err := oktaAPI.GetIdentityProvider(ctx, p.Status.IdPID)
		Expect(err).NotTo(HaveOccurred())
		protocol := hubIdP["protocol"].(map[string]any)
		trust := protocol["credentials"].(map[string]any)["trust"].(map[string]any)
		Expect(trust["issuer"]).To(Equal(string(secret.Data["idp-issuer"])))
		Expect(protocol["endpoints"].(map[string]any)["sso"].(map[string]any)["url"]).To(Equal(string(secret.Data["idp-sso-url"])))
		key, err := oktaAPI.GetIdPKey(ctx, hubIdP.TrustKid())
		Expect(err).NotTo(HaveOccurred())
		Expect(string(secret.Data["idp.crt"])).To(ContainSubstring(key.X5c[0][:64]), "the hub trusts the spoke app's certificate")
		Expect(hubIdP["policy"].(map[string]any)["subject"].(map[string]any)["filter"]).To(Equal(`^[a-z.]+@example\.com$`))

		spokeApp, err := spokeAPI.GetApp(ctx, app.Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(spokeApp.Settings.App).To(HaveKeyWithValue("acsUrl", p.Status.ACSURL))
		Expect(spokeApp.Settings.App).To(HaveKeyWithValue("audRestriction", p.Status.Audience))
		Expect(spokeApp.Settings.App).To(HaveKeyWithValue("baseUrl", orgURL))
		Expect(p.Status.ACSURL).To(Equal(orgURL + "/sso/saml2/" + p.Status.IdPID))
		Expect(p.Status.TrustedCertificate.SHA256Fingerprint).To(MatchRegexp(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`))
	}

	DescribeTable("wires both orgs with one apply, whichever object comes first",
		func(idpFirst bool) {
			idp, app := pair()
			first, second := client.Object(app), client.Object(idp)
			if idpFirst {
				first, second = idp, app
			}
			Expect(k8s.Create(ctx, first)).To(Succeed())
			if idpFirst {
				Eventually(idpReady(idp), "30s").Should(Equal("False/" + ssov1.DependencyNotReadyReason))
			} else {
				Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.DependencyNotReadyReason))
				Expect(get(ctx, app).Status.AppID).NotTo(BeEmpty(), "the spoke app exists, so the hub can trust it")
			}
			Expect(k8s.Create(ctx, second)).To(Succeed())
			Eventually(idpReady(idp), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
			Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
			wired(idp, app)
			Expect(logs.String()).NotTo(ContainSubstring(spokeToken))
			Expect(recorder.all()).NotTo(ContainSubstring(spokeToken))
		},
		Entry("the hub's IdP first", true),
		Entry("the spoke's app first", false),
	)

	wiredPair := func() (*ssov1.OktaSAMLIdentityProvider, *ssov1.OktaSAMLApp) {
		idp, app := pair()
		Expect(k8s.Create(ctx, idp)).To(Succeed())
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(idpReady(idp), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		return idp, app
	}

	It("carries the spoke's new signing key to the hub, and drops the old key there", func() {
		idp, app := wiredPair()
		oldKey := getIdP(idp).Status.TrustedCertificate
		clock.Advance(time.Hour) // Okta orders keys by creation time
		annotate(ctx, app, ssov1.RotateSigningKeyAnnotation, "r1")
		Eventually(rotationPhase(ctx, app), "30s").Should(Equal(ssov1.RotationPhaseStaged))
		annotate(ctx, app, ssov1.PromoteSigningKeyAnnotation, "p1")
		Eventually(func() string { return get(ctx, app).Status.LastHandledPromoteAt }, "30s").Should(Equal("p1"))
		Eventually(func() string { return getIdP(idp).Status.TrustedCertificate.SHA256Fingerprint }, "30s").ShouldNot(Equal(oldKey.SHA256Fingerprint))
		wired(idp, app)
		_, err := oktaAPI.GetIdPKey(ctx, oldKey.KeyID)
		Expect(okta.IsNotFound(err)).To(BeTrue(), "the old key is gone from the hub: %v", err)
	})

	It("moves the hub's trust to the spoke's next key just before promoting it, with no IdP reconcile in between", func() {
		// In the namespace the suite's manager does not watch, each reconcile
		// is run by hand: after the promotion nothing else has touched the
		// hub, so its trust can only come from the promotion step.
		ensureSecrets(ctx, unwatchedNS)
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: unwatchedNS, Name: spokeSecret},
			StringData: map[string]string{"orgURL": spokeURL, "apiToken": spokeToken, "maxAPICapacityPercent": "100"}}
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		idp, app := pair()
		idp.Namespace, app.Namespace = unwatchedNS, unwatchedNS
		Expect(k8s.Create(ctx, idp)).To(Succeed())
		Expect(k8s.Create(ctx, app)).To(Succeed())
		apps, _ := countingReconciler()
		idps := &controller.OktaSAMLIdentityProviderReconciler{Client: k8s, APIReader: k8s, Recorder: recorder, Now: clock.Now, Cluster: &controller.ClusterID{Name: clusterID},
			Orgs: &controller.SecretOrgs{Egress: loopbackEgress, Reader: k8s, Now: clock.Now, Configure: fastRetries}}
		reconcile := func(r interface {
			Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
		}, o client.Object) {
			_, _ = r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
		for range 2 {
			reconcile(apps, app) // created with placeholders, Secret published
			reconcile(idps, idp) // trusts the app, publishes its ACS URL
		}
		reconcile(apps, app) // takes the hub's values
		Expect(readyReason(ctx, app)).To(Equal(ready))

		clock.Advance(time.Hour) // Okta orders keys by creation time
		annotate(ctx, app, ssov1.RotateSigningKeyAnnotation, "r1")
		reconcile(apps, app)
		Expect(get(ctx, app).Status.SigningKey.RotationPhase).To(Equal(ssov1.RotationPhaseStaged))
		next := get(ctx, app).Status.SigningKey.NextKeyID
		annotate(ctx, app, ssov1.PromoteSigningKeyAnnotation, "p1")
		reconcile(apps, app)
		Expect(get(ctx, app).Status.SigningKey.ActiveKeyID).To(Equal(next))

		nextKey, err := spokeAPI.GetAppKey(ctx, get(ctx, app).Status.AppID, next)
		Expect(err).NotTo(HaveOccurred())
		hubIdP, err := oktaAPI.GetIdentityProvider(ctx, getIdP(idp).Status.IdPID)
		Expect(err).NotTo(HaveOccurred())
		kid := hubIdP.TrustKid()
		trusted, err := oktaAPI.GetIdPKey(ctx, kid)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.ReplaceAll(trusted.X5c[0], "\n", "")).To(Equal(strings.ReplaceAll(nextKey.X5c[0], "\n", "")), "the hub trusts the promoted key")

		reconcile(idps, idp) // the IdP catches up: same key, the old one deleted
		Expect(getIdP(idp).Status.TrustedCertificate.KeyID).To(Equal(kid))

		By("an IdP whose status is lost (restored from a backup) does not take the hub's values from the app, and is owned again only when adopted")
		before, err := spokeAPI.GetApp(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		lost := getIdP(idp)
		lost.Status = ssov1.OktaSAMLIdentityProviderStatus{}
		Expect(k8s.Status().Update(ctx, lost)).To(Succeed())
		reconcile(apps, app)
		Expect(readyReason(ctx, app)).To(Equal("False/" + ssov1.DependencyNotReadyReason))
		after, err := spokeAPI.GetApp(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Settings.App).To(Equal(before.Settings.App), "sign-ins that work keep working")
		reconcile(idps, idp) // Okta keeps no owner on an IdP: the ID annotation alone is not enough
		Expect(conditionState(getIdP(idp).Status.Conditions, ssov1.ReadyCondition)).To(Equal("False/" + ssov1.NotOwnedReason))
		annotateIdP(ctx, idp, ssov1.AdoptAnnotation, "Delete") // a person vouches for it
		reconcile(idps, idp)                                   // adopted, its outputs published again
		Expect(getIdP(idp).Status.Origin).To(Equal(ssov1.OriginAdopted))
		reconcile(apps, app)
		Expect(readyReason(ctx, app)).To(Equal(ready))
		Expect(k8s.Delete(ctx, idp)).To(Succeed())
		reconcile(idps, idp)
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		reconcile(apps, app)
	})

	It("carries a new hub IdP to the spoke: one deleted in the hub by hand is created again, and the app takes its ACS URL", func() {
		idp, app := wiredPair()
		oldID := getIdP(idp).Status.IdPID
		Expect(oktaAPI.DeactivateIdentityProvider(ctx, oldID)).To(Succeed())
		Expect(oktaAPI.DeleteIdentityProvider(ctx, oldID)).To(Succeed())
		requestIdP(idp, "after-hand-delete") // or the interval
		Eventually(func() string { return getIdP(idp).Status.IdPID }, "30s").ShouldNot(Equal(oldID))
		Eventually(func() any {
			a, err := spokeAPI.GetApp(ctx, get(ctx, app).Status.AppID)
			Expect(err).NotTo(HaveOccurred())
			return a.Settings.App["acsUrl"]
		}, "30s").Should(Equal(getIdP(idp).Status.ACSURL))
		wired(idp, app)
	})

	It("gives spoke users a tile for each shared hub app, and takes away one no longer shared", func() {
		wiki := newApp(watchedNS)
		Expect(k8s.Create(ctx, wiki)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, wiki) }, "30s").Should(Equal(ready))
		idp, app := wiredPair()
		eng, err := spokeAPI.FindGroupByName(ctx, "Engineering")
		Expect(err).NotTo(HaveOccurred())
		_, err = spokeAPI.AssignGroup(ctx, get(ctx, app).Status.AppID, eng.ID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())

		shareApps(idp, wiki.Name)
		Eventually(func() []ssov1.SharedAppStatus { return getIdP(idp).Status.SharedApps }, "30s").Should(HaveLen(1))
		tile := getIdP(idp).Status.SharedApps[0]
		bookmark, err := spokeAPI.GetApp(ctx, tile.BookmarkAppID)
		Expect(err).NotTo(HaveOccurred())
		spokeSecret, wikiSecret := &corev1.Secret{}, &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: get(ctx, app).Status.ConnectionSecretName}, spokeSecret)).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: watchedNS, Name: get(ctx, wiki).Status.ConnectionSecretName}, wikiSecret)).To(Succeed())
		Expect(bookmark.Name).To(Equal("bookmark"))
		Expect(bookmark.Settings.Notes.Admin).To(HaveValue(HavePrefix("Managed by okta-sso-operator: OktaSAMLIdentityProvider "+watchedNS+"/"+idp.Name+" in cluster "+clusterID)),
			"the tile carries its owner note: only such bookmark apps are ever removed")
		Expect(bookmark.Label).To(Equal(wiki.Spec.Label))
		Expect(bookmark.Settings.App["url"]).To(Equal(string(spokeSecret.Data["idp-sso-url"]) + "?RelayState=" + url.QueryEscape(string(wikiSecret.Data["idp-initiated-url"]))))
		Expect(tile.URL).To(Equal(bookmark.Settings.App["url"]))
		groups, err := spokeAPI.ListAppGroups(ctx, tile.BookmarkAppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(groups).To(ConsistOf(HaveField("ID", eng.ID)), "the tile goes to whoever may use the Org2Org app")

		By("no longer shared: the tile is deleted")
		shareApps(idp)
		Eventually(func() []ssov1.SharedAppStatus { return getIdP(idp).Status.SharedApps }, "30s").Should(BeEmpty())
		_, err = spokeAPI.GetApp(ctx, tile.BookmarkAppID)
		Expect(okta.IsNotFound(err)).To(BeTrue(), "the bookmark is gone from the spoke: %v", err)
	})

	It("gives the tile to a group bound to the Org2Org app after the tile was made, with no change to the IdP", func() {
		wiki := newApp(watchedNS)
		Expect(k8s.Create(ctx, wiki)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, wiki) }, "30s").Should(Equal(ready))
		idp, app := wiredPair()
		shareApps(idp, wiki.Name)
		Eventually(func() []ssov1.SharedAppStatus { return getIdP(idp).Status.SharedApps }, "30s").Should(HaveLen(1))
		tile := getIdP(idp).Status.SharedApps[0].BookmarkAppID
		groups, err := spokeAPI.ListAppGroups(ctx, tile)
		Expect(err).NotTo(HaveOccurred())
		Expect(groups).To(BeEmpty(), "nobody may use the Org2Org app yet")
		generation := getIdP(idp).Generation

		binding := &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: app.Name + "-engineering"},
			Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(app.Name)},
				Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}}}
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		eng, err := spokeAPI.FindGroupByName(ctx, "Engineering")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() ([]okta.AppGroupAssignment, error) { return spokeAPI.ListAppGroups(ctx, tile) }, "30s").
			Should(ConsistOf(HaveField("ID", eng.ID)), "the binding's group sees the tile")
		Expect(getIdP(idp).Generation).To(Equal(generation))
		Expect(getIdP(idp).Annotations).NotTo(HaveKey(ssov1.ReconcileRequestAnnotation))
	})

	DescribeTable("deletes each side in either order",
		func(idpFirst bool) {
			idp, app := wiredPair()
			idpID, appID := getIdP(idp).Status.IdPID, get(ctx, app).Status.AppID
			kid := getIdP(idp).Status.TrustedCertificate.KeyID
			deleteIdP := func() {
				Expect(k8s.Delete(ctx, idp)).To(Succeed())
				Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(idp), idp)) }, "30s").Should(BeTrue())
				_, err := oktaAPI.GetIdentityProvider(ctx, idpID)
				Expect(okta.IsNotFound(err)).To(BeTrue(), "the hub's IdP is deleted: %v", err)
				_, err = oktaAPI.GetIdPKey(ctx, kid)
				Expect(okta.IsNotFound(err)).To(BeTrue(), "and its key: %v", err)
			}
			deleteApp := func() {
				Expect(k8s.Delete(ctx, app)).To(Succeed())
				Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(app), app)) }, "30s").Should(BeTrue())
				_, err := spokeAPI.GetApp(ctx, appID)
				Expect(okta.IsNotFound(err)).To(BeTrue(), "the spoke's app is deleted: %v", err)
			}
			if idpFirst {
				deleteIdP()
				Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.DependencyNotReadyReason))
				deleteApp()
			} else {
				deleteApp()
				requestIdP(idp, "app-gone")
				Eventually(idpReady(idp), "30s").Should(Equal("False/" + ssov1.DependencyNotReadyReason))
				deleteIdP()
			}
		},
		Entry("the hub's IdP first", true),
		Entry("the spoke's app first", false),
	)
})

// spokeSecret is the org Secret of the current spec's spoke org.
var spokeSecret string
