package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// fetchJSON reads a JSON document over HTTP into out.
func fetchJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

var _ = Describe("An AccountSync through the built binaries", func() {
	It("matches daily and on demand, then provisions and deactivates an unassigned user without a DELETE", func(ctx context.Context) {
		dir := GinkgoT().TempDir()
		seed := `groups: [{name: Engineering}]
users:
  - {login: alice@example.com, firstName: Alice, lastName: Smith, groups: [Engineering]}
  - {login: bob@example.com, firstName: Bob, lastName: Jones, groups: [Engineering]}
`
		const scimToken = "e2e-scim-token"

		By("the local Okta org, a SCIM service provider holding alice's account, and the manager")
		orgURL := startLocalOrg(dir, seed)
		sp := startBinary("github.com/oktaop/okta-sso-operator/hack/scim-server", "--token", scimToken, "--user", "alice@example.com")
		Eventually(sp.Out, "30s").Should(gbytes.Say(`/scim/v2`))
		scimURL := strings.TrimSpace(strings.Split(string(sp.Out.Contents()), "\n")[0])
		inspect := strings.TrimSuffix(scimURL, "/scim/v2") + "/_test/"
		metricsAddr := freeAddr()
		manager := startManager("--metrics-bind-address", metricsAddr, "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("10s") })

		By("an app, Engineering bound to it, and a Match-mode AccountSync")
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-sync-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		for name, data := range map[string]map[string]string{
			"okta-org": {"orgURL": orgURL, "apiToken": e2eToken, "maxOrgDeactivationPercent": "50"}, "scim-token": {"token": scimToken},
		} {
			Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name}, StringData: data})).To(Succeed())
		}
		app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "backup"}, Spec: ssov1.OktaSAMLAppSpec{
			OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: "Backup portal",
			ServiceProvider: &ssov1.ServiceProvider{EntityID: "backup-portal", ACSURL: "https://backup.example.com/saml/acs"},
		}}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		binding := &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "engineering"}, Spec: ssov1.SSOBindingSpec{
			AppRef: ssov1.LocalObjectReference{Name: "backup"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}},
		}}
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		Eventually(func(g Gomega) {
			b := &ssov1.SSOBinding{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(binding), b)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(b.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue())
		}, "60s").Should(Succeed(), "the users are assigned before the first run")
		sync := &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "backup-accounts"}, Spec: ssov1.AccountSyncSpec{
			AppRef: ssov1.LocalObjectReference{Name: "backup"}, Mode: ssov1.SyncModeMatch,
			Target: ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(scimURL), AuthSecretRef: ssov1.SecretKeySelector{Name: "scim-token", Key: "token"}}},
		}}
		Expect(k8s.Create(ctx, sync)).To(Succeed())
		current := func() *ssov1.AccountSync {
			s := &ssov1.AccountSync{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(sync), s)).To(Succeed())
			return s
		}
		summary := func() ssov1.SyncSummary {
			if s := current().Status.Summary; s != nil {
				return *s
			}
			return ssov1.SyncSummary{}
		}
		Eventually(summary, "60s").Should(Equal(ssov1.SyncSummary{OktaUsers: 2, TargetAccounts: 1, Matched: 1, Unmatched: 1}))
		Expect(meta.IsStatusConditionTrue(current().Status.Conditions, ssov1.SyncedCondition)).To(BeTrue())
		Expect(current().Status.Unmatched).To(ConsistOf(ssov1.UnmatchedUser{Login: "bob@example.com", MatchValue: "bob@example.com"}))

		By("sync now, by the annotation")
		annotate(ctx, sync, ssov1.ReconcileRequestAnnotation, "sync-now-1")
		Eventually(func() string { return current().Status.LastHandledReconcileAt }, "60s").Should(Equal("sync-now-1"))
		var requests []string
		Expect(fetchJSON(inspect+"requests", &requests)).To(Succeed())
		for _, r := range requests {
			Expect(r).To(HavePrefix("GET "), "Match mode writes nothing")
		}

		By("Provision: bob's account is created")
		Eventually(func() error {
			s := current()
			s.Spec.Mode = ssov1.SyncModeProvision
			s.Spec.Safeguard.MaxDeactivationPercent = ptrTo[int32](50)
			return k8s.Update(ctx, s)
		}).Should(Succeed())
		Eventually(func() int32 { return summary().Created }, "60s").Should(Equal(int32(1)))

		By("bob leaves Engineering in Okta: after sync now, his account is inactive, and nothing was deleted")
		c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())
		bob, err := c.FindUserByLogin(ctx, "bob@example.com")
		Expect(err).NotTo(HaveOccurred())
		group, err := c.FindGroupByName(ctx, "Engineering")
		Expect(err).NotTo(HaveOccurred())
		req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, orgURL+"/api/v1/groups/"+group.ID+"/users/"+bob.ID, nil)
		req.Header.Set("Authorization", "SSWS "+e2eToken)
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		annotate(ctx, sync, ssov1.ReconcileRequestAnnotation, "sync-now-2")
		Eventually(func() string { return current().Status.LastHandledReconcileAt }, "60s").Should(Equal("sync-now-2"))
		Expect(summary().Deactivated).To(Equal(int32(1)))
		var accounts map[string]map[string]any
		Expect(fetchJSON(inspect+"users", &accounts)).To(Succeed())
		active := map[string]any{}
		for _, a := range accounts {
			active[a["userName"].(string)] = a["active"]
		}
		Expect(active).To(Equal(map[string]any{"alice@example.com": true, "bob@example.com": false}))
		Expect(fetchJSON(inspect+"requests", &requests)).To(Succeed())
		for _, r := range requests {
			Expect(r).NotTo(HavePrefix("DELETE "), "an account is never deleted")
		}

		By("every metric the chart's Grafana dashboard queries is one the manager serves")
		_, served, err := get("http://" + metricsAddr + "/metrics")
		Expect(err).NotTo(HaveOccurred())
		for _, name := range dashboardMetrics() {
			Expect(served).To(MatchRegexp(`(?m)^`+regexp.QuoteMeta(name)+`[{ ]`), "the dashboard queries %s", name)
		}
	})
})

// dashboardMetrics are the metric names the chart's dashboard queries.
func dashboardMetrics() []string {
	data, err := os.ReadFile(filepath.Join(repoRoot, "charts", "okta-sso-operator", "dashboards", "okta-sso-operator.json"))
	Expect(err).NotTo(HaveOccurred())
	var dashboard struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct{ Query any } `json:"list"`
		} `json:"templating"`
	}
	Expect(json.Unmarshal(data, &dashboard)).To(Succeed())
	var queries []string
	for _, p := range dashboard.Panels {
		for _, t := range p.Targets {
			queries = append(queries, t.Expr)
		}
	}
	for _, v := range dashboard.Templating.List {
		if q, ok := v.Query.(string); ok && strings.Contains(q, "(") {
			queries = append(queries, q)
		}
	}
	names := map[string]bool{}
	selector := regexp.MustCompile(`([a-z_][a-z0-9_]*)\{`)
	for _, q := range queries {
		for _, m := range selector.FindAllStringSubmatch(q, -1) {
			names[m[1]] = true
		}
		if m := regexp.MustCompile(`label_values\(([a-z_][a-z0-9_]*)`).FindStringSubmatch(q); m != nil {
			names[m[1]] = true
		}
	}
	Expect(len(names)).To(BeNumerically(">=", 7), "%v", names)
	var out []string
	for n := range names {
		out = append(out, n)
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }

var _ = Describe("An AccountSync following the System Log through the built binaries", func() {
	It("deactivates the account of a user deactivated in Okta within two poll periods, between full runs, with no DELETE", func(ctx context.Context) {
		const poll = 10 * time.Second
		dir := GinkgoT().TempDir()
		orgURL := startLocalOrg(dir, `groups: [{name: Engineering}]
users:
  - {login: carol@example.com, firstName: Carol, lastName: King, groups: [Engineering]}
  - {login: dan@example.com, firstName: Dan, lastName: Wu, groups: [Engineering]}
`)
		const scimToken = "e2e-follow-scim-token"
		sp := startBinary("github.com/oktaop/okta-sso-operator/hack/scim-server", "--token", scimToken)
		Eventually(sp.Out, "30s").Should(gbytes.Say(`/scim/v2`))
		scimURL := strings.TrimSpace(strings.Split(string(sp.Out.Contents()), "\n")[0])
		inspect := strings.TrimSuffix(scimURL, "/scim/v2") + "/_test/"
		manager := startManager("--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr())
		DeferCleanup(func() { manager.Terminate().Wait("10s") })

		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-follow-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		for name, data := range map[string]map[string]string{
			"okta-org":   {"orgURL": orgURL, "apiToken": e2eToken, "systemLogPollInterval": poll.String(), "maxOrgDeactivationPercent": "50"},
			"scim-token": {"token": scimToken},
		} {
			Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name}, StringData: data})).To(Succeed())
		}
		app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "backup"}, Spec: ssov1.OktaSAMLAppSpec{
			OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: "Backup portal",
			ServiceProvider: &ssov1.ServiceProvider{EntityID: "backup-portal", ACSURL: "https://backup.example.com/saml/acs"},
		}}
		binding := &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "engineering"}, Spec: ssov1.SSOBindingSpec{
			AppRef: ssov1.LocalObjectReference{Name: "backup"}, Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}},
		}}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		Eventually(func(g Gomega) {
			b := &ssov1.SSOBinding{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(binding), b)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(b.Status.Conditions, ssov1.ReadyCondition)).To(BeTrue())
		}, "60s").Should(Succeed())
		sync := &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "backup-accounts"}, Spec: ssov1.AccountSyncSpec{
			AppRef: ssov1.LocalObjectReference{Name: "backup"}, Mode: ssov1.SyncModeProvision,
			Safeguard: ssov1.Safeguard{MaxDeactivationPercent: ptrTo[int32](50)},
			Target:    ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(scimURL), AuthSecretRef: ssov1.SecretKeySelector{Name: "scim-token", Key: "token"}}},
		}}
		Expect(k8s.Create(ctx, sync)).To(Succeed())
		active := func() map[string]any {
			var accounts map[string]map[string]any
			Expect(fetchJSON(inspect+"users", &accounts)).To(Succeed())
			out := map[string]any{}
			for _, a := range accounts {
				out[a["userName"].(string)] = a["active"]
			}
			return out
		}
		Eventually(active, "60s").Should(Equal(map[string]any{"carol@example.com": true, "dan@example.com": true}))

		By("carol deactivated in Okta")
		c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken})
		Expect(err).NotTo(HaveOccurred())
		carol, err := c.FindUserByLogin(ctx, "carol@example.com")
		Expect(err).NotTo(HaveOccurred())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, orgURL+"/api/v1/users/"+carol.ID+"/lifecycle/deactivate", nil)
		req.Header.Set("Authorization", "SSWS "+e2eToken)
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Eventually(active, 2*poll, "250ms").Should(Equal(map[string]any{"carol@example.com": false, "dan@example.com": true}))

		s := &ssov1.AccountSync{}
		Eventually(func(g Gomega) { // the pass writes its status after the account changed
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(sync), s)).To(Succeed())
			g.Expect(s.Status.Following).NotTo(BeNil())
			g.Expect(s.Status.Following.Deactivated).To(Equal(int32(1)))
		}, "10s").Should(Succeed())
		var requests []string
		Expect(fetchJSON(inspect+"requests", &requests)).To(Succeed())
		for _, r := range requests {
			Expect(r).NotTo(HavePrefix("DELETE "), "an account is never deleted")
		}
	})
})
