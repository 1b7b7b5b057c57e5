package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/oktatest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	// tenantWindow is the shared org's rate-limit window.
	tenantWindow = 10 * time.Second
	// noisyApps are team A's apps, each read once a minute by its drift
	// check (following off): 33 a window against the operator's 20 of
	// the app bucket (tenantAppLimit at the default 50%).
	noisyApps      = 200
	tenantAppLimit = 40
)

// Two teams through one ClusterOktaOrg, as a platform team runs it: team B
// tries what its rule does not grant, and has its app Ready in its fair
// time while team A's apps keep the org's app bucket full.
var _ = Describe("Two teams in one ClusterOktaOrg, through the built binaries", func() {
	It("refuses what a team was not granted, writing nothing, and keeps its share of the org while the other team saturates it", func(ctx context.Context) {
		orgURL := startNamedOrg(GinkgoT().TempDir(), "company", "groups: [{name: team-a-users}, {name: team-b-users}, {name: Admins}]\n",
			"--rate-limit-window", tenantWindow.String())
		putJSON(orgURL+"/emulator/rate-limits", emulator.UnlimitedRateLimits()) // the set-up is not what is measured
		oktaClient, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())

		platform, teamA, teamB := namespace(ctx, "e2e-platform-"), namespace(ctx, "e2e-team-a-"), namespace(ctx, "e2e-team-b-")
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: platform, Name: "okta-admin"}, StringData: map[string]string{"token": e2eToken}})).To(Succeed())
		company := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{GenerateName: "company-"}, Spec: ssov1.ClusterOktaOrgSpec{
			OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(orgURL), SystemLogPollInterval: &metav1.Duration{},
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: "okta-admin", Key: "token"}}},
			Conditions: []ssov1.NamespaceCondition{{Namespaces: []string{teamA, teamB}}},
			Tenants:    []ssov1.TenantRule{teamRule(teamA, "team-a-*"), teamRule(teamB, "team-b-*")},
		}}
		Expect(k8s.Create(ctx, company)).To(Succeed())
		DeferCleanup(func(ctx context.Context) { Expect(k8s.Delete(ctx, company)).To(Succeed()) })
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(), "--cluster-resource-namespace", platform)
		DeferCleanup(func() { manager.Terminate().Wait("10s") })
		DeferCleanup(func(ctx context.Context) { // before the manager stops: the next specs' managers must not inherit them
			for _, ns := range []string{teamA, teamB} {
				Expect(k8s.DeleteAllOf(ctx, &ssov1.SSOBinding{}, client.InNamespace(ns))).To(Succeed())
				Expect(k8s.DeleteAllOf(ctx, &ssov1.OktaSAMLIdentityProvider{}, client.InNamespace(ns))).To(Succeed())
				Expect(k8s.DeleteAllOf(ctx, &ssov1.OktaSAMLApp{}, client.InNamespace(ns))).To(Succeed())
				Eventually(func() int { return countAll(ctx, ns) }, "5m", "2s").Should(BeZero())
			}
		})
		DeferCleanup(func() { putJSON(orgURL+"/emulator/rate-limits", emulator.UnlimitedRateLimits()) }) // first: the clean-up is not what is measured

		By("team B's first app, alone in the org")
		start := time.Now()
		first := teamApp(teamB, "first", company.Name)
		Expect(k8s.Create(ctx, first)).To(Succeed())
		Eventually(func() string { return readyOf(ctx, first) }, "60s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		alone := time.Since(start)

		By("team B binding Everyone, pointing an ACS at team A's host, adopting, and making an identity provider: refused, nothing written")
		writesBefore := orgWrites(orgURL)
		everyone := &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: teamB, Name: "everyone"}, Spec: ssov1.SSOBindingSpec{
			AppRef: ssov1.LocalObjectReference{Name: "first"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Everyone"}}}}
		hijack := teamApp(teamB, "hijack", company.Name)
		hijack.Spec.ServiceProvider.ACSURL = ssov1.URL("https://wiki." + teamA + ".example.com/acs")
		handMade, err := oktatest.HandMadeSAMLApp(ctx, oktaClient, "Payroll", "Owner: HR")
		Expect(err).NotTo(HaveOccurred())
		writesBefore++ // the hand-made app, the company's own
		adopt := teamApp(teamB, "adopt", company.Name)
		adopt.Annotations = map[string]string{ssov1.AppIDAnnotation: handMade.ID, ssov1.AdoptAnnotation: "true"}
		idp := &ssov1.OktaSAMLIdentityProvider{ObjectMeta: metav1.ObjectMeta{Namespace: teamB, Name: "partner"}, Spec: ssov1.OktaSAMLIdentityProviderSpec{
			OrgRef: ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(company.Name)}, SpokeAppRef: &ssov1.LocalObjectReference{Name: "spoke"}}}
		for obj, field := range map[client.Object]string{everyone: "groups", hijack: "serviceProviderHosts", adopt: "adoption", idp: "identityProviders"} {
			Expect(k8s.Create(ctx, obj)).To(Succeed())
			Eventually(func() string { return readyOf(ctx, obj) }, "60s").Should(Equal("False/"+ssov1.PolicyDeniedReason), obj.GetName())
			Expect(readyMessage(ctx, obj)).To(ContainSubstring("("+field+") of ClusterOktaOrg "+company.Name), obj.GetName())
		}
		Expect(orgWrites(orgURL)).To(Equal(writesBefore), "a refused object wrote to Okta")

		By(fmt.Sprintf("team A's %d apps, each checked against Okta every minute, then Okta's limits with an app bucket of %d a window", noisyApps, tenantAppLimit))
		for i := range noisyApps {
			app := teamApp(teamA, fmt.Sprintf("app-%03d", i), company.Name)
			app.Spec.Interval = metav1.Duration{Duration: time.Minute}
			Expect(k8s.Create(ctx, app)).To(Succeed())
		}
		Eventually(func() int { return countTrue(ctx, teamA, ssov1.ReadyCondition, &ssov1.OktaSAMLAppList{}) }, "10m", "2s").Should(Equal(noisyApps))
		limits := maps.Clone(emulator.DefaultRateLimits)
		limits[okta.BucketApp] = tenantAppLimit
		putJSON(orgURL+"/emulator/rate-limits", limits)
		Eventually(func() int { // team A's drift checks fill the operator's share of the app bucket, window after window
			resetOrgStats(orgURL)
			time.Sleep(tenantWindow)
			return orgStats(orgURL).Buckets[okta.BucketApp]
		}, "3m").Should(BeNumerically(">=", tenantAppLimit/2))

		By("team B's next app, within twice its time alone plus one window")
		start = time.Now()
		next := teamApp(teamB, "next", company.Name)
		Expect(k8s.Create(ctx, next)).To(Succeed())
		bound := 2*alone + tenantWindow
		Eventually(func() string { return readyOf(ctx, next) }, bound+5*time.Second, "250ms").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		AddReportEntry("team B's app", fmt.Sprintf("alone %s; with team A saturating the app bucket %s (bound %s)", alone.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), bound.Round(time.Millisecond)))
	})
})

// teamRule grants a team its own hosts and groups, in tiles that carry
// its name.
func teamRule(ns, groups string) ssov1.TenantRule {
	return ssov1.TenantRule{NamespaceCondition: ssov1.NamespaceCondition{Namespaces: []string{ns}},
		LabelPrefix: "${namespace} · ", ServiceProviderHosts: []string{"*." + ns + ".example.com"},
		Groups: &ssov1.GroupRule{Allow: []string{groups}}}
}

// teamApp is an app of the team's own, in the shared org.
func teamApp(ns, name, org string) *ssov1.OktaSAMLApp {
	return &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: ssov1.OktaSAMLAppSpec{
		OrgRef: ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(org)}, Label: ns + " · " + name,
		ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://" + name + "." + ns + ".example.com/saml", ACSURL: ssov1.URL("https://" + name + "." + ns + ".example.com/saml/acs")},
	}}
}

// namespace creates a namespace with a generated name and returns it.
func namespace(ctx context.Context, prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// resetOrgStats zeroes the org's request counts.
func resetOrgStats(orgURL string) {
	req, err := http.NewRequest(http.MethodDelete, orgURL+"/emulator/stats", nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.Body.Close()).To(Succeed())
}

// orgWrites counts every request the org answered but reads.
func orgWrites(orgURL string) int {
	n := 0
	for route, count := range orgStats(orgURL).Routes {
		if !strings.HasPrefix(route, "GET ") {
			n += count
		}
	}
	return n
}

func readyMessage(ctx context.Context, obj client.Object) string {
	current := obj.DeepCopyObject().(client.Object)
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), current)).To(Succeed())
	for _, c := range conditionsOf(current) {
		if c.Type == ssov1.ReadyCondition {
			return c.Message
		}
	}
	return ""
}
