package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/keys"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// soakProfile is how big the soak is: make test runs the small default,
// make soak the full one (SOAK_APPS=300 SOAK_SYNCS=50 SOAK_KILLS=10).
type soakProfile struct {
	apps, syncs, kills int
}

func soakProfileFromEnv() soakProfile {
	p := soakProfile{apps: 20, syncs: 4, kills: 4}
	for name, field := range map[string]*int{"SOAK_APPS": &p.apps, "SOAK_SYNCS": &p.syncs, "SOAK_KILLS": &p.kills} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			Expect(err).NotTo(HaveOccurred(), name)
			*field = n
		}
	}
	p.syncs = min(p.syncs, p.apps)
	return p
}

const (
	soakGroups        = 10
	soakGroupMembers  = 5
	soakWindow        = 10 * time.Second
	soakOrphanEvery   = 10 // every 10th app has deletionPolicy: Orphan
	soakGenerateEvery = 3  // every 3rd app has the operator generate its SP key pair
)

func soakGroup(i int) string { return fmt.Sprintf("Soak-%02d", i%soakGroups) }

func soakMember(group, n int) string { return fmt.Sprintf("u%02d-%d@example.com", group%soakGroups, n) }

// soakUsers are the logins app i is assigned: its group's members and the
// first member of the next group, assigned directly.
func soakUsers(i int) []string {
	var users []string
	for n := range soakGroupMembers {
		users = append(users, soakMember(i, n))
	}
	return append(users, soakMember(i+1, 0))
}

func soakSeed() string {
	var b strings.Builder
	b.WriteString("groups:\n")
	for g := range soakGroups {
		fmt.Fprintf(&b, "  - {name: %s}\n", soakGroup(g))
	}
	b.WriteString("users:\n")
	for g := range soakGroups {
		for n := range soakGroupMembers {
			fmt.Fprintf(&b, "  - {login: %s, firstName: U%d, lastName: G%d, groups: [%s]}\n", soakMember(g, n), n, g, soakGroup(g))
		}
	}
	return b.String()
}

// putJSON sends a control request to the local org.
func putJSON(url string, body any) {
	data, err := json.Marshal(body)
	Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(string(data)))
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK), url)
}

func orgStats(orgURL string) emulator.Stats {
	var st emulator.Stats
	Expect(fetchJSON(orgURL+"/emulator/stats", &st)).To(Succeed())
	return st
}

// soakManagers runs the manager, kills it with SIGKILL and starts it again,
// keeping every run's log for the scan at the end.
type soakManagers struct {
	runs    []*gexec.Session
	metrics string
	rand    *rand.Rand
}

func (m *soakManagers) start() {
	m.metrics = freeAddr()
	m.runs = append(m.runs, startManager("--metrics-bind-address", m.metrics, "--health-probe-bind-address", freeAddr(), "--log-level", "debug"))
}

func (m *soakManagers) current() *gexec.Session { return m.runs[len(m.runs)-1] }

// killAtRandom kills the running manager n times, each after 1 to 6 s, and
// starts a new one straight after, as a Deployment would.
func (m *soakManagers) killAtRandom(n int) {
	for range n {
		time.Sleep(time.Second + time.Duration(m.rand.Int64N(int64(5*time.Second))))
		Expect(m.current().Kill().Wait("10s")).To(gexec.Exit())
		m.start()
	}
}

func (m *soakManagers) logs() string {
	var b strings.Builder
	for _, s := range m.runs {
		b.Write(s.Err.Contents())
		b.Write(s.Out.Contents())
	}
	return b.String()
}

var _ = Describe("Soak", Label("soak"), func() {
	It("converges under 5xx, 429s, latency and SIGKILLs with no duplicate or loss, deletes cleanly, and leaks no secret", func(ctx context.Context) {
		p := soakProfileFromEnv()
		start := time.Now()
		By(fmt.Sprintf("%d apps, %d bindings, %d syncs, %d kills", p.apps, p.apps, p.syncs, p.kills))

		orgURL := startNamedOrg(GinkgoT().TempDir(), "soak", soakSeed(), "--rate-limit-window", soakWindow.String())
		faults := emulator.Faults{ErrorRate: 0.05, ErrorStatus: 503, ThrottleRate: 0.01, Latency: emulator.Duration(20 * time.Millisecond)}
		putJSON(orgURL+"/emulator/faults", faults)

		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-soak-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "okta-org"},
			StringData: map[string]string{"orgURL": orgURL, "apiToken": e2eToken}})).To(Succeed())
		secrets := []string{e2eToken}

		managers := &soakManagers{rand: rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 14))}
		managers.start()
		DeferCleanup(func() { managers.current().Terminate().Wait("10s") })

		By("apps and bindings applied at once, the manager killed at random meanwhile")
		for i := range p.apps {
			Expect(k8s.Create(ctx, soakApp(ns.Name, i))).To(Succeed())
			Expect(k8s.Create(ctx, soakBinding(ns.Name, i))).To(Succeed())
		}
		managers.killAtRandom(p.kills - p.kills/2)
		appsAndBindingsReady := func() int {
			return countTrue(ctx, ns.Name, ssov1.ReadyCondition, &ssov1.OktaSAMLAppList{}) + countTrue(ctx, ns.Name, ssov1.ReadyCondition, &ssov1.SSOBindingList{})
		}
		Eventually(appsAndBindingsReady, "20m", "2s").Should(Equal(2 * p.apps))

		By("AccountSyncs into their own SCIM service providers, which fail 5% of requests after serving them")
		targets := make([]*scimtest.Server, p.syncs)
		for i := range targets {
			token := fmt.Sprintf("soak-scim-token-%02d-%d", i, GinkgoRandomSeed())
			secrets = append(secrets, token)
			srv, err := scimtest.New(scimtest.Options{Token: token})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(srv.Close)
			srv.SetFault(scimtest.Fault{Status: http.StatusServiceUnavailable, Rate: 0.05, LoseAnswer: true})
			targets[i] = srv
			Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: fmt.Sprintf("scim-%03d", i)},
				StringData: map[string]string{"token": token}})).To(Succeed())
			Expect(k8s.Create(ctx, soakSync(ns.Name, i, srv.URL()))).To(Succeed())
		}
		managers.killAtRandom(p.kills / 2)

		// The last manager's own 429s are the ones it can honour: a killed
		// one's are forgotten with it, so count from one window after the
		// last start.
		time.Sleep(soakWindow + emulator.EarlyGrace)
		earlyBefore := orgStats(orgURL).EarlyRequests
		Eventually(func() int { return countTrue(ctx, ns.Name, ssov1.SyncedCondition, &ssov1.AccountSyncList{}) }, "20m", "2s").Should(Equal(p.syncs))
		Eventually(func() int { return countTrue(ctx, ns.Name, ssov1.ReadyCondition, &ssov1.OktaSAMLAppList{}) }, "5m", "2s").Should(Equal(p.apps))
		converged := time.Since(start)

		By("exactly one Okta app per OktaSAMLApp, each with its assignments once")
		putJSON(orgURL+"/emulator/faults", emulator.Faults{})
		time.Sleep(soakWindow) // the injected 429s' resets pass, so the checks' own requests are never early
		converging := orgStats(orgURL)
		unlimited := emulator.UnlimitedRateLimits()
		putJSON(orgURL+"/emulator/rate-limits", unlimited)
		oktaClient, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: e2eToken, MaxAPICapacityPercent: 100})
		Expect(err).NotTo(HaveOccurred())
		appIDs := checkOneOktaAppEach(ctx, oktaClient, ns.Name, p.apps)
		for i, id := range appIDs {
			checkAssignments(ctx, oktaClient, id, i)
		}

		By("exactly one SCIM account per assigned user, active")
		for i, srv := range targets {
			var names []string
			for _, u := range srv.Users() {
				names = append(names, u["userName"].(string))
				Expect(u["active"]).To(BeTrue(), "app %d: %v", i, u)
			}
			Expect(names).To(ConsistOf(soakUsers(i)), "target of sync %d", i)
		}

		By("no secret in any log line, event, status or metric")
		secrets = append(secrets, secretsIn(ctx, ns.Name)...)
		haystacks := map[string]string{"manager logs": managers.logs(), "events": eventsIn(ctx, ns.Name), "objects": objectsIn(ctx, ns.Name)}
		_, haystacks["metrics"], err = get("http://" + managers.metrics + "/metrics")
		Expect(err).NotTo(HaveOccurred())
		for where, text := range haystacks {
			Expect(text).NotTo(BeEmpty(), where)
			for _, secret := range secrets {
				// Report where, never the value: the test's output is scanned too.
				Expect(strings.Contains(text, secret)).To(BeFalse(), "a secret value appears in the %s", where)
			}
			Expect(text).NotTo(ContainSubstring("PRIVATE KEY"), where)
		}

		By("everything deleted under the same faults: nothing left in Okta but the Orphan apps")
		putJSON(orgURL+"/emulator/rate-limits", emulator.DefaultRateLimits)
		putJSON(orgURL+"/emulator/faults", faults)
		deleteStart := time.Now()
		for _, kind := range []client.Object{&ssov1.AccountSync{}, &ssov1.SSOBinding{}, &ssov1.OktaSAMLApp{}} {
			Expect(k8s.DeleteAllOf(ctx, kind, client.InNamespace(ns.Name))).To(Succeed())
		}
		Eventually(func() int { return countAll(ctx, ns.Name) }, "20m", "2s").Should(BeZero())
		deleted := time.Since(deleteStart)
		after := orgStats(orgURL)
		Expect(after.EarlyRequests-earlyBefore).To(BeZero(), "requests came back before the reset their 429 gave")
		putJSON(orgURL+"/emulator/faults", emulator.Faults{})
		time.Sleep(soakWindow)
		putJSON(orgURL+"/emulator/rate-limits", unlimited)
		left, err := oktaClient.ListApps(ctx, okta.AppQuery{Q: "Soak "})
		Expect(err).NotTo(HaveOccurred())
		var leftLabels, orphans []string
		for _, a := range left {
			leftLabels = append(leftLabels, a.Label)
		}
		for i := 0; i < p.apps; i += soakOrphanEvery {
			orphans = append(orphans, soakLabel(i))
		}
		Expect(leftLabels).To(ConsistOf(orphans))

		AddReportEntry("soak", fmt.Sprintf("%d apps, %d bindings, %d syncs, %d SIGKILLs: converged in %s, deleted in %s; "+
			"Okta requests %d (429 %d, 5xx %d), max in flight %d, early after a 429: %d (final manager) / %d (all runs)",
			p.apps, p.apps, p.syncs, p.kills, converged.Round(time.Second), deleted.Round(time.Second),
			converging.Total, converging.Statuses["429"], converging.Statuses["503"], converging.MaxInFlight,
			after.EarlyRequests-earlyBefore, after.EarlyRequests), ReportEntryVisibilityAlways)
	})
})

func soakLabel(i int) string { return fmt.Sprintf("Soak app-%03d", i) }

func soakApp(ns string, i int) *ssov1.OktaSAMLApp {
	name := fmt.Sprintf("app-%03d", i)
	app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: ssov1.OktaSAMLAppSpec{
		OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: soakLabel(i),
		ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://" + name + ".example.com/saml", ACSURL: ssov1.URL("https://" + name + ".example.com/saml/acs")},
	}}
	if i%soakOrphanEvery == 0 {
		app.Spec.DeletionPolicy = ssov1.DeletionPolicyOrphan
	}
	if i%soakGenerateEvery == 0 {
		app.Spec.ServiceProvider.SigningCertificate = &ssov1.SigningCertificate{Generate: &ssov1.GenerateCertificate{}}
		app.Spec.SignOn.RequestSignatureRequired = true
	}
	return app
}

func soakBinding(ns string, i int) *ssov1.SSOBinding {
	return &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%03d", i)}, Spec: ssov1.SSOBindingSpec{
		AppRef:   ssov1.LocalObjectReference{Name: ssov1.ResourceName(fmt.Sprintf("app-%03d", i))},
		Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: soakGroup(i)}, {Kind: ssov1.SubjectKindUser, Name: soakMember(i+1, 0)}},
	}}
}

func soakSync(ns string, i int, scimURL string) *ssov1.AccountSync {
	return &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%03d", i)}, Spec: ssov1.AccountSyncSpec{
		AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(fmt.Sprintf("app-%03d", i))}, Mode: ssov1.SyncModeProvision,
		Target: ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(scimURL), AuthSecretRef: ssov1.SecretKeySelector{Name: ssov1.ResourceName(fmt.Sprintf("scim-%03d", i)), Key: "token"}}},
	}}
}

// countTrue counts the objects of a list kind whose condition is True for
// their current generation.
func countTrue(ctx context.Context, ns, condition string, list client.ObjectList) int {
	Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	items, err := meta.ExtractList(list)
	Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, item := range items {
		obj := item.(client.Object)
		if c := meta.FindStatusCondition(conditionsOf(obj), condition); c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration() {
			n++
		}
	}
	return n
}

func conditionsOf(obj client.Object) []metav1.Condition {
	if o, ok := obj.(interface{ GetCommonStatus() *ssov1.CommonStatus }); ok {
		return o.GetCommonStatus().Conditions
	}
	Fail(fmt.Sprintf("no conditions on %T", obj))
	return nil
}

func countAll(ctx context.Context, ns string) int {
	n := 0
	for _, list := range []client.ObjectList{&ssov1.AccountSyncList{}, &ssov1.SSOBindingList{}, &ssov1.OktaSAMLAppList{}} {
		Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		n += meta.LenList(list)
	}
	return n
}

// checkOneOktaAppEach finds exactly one Okta app per OktaSAMLApp, the one
// its status names, and returns their IDs in order.
func checkOneOktaAppEach(ctx context.Context, c *okta.Client, ns string, n int) []string {
	all, err := c.ListApps(ctx, okta.AppQuery{Q: "Soak "})
	Expect(err).NotTo(HaveOccurred())
	byLabel := map[string][]string{}
	for _, a := range all {
		byLabel[a.Label] = append(byLabel[a.Label], a.ID)
	}
	Expect(all).To(HaveLen(n), "Okta apps")
	ids := make([]string, n)
	for i := range n {
		app := &ssov1.OktaSAMLApp{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("app-%03d", i)}, app)).To(Succeed())
		Expect(byLabel[soakLabel(i)]).To(Equal([]string{app.Status.AppID}), soakLabel(i))
		ids[i] = app.Status.AppID
	}
	return ids
}

// checkAssignments: app i has its group once and exactly its users.
func checkAssignments(ctx context.Context, c *okta.Client, appID string, i int) {
	groups, err := c.ListAppGroups(ctx, appID)
	Expect(err).NotTo(HaveOccurred())
	group, err := c.FindGroupByName(ctx, soakGroup(i))
	Expect(err).NotTo(HaveOccurred())
	Expect(groups).To(HaveLen(1), "app %d's groups", i)
	Expect(groups[0].ID).To(Equal(group.ID))
	users, err := c.ListAppUsers(ctx, appID)
	Expect(err).NotTo(HaveOccurred())
	var logins []string
	for _, u := range users {
		user, err := c.GetUser(ctx, u.ID)
		Expect(err).NotTo(HaveOccurred())
		logins = append(logins, fmt.Sprint(user.Profile["login"]))
	}
	Expect(logins).To(ConsistOf(soakUsers(i)), "app %d's users", i)
}

// secretsIn are the secret values the operator holds in the namespace: the
// SP private keys it generated.
func secretsIn(ctx context.Context, ns string) []string {
	list := &corev1.SecretList{}
	Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, s := range list.Items {
		if key := s.Data[keys.KeyKey]; len(key) > 0 {
			// A line of the key's base64 body: found even if a log re-wraps the PEM.
			lines := strings.Split(string(key), "\n")
			out = append(out, lines[len(lines)/2])
		}
	}
	Expect(out).NotTo(BeEmpty(), "generated SP keys")
	return out
}

func eventsIn(ctx context.Context, ns string) string {
	list := &corev1.EventList{}
	Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var b strings.Builder
	for _, e := range list.Items {
		fmt.Fprintln(&b, e.Reason, e.Message)
	}
	return b.String()
}

// objectsIn is every OktaSAMLApp, SSOBinding and AccountSync in the
// namespace, status and all, as JSON.
func objectsIn(ctx context.Context, ns string) string {
	var b strings.Builder
	for _, list := range []client.ObjectList{&ssov1.AccountSyncList{}, &ssov1.SSOBindingList{}, &ssov1.OktaSAMLAppList{}} {
		Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		data, err := json.Marshal(list)
		Expect(err).NotTo(HaveOccurred())
		b.Write(data)
	}
	return b.String()
}
