package controller_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// A team's objects in a ClusterOktaOrg with a tenant policy: each rule
// refuses (PolicyDenied, Stalled, nothing written to Okta) and allows, run
// through the controllers against an org of the spec's own so every write
// can be counted.
var _ = Describe("Tenant policy of a ClusterOktaOrg", func() {
	var (
		ctx     context.Context
		company *ssov1.ClusterOktaOrg
		lone    *emulator.Server
		loneAPI okta.API
	)
	BeforeEach(func() {
		ctx = context.Background()
		ensureSecrets(ctx, watchedNS)
		var err error
		lone, err = emulator.New(emulator.Config{APIToken: apiToken, OrgName: "tenants", Now: clock.Now, RateLimits: generousLimits})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewServer(lone.Handler())
		DeferCleanup(ts.Close)
		lone.SetBaseURL(ts.URL)
		loneAPI, err = okta.New(okta.Config{OrgURL: ts.URL, APIToken: apiToken, Budget: okta.NewBudget(100, clock.Now), Now: clock.Now})
		Expect(err).NotTo(HaveOccurred())
		Expect(lone.Seed(&emulator.Seed{
			Groups:         []emulator.SeedGroup{{Name: "team-a-users"}, {Name: "team-a-admins"}, {Name: "payroll"}},
			Users:          []emulator.SeedUser{{Login: "ann@example.com", Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Groups: []string{"team-a-users"}}},
			AccessPolicies: []emulator.SeedPolicy{{Name: "Team A MFA"}},
		})).To(Succeed())
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: "tenants-" + rand.String(5)}, StringData: map[string]string{"token": apiToken}}
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		company = &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "tenants-" + rand.String(5)},
			Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(ts.URL), MaxAPICapacityPercent: 100, MaxOrgDeactivationPercent: ptr.To[int32](100),
				SystemLogPollInterval: &metav1.Duration{},
				Credentials:           ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret.Name), Key: "token"}}}}}
		Expect(k8s.Create(ctx, company)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, company))).To(Succeed()) })
	})

	// setRule makes rule (for this suite's namespace) the org's only tenant rule.
	setRule := func(rule ssov1.TenantRule) {
		rule.Namespaces = []string{watchedNS}
		Eventually(func() error {
			current := &ssov1.ClusterOktaOrg{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(company), current); err != nil {
				return err
			}
			current.Spec.Tenants = []ssov1.TenantRule{rule}
			return k8s.Update(ctx, current)
		}, "10s").Should(Succeed())
	}
	// writes counts what was written to the org: every request but reads.
	writes := func() int {
		n := 0
		for route, count := range lone.Stats().Routes {
			if !strings.HasPrefix(route, "GET ") {
				n += count
			}
		}
		return n
	}
	teamApp := func() *ssov1.OktaSAMLApp {
		app := newApp(watchedNS)
		app.Spec.OrgRef = ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(company.Name)}
		app.Spec.Label = "team-a · " + app.Name
		app.Spec.ServiceProvider.ACSURL = "https://wiki.team-a.example.com/acs"
		return app
	}
	ready := func(obj client.Object) func() string {
		return func() string {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return err.Error()
			}
			conds := obj.(interface{ GetCommonStatus() *ssov1.CommonStatus }).GetCommonStatus().Conditions
			out := conditionState(conds, ssov1.ReadyCondition)
			if c := meta.FindStatusCondition(conds, ssov1.ReadyCondition); c != nil && c.Reason == ssov1.PolicyDeniedReason {
				out += " " + conditionState(conds, ssov1.StalledCondition) + ": " + c.Message
			}
			return out
		}
	}
	readyApp := func() *ssov1.OktaSAMLApp {
		app := teamApp()
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(ready(app), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		return app
	}
	denied := func(field string) string {
		return "False/" + ssov1.PolicyDeniedReason + " True/" + ssov1.PolicyDeniedReason + ": .*\\(" + strings.ReplaceAll(field, ".", "\\.") + "\\) of ClusterOktaOrg "
	}

	It("stops changing, and keeps, what a narrowed policy refuses; widened again, it converges", func() {
		setRule(ssov1.TenantRule{ServiceProviderHosts: []string{"*.team-a.example.com"}})
		app := readyApp()
		binding := newBinding(app.Name, group("team-a-users"))
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, binding))).To(Succeed()) })
		Eventually(ready(binding), "30s").Should(HavePrefix("True/"))
		before := writes()

		By("narrowing the hosts and the groups: both refused at once, nothing deleted or written")
		setRule(ssov1.TenantRule{ServiceProviderHosts: []string{"*.team-b.example.com"}, Groups: &ssov1.GroupRule{Deny: []string{"team-a-*"}}})
		Eventually(ready(app), "10s").Should(MatchRegexp(denied("serviceProviderHosts")))
		Eventually(ready(binding), "10s").Should(MatchRegexp(denied("groups")))
		Expect(ready(app)()).NotTo(ContainSubstring("team-b"), "the message names only the team's own values and the rule")
		Expect(writes()).To(Equal(before), "a narrowed policy wrote to Okta")
		Expect(lone.Stats().Routes["DELETE /api/v1/apps/{appID}"]).To(BeZero())
		groups, err := loneAPI.ListAppGroups(ctx, app.Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(groups).To(HaveLen(1), "the assignment made before the policy narrowed is kept")

		By("widening it again")
		setRule(ssov1.TenantRule{ServiceProviderHosts: []string{"*.team-a.example.com"}})
		Eventually(ready(app), "10s").Should(HavePrefix("True/"))
		Eventually(ready(binding), "10s").Should(HavePrefix("True/"))
	})

	It("wakes the org's objects for a change to its spec, not for its status written at each check", func() {
		app := readyApp()
		reads := func() int { return lone.Stats().Routes["GET /api/v1/apps/{appID}"] }
		Eventually(func() int { // the app's follow-up check after it was made is over
			before := reads()
			time.Sleep(time.Second)
			return reads() - before
		}, "10s").Should(BeZero())
		before := reads()
		Eventually(func() error { // what a credential check writes
			current := &ssov1.ClusterOktaOrg{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(company), current); err != nil {
				return err
			}
			current.Status.RateLimits = append(current.Status.RateLimits, ssov1.BucketStatus{Bucket: "/api/v1/apps", Limit: 100, Remaining: 99, Reset: metav1.Now()})
			return k8s.Status().Update(ctx, current)
		}, "10s").Should(Succeed())
		Consistently(reads, "2s", "250ms").Should(Equal(before), "a status write of the org read the app in Okta")

		setRule(ssov1.TenantRule{LabelPrefix: "team-a"})
		Eventually(reads, "10s").Should(BeNumerically(">", before), "a policy change re-evaluates the org's objects")
		Eventually(ready(app), "10s").Should(HavePrefix("True/"))
	})

	type kase struct {
		rule ssov1.TenantRule
		// needsApp: the object is a binding or a sync of a Ready app.
		needsApp bool
		make     func(app *ssov1.OktaSAMLApp) client.Object
		denied   string // the rule's field the refusal names; "" allows
	}
	DescribeTable("each rule refusing, with nothing written to Okta, and allowing",
		func(k kase) {
			setRule(k.rule)
			var app *ssov1.OktaSAMLApp
			if k.needsApp {
				app = readyApp()
			}
			before := writes()
			obj := k.make(app)
			Expect(k8s.Create(ctx, obj)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, obj))).To(Succeed()) })
			if k.denied == "" {
				Eventually(ready(obj), "30s").Should(HavePrefix("True/"))
				return
			}
			Eventually(ready(obj), "30s").Should(MatchRegexp(denied(k.denied)))
			Expect(ready(obj)()).To(ContainSubstring("nothing was written to Okta"))
			Expect(writes()).To(Equal(before), "a refused object wrote to Okta")
		},
		Entry("a label without the namespace's prefix", kase{rule: ssov1.TenantRule{LabelPrefix: "${namespace} · "}, denied: "labelPrefix",
			make: func(*ssov1.OktaSAMLApp) client.Object { a := teamApp(); a.Spec.Label = "Payroll"; return a }}),
		Entry("a label with it", kase{rule: ssov1.TenantRule{LabelPrefix: "team-a · "},
			make: func(*ssov1.OktaSAMLApp) client.Object { return teamApp() }}),
		Entry("an ACS on another team's host", kase{rule: ssov1.TenantRule{ServiceProviderHosts: []string{"*.team-a.example.com"}}, denied: "serviceProviderHosts",
			make: func(*ssov1.OktaSAMLApp) client.Object {
				a := teamApp()
				a.Spec.ServiceProvider.ACSURL = "https://wiki.team-b.example.com/acs"
				return a
			}}),
		Entry("an ACS on its own", kase{rule: ssov1.TenantRule{ServiceProviderHosts: []string{"*.team-a.example.com"}},
			make: func(*ssov1.OktaSAMLApp) client.Object { return teamApp() }}),
		Entry("a sign-on policy by default", kase{denied: "authenticationPolicies",
			make: func(*ssov1.OktaSAMLApp) client.Object {
				a := teamApp()
				a.Spec.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{Name: "Team A MFA"}
				return a
			}}),
		Entry("the sign-on policy granted", kase{rule: ssov1.TenantRule{AuthenticationPolicies: []string{"Team A MFA"}},
			make: func(*ssov1.OktaSAMLApp) client.Object {
				a := teamApp()
				a.Spec.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{Name: "Team A MFA"}
				return a
			}}),
		Entry("deletionPolicy Orphan where Delete is forced", kase{rule: ssov1.TenantRule{DeletionPolicy: ssov1.DeletionPolicyDelete}, denied: "deletionPolicy",
			make: func(*ssov1.OktaSAMLApp) client.Object {
				a := teamApp()
				a.Spec.DeletionPolicy = ssov1.DeletionPolicyOrphan
				return a
			}}),
		Entry("adopting a hand-made app by default", kase{denied: "adoption",
			make: func(*ssov1.OktaSAMLApp) client.Object {
				a := teamApp()
				a.Annotations = map[string]string{ssov1.AppIDAnnotation: "0oa1handmade00000000", ssov1.AdoptAnnotation: "true"}
				return a
			}}),
		Entry("an app over the namespace's limit", kase{rule: ssov1.TenantRule{Limits: &ssov1.TenantLimits{Apps: ptr.To[int32](0)}}, denied: "limits.apps",
			make: func(*ssov1.OktaSAMLApp) client.Object { return teamApp() }}),
		Entry("binding Everyone by default", kase{needsApp: true, denied: "groups",
			make: func(app *ssov1.OktaSAMLApp) client.Object { return newBinding(app.Name, group("Everyone")) }}),
		Entry("binding a group outside allow", kase{needsApp: true, rule: ssov1.TenantRule{Groups: &ssov1.GroupRule{Allow: []string{"team-a-*"}, Deny: []string{"*admins"}}}, denied: "groups",
			make: func(app *ssov1.OktaSAMLApp) client.Object {
				return newBinding(app.Name, group("team-a-users"), group("payroll"))
			}}),
		Entry("binding a denied group", kase{needsApp: true, rule: ssov1.TenantRule{Groups: &ssov1.GroupRule{Allow: []string{"team-a-*"}, Deny: []string{"*admins"}}}, denied: "groups",
			make: func(app *ssov1.OktaSAMLApp) client.Object { return newBinding(app.Name, group("team-a-admins")) }}),
		Entry("binding an allowed group", kase{needsApp: true, rule: ssov1.TenantRule{Groups: &ssov1.GroupRule{Allow: []string{"team-a-*"}, Deny: []string{"*admins"}}},
			make: func(app *ssov1.OktaSAMLApp) client.Object { return newBinding(app.Name, group("team-a-users")) }}),
		Entry("binding a user where direct users are denied", kase{needsApp: true, rule: ssov1.TenantRule{DirectUsers: ssov1.Denied}, denied: "directUsers",
			make: func(app *ssov1.OktaSAMLApp) client.Object { return newBinding(app.Name, user("ann@example.com")) }}),
		Entry("binding a user by default", kase{needsApp: true,
			make: func(app *ssov1.OktaSAMLApp) client.Object { return newBinding(app.Name, user("ann@example.com")) }}),
		Entry("a binding over the limit", kase{needsApp: true, rule: ssov1.TenantRule{Limits: &ssov1.TenantLimits{Bindings: ptr.To[int32](0)}}, denied: "limits.bindings",
			make: func(app *ssov1.OktaSAMLApp) client.Object { return newBinding(app.Name, group("team-a-users")) }}),
		Entry("an identity provider by default", kase{denied: "identityProviders",
			make: func(*ssov1.OktaSAMLApp) client.Object { return teamIdP(company.Name) }}),
		Entry("a sync reading the whole profile", kase{needsApp: true, denied: "accountSync.profileAttributes",
			make: func(app *ssov1.OktaSAMLApp) client.Object { return teamSync(app, "user") }}),
		Entry("a sync reading an attribute outside the allowlist", kase{needsApp: true, denied: "accountSync.profileAttributes",
			make: func(app *ssov1.OktaSAMLApp) client.Object { return teamSync(app, "user.salary") }}),
		Entry("a sync where syncs are denied", kase{needsApp: true, rule: ssov1.TenantRule{AccountSync: &ssov1.AccountSyncRule{Allowed: ptr.To(false)}}, denied: "accountSync.allowed",
			make: func(app *ssov1.OktaSAMLApp) client.Object { return teamSync(app, "user.email") }}),
	)
})

// teamIdP is an identity provider in the suite's namespace in the
// ClusterOktaOrg named.
func teamIdP(org string) *ssov1.OktaSAMLIdentityProvider {
	return &ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "idp-" + rand.String(5)},
		Spec: ssov1.OktaSAMLIdentityProviderSpec{OrgRef: ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(org)},
			SpokeAppRef: &ssov1.LocalObjectReference{Name: "spoke"}}}
}

// teamSync is an AccountSync of app with one mapping.
func teamSync(app *ssov1.OktaSAMLApp, expression string) *ssov1.AccountSync {
	return &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "sync-" + rand.String(6)},
		Spec: ssov1.AccountSyncSpec{AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(app.Name)},
			Target: ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: "https://scim.team-a.example.com/scim/v2",
				AuthSecretRef: ssov1.SecretKeySelector{Name: "scim-token", Key: "token"}}},
			AttributeMappings: []ssov1.AttributeMapping{{Target: "displayName", Expression: expression}}}}
}
