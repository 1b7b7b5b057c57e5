package controller_test

import (
	"context"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const scimToken = "scim-suite-token-that-must-never-appear"

var _ = Describe("AccountSync", func() {
	var ctx context.Context
	var target *scimtest.Server
	BeforeEach(func() {
		ctx = context.Background()
		var err error
		target, err = scimtest.New(scimtest.Options{Token: scimToken})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(target.Close)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "scim-token"}, StringData: map[string]string{"token": scimToken}}
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, s))).To(Succeed())
	})

	// appWithUsers is a Ready app with a fresh group of the given users
	// assigned to it, and returns the app and the users' IDs by login.
	appWithUsers := func(logins ...string) (*ssov1.OktaSAMLApp, string, map[string]string) {
		app, appID := readyApp(ctx)
		groupName, groupID := newOktaGroup("synced")
		ids := map[string]string{}
		for _, login := range logins {
			u := oktaREST("POST", "/emulator/users", emulator.SeedUser{Login: login, FirstName: strings.Split(login, "@")[0], LastName: "Doe", Groups: []string{groupName}})
			ids[login] = u["id"].(string)
		}
		_, err := oktaAPI.AssignGroup(ctx, appID, groupID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())
		return app, appID, ids
	}
	newSync := func(app *ssov1.OktaSAMLApp, mode ssov1.SyncMode) *ssov1.AccountSync {
		return &ssov1.AccountSync{
			ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "sync-" + rand.String(6)},
			Spec: ssov1.AccountSyncSpec{
				AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(app.Name)}, Mode: mode,
				Target: ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(target.URL()),
					AuthSecretRef: ssov1.SecretKeySelector{Name: "scim-token", Key: "token"}}},
				Match: ssov1.MatchRule{OktaAttribute: "login", TargetAttribute: "userName"},
			},
		}
	}
	getSync := func(s *ssov1.AccountSync) *ssov1.AccountSync {
		out := &ssov1.AccountSync{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(s), out)).To(Succeed())
		return out
	}
	synced := func(s *ssov1.AccountSync) func() string {
		return func() string { return conditionState(getSync(s).Status.Conditions, ssov1.SyncedCondition) }
	}
	trigger := func(s *ssov1.AccountSync, value string) {
		Eventually(func() error {
			cur := getSync(s)
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[ssov1.ReconcileRequestAnnotation] = value
			return k8s.Update(ctx, cur)
		}).Should(Succeed())
	}
	handledSync := func(s *ssov1.AccountSync) func() string {
		return func() string { return getSync(s).Status.LastHandledReconcileAt }
	}
	DescribeTable("never sends an Okta org's credential to a SCIM target: InvalidSpec, no request",
		func(credential func() ssov1.SecretKeySelector, holder string) {
			app, _ := readyApp(ctx)
			sync := newSync(app, ssov1.SyncModeProvision)
			sync.Spec.Target.SCIM.AuthSecretRef = credential()
			Expect(k8s.Create(ctx, sync)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, sync))).To(Succeed()) })
			Eventually(synced(sync), "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
			c := meta.FindStatusCondition(getSync(sync).Status.Conditions, ssov1.ReadyCondition)
			Expect(c.Message).To(ContainSubstring("holds the credential of " + holder))
			Expect(c.Message).NotTo(ContainSubstring(apiToken))
			Expect(target.Requests(false)).To(BeEmpty(), "nothing reached the target")
		},
		Entry("the namespace's org Secret (the old form)", func() ssov1.SecretKeySelector {
			return ssov1.SecretKeySelector{Name: orgSecretName, Key: "apiToken"}
		}, "the org Secret "+orgSecretName),
		Entry("the credential Secret of an OktaOrg in the namespace", func() ssov1.SecretKeySelector {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "team-okta-" + rand.String(5)}, StringData: map[string]string{"token": apiToken}}
			Expect(k8s.Create(ctx, s)).To(Succeed())
			// The suite's org, at full share, as the suite's org Secret has it.
			o := &ssov1.OktaOrg{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "team-org-" + rand.String(5)},
				Spec: ssov1.OktaOrgSpec{URL: ssov1.URL(orgURL), MaxAPICapacityPercent: 100, MaxOrgDeactivationPercent: ptr.To[int32](100),
					Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(s.Name), Key: "token"}}}}
			Expect(k8s.Create(ctx, o)).To(Succeed())
			DeferCleanup(func() { Expect(k8s.Delete(ctx, o)).To(Succeed()) })
			return ssov1.SecretKeySelector{Name: ssov1.ResourceName(s.Name), Key: "token"}
		}, "OktaOrg team-org-"),
	)

	// freshReconciler is a restarted manager's reconciler: nothing in memory.
	freshReconciler := func() *controller.AccountSyncReconciler {
		return &controller.AccountSyncReconciler{Client: k8s, Recorder: recorder, Now: clock.Now,
			Orgs: &controller.SecretOrgs{Egress: loopbackEgress, Reader: k8s, Now: clock.Now, Configure: fastRetries}}
	}
	// unwatchedSync is a Provision sync of n fresh users of a Ready app in
	// the namespace the suite's manager does not watch, so only the spec's
	// own reconcilers (freshReconciler) run it, step by step.
	unwatchedSync := func(n int) (*ssov1.AccountSync, []string, string, ctrl.Request) {
		ensureSecrets(ctx, unwatchedNS)
		scimSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: unwatchedNS, Name: "scim-token"}, StringData: map[string]string{"token": scimToken}}
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, scimSecret))).To(Succeed())
		app := newApp(unwatchedNS)
		app.Spec.SignOn.AttributeStatements = nil
		Expect(k8s.Create(ctx, app)).To(Succeed())
		apps, _ := countingReconciler()
		for i := 0; i < 3; i++ {
			_, err := apps.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(app)})
			Expect(err).NotTo(HaveOccurred())
		}
		appID := get(ctx, app).Status.AppID
		groupName, groupID := newOktaGroup("unwatched")
		var ids []string
		for i := 0; i < n; i++ {
			u := oktaREST("POST", "/emulator/users", emulator.SeedUser{Login: "r" + rand.String(6) + "@example.com", Groups: []string{groupName}})
			ids = append(ids, u["id"].(string))
		}
		_, err := oktaAPI.AssignGroup(ctx, appID, groupID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())
		s := newSync(app, ssov1.SyncModeProvision)
		s.Namespace = unwatchedNS
		Expect(k8s.Create(ctx, s)).To(Succeed())
		return s, ids, groupID, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(s)}
	}
	activeOf := func(userName string) any {
		for _, u := range target.Users() {
			if u["userName"] == userName {
				return u["active"]
			}
		}
		return "no account"
	}

	It("matches in Match mode, reports the unmatched, and writes nothing to the target", func() {
		app, _, _ := appWithUsers("ann-"+rand.String(4)+"@example.com", "bob-"+rand.String(4)+"@example.com")
		var users []okta.AppUser
		Expect(oktaAPI.ListAppUsersWithProfiles(ctx, get(ctx, app).Status.AppID, func(page []okta.AppUser) error {
			users = append(users, page...)
			return nil
		})).To(Succeed())
		first := users[0].Embedded.User.Login()
		target.AddUser(map[string]any{"userName": strings.ToUpper(first), "active": true})
		target.AddUser(map[string]any{"userName": "nobody@example.com", "active": true})
		s := newSync(app, ssov1.SyncModeMatch)
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		got := getSync(s)
		Expect(got.Generation).To(Equal(int64(1)), "the operator never writes the spec (an Update would send interval back as 24h0m0s)")
		Expect(meta.FindStatusCondition(got.Status.Conditions, ssov1.SyncedCondition).ObservedGeneration).To(Equal(got.Generation))
		Expect(*got.Status.Summary).To(Equal(ssov1.SyncSummary{OktaUsers: 2, TargetAccounts: 2, Matched: 1, Unmatched: 1}))
		Expect(got.Status.Unmatched).To(HaveLen(1))
		Expect(got.Status.LastSyncTime).NotTo(BeNil())
		Expect(got.Status.NextSyncTime.Sub(got.Status.LastSyncTime.Time)).To(Equal(24 * time.Hour))
		for _, line := range target.Requests(false) {
			Expect(line).To(HavePrefix("GET "), "Match mode writes nothing")
		}

		By("sync now: the trigger runs again at once and is echoed")
		target.Requests(true)
		trigger(s, "now-1")
		Eventually(handledSync(s), "30s").Should(Equal("now-1"))
		Expect(target.Count("GET /scim/v2/Users")).To(BeNumerically(">=", 1))
	})

	It("provisions: creates with CEL mappings, deactivates the unassigned, reactivates, and never deletes", func() {
		ann, bob := "ann-"+rand.String(4)+"@example.com", "bob-"+rand.String(4)+"@example.com"
		app, appID, ids := appWithUsers(ann, bob)
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.AttributeMappings = []ssov1.AttributeMapping{
			{Target: "displayName", Expression: `user.firstName + " " + user.lastName`},
			{Target: "title", Expression: `"new hire"`, Apply: ssov1.MappingApplyCreateOnly},
		}
		s.Spec.Safeguard.MaxDeactivationPercent = ptr.To[int32](50)
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(getSync(s).Status.Summary.Created).To(Equal(int32(2)), "%+v %v", getSync(s).Status.Summary, target.Requests(false))
		accounts := target.Users()
		Expect(accounts).To(HaveLen(2))
		for _, a := range accounts {
			Expect(a["externalId"]).To(BeElementOf(ids[ann], ids[bob]))
			Expect(a["displayName"]).To(HaveSuffix(" Doe"))
			Expect(a["title"]).To(Equal("new hire"))
		}

		By("bob unassigned in Okta: his account is deactivated, not deleted")
		oktaREST("DELETE", "/api/v1/groups/"+groupOf(ctx, appID)+"/users/"+ids[bob], nil)
		trigger(s, "unassigned")
		Eventually(handledSync(s), "30s").Should(Equal("unassigned"))
		Expect(activeOf(bob)).To(Equal(false))
		Expect(activeOf(ann)).To(Equal(true))
		Expect(getSync(s).Status.Summary.Deactivated).To(Equal(int32(1)))

		By("bob back: reactivated")
		oktaREST("PUT", "/api/v1/groups/"+groupOf(ctx, appID)+"/users/"+ids[bob], nil)
		trigger(s, "back")
		Eventually(handledSync(s), "30s").Should(Equal("back"))
		Expect(activeOf(bob)).To(Equal(true))
		Expect(target.Count("DELETE ")).To(BeZero())

		By("a no-change run sends no write")
		target.Requests(true)
		trigger(s, "idle")
		Eventually(handledSync(s), "30s").Should(Equal("idle"))
		for _, line := range target.Requests(false) {
			Expect(line).To(HavePrefix("GET "))
		}
	})

	It("runs for a team namespace with no Okta credential, through the platform's ClusterOktaOrg", func() {
		admin := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: "sync-admin-" + rand.String(5)}, StringData: map[string]string{"token": apiToken}}
		Expect(k8s.Create(ctx, admin)).To(Succeed())
		company := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "sync-company-" + rand.String(5)},
			Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(orgURL), MaxAPICapacityPercent: 100, MaxOrgDeactivationPercent: ptr.To[int32](100),
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(admin.Name), Key: "token"}}}}}
		Expect(k8s.Create(ctx, company)).To(Succeed())
		DeferCleanup(func() { Expect(k8s.Delete(ctx, company)).To(Succeed()) })
		app := newApp(watchedNS)
		app.Spec.OrgRef = ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(company.Name)}
		app.Spec.SignOn.AttributeStatements = nil
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		groupName, groupID := newOktaGroup("through-org")
		cy := "cy-" + rand.String(4) + "@example.com"
		oktaREST("POST", "/emulator/users", emulator.SeedUser{Login: cy, FirstName: "Cy", LastName: "Doe", Groups: []string{groupName}})
		_, err := oktaAPI.AssignGroup(ctx, get(ctx, app).Status.AppID, groupID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())

		s := newSync(app, ssov1.SyncModeProvision)
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(getSync(s).Status.Summary.Created).To(Equal(int32(1)))
		Expect(target.Users()).To(ContainElement(HaveKeyWithValue("userName", cy)))

		By("the org's status says where its System Log follower stands")
		follower.PollNow(ctx)
		Eventually(func(g Gomega) {
			got := &ssov1.ClusterOktaOrg{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(company), got)).To(Succeed())
			if got.Annotations[ssov1.ReconcileRequestAnnotation] != "after-poll" {
				if got.Annotations == nil {
					got.Annotations = map[string]string{}
				}
				got.Annotations[ssov1.ReconcileRequestAnnotation] = "after-poll"
				g.Expect(k8s.Update(ctx, got)).To(Succeed())
			}
			g.Expect(got.Status.SystemLog).NotTo(BeNil())
			g.Expect(got.Status.SystemLog.LastPollTime).NotTo(BeNil())
			g.Expect(got.Status.SystemLog.NewestEventTime).NotTo(BeNil(), "the assignment was logged")
			g.Expect(got.Status.SystemLog.LastError).To(BeEmpty())
		}, "30s").Should(Succeed())
	})

	It("pushes an Okta group with its members among the app's users, and patches membership as it changes", func() {
		ann, bob := "ann-"+rand.String(4)+"@example.com", "bob-"+rand.String(4)+"@example.com"
		app, appID, ids := appWithUsers(ann, bob)
		groupID := groupOf(ctx, appID)
		group, err := oktaAPI.ListUserGroups(ctx, ids[ann])
		Expect(err).NotTo(HaveOccurred())
		var groupName string
		for _, g := range group {
			if g.ID == groupID {
				groupName = g.Profile.Name
			}
		}
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.Safeguard.MaxDeactivationPercent = ptr.To[int32](100)
		s.Spec.GroupPush = []ssov1.GroupPush{{OktaGroup: groupName, TargetName: "Engineering"}}
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(getSync(s).Status.Summary.GroupsPushed).To(Equal(int32(1)))
		members := func() []string {
			var out []string
			for _, g := range target.Groups() {
				Expect(g["displayName"]).To(Equal("Engineering"))
				Expect(g["externalId"]).To(Equal(groupID))
				list, _ := g["members"].([]any)
				for _, m := range list {
					out = append(out, target.Users()[m.(map[string]any)["value"].(string)]["userName"].(string))
				}
			}
			return out
		}
		Expect(members()).To(ConsistOf(ann, bob))

		oktaREST("DELETE", "/api/v1/groups/"+groupID+"/users/"+ids[bob], nil)
		trigger(s, "bob-left")
		Eventually(handledSync(s), "30s").Should(Equal("bob-left"))
		Expect(members()).To(ConsistOf(ann))
		Expect(target.Count("PUT /scim/v2/Groups")).To(BeZero(), "membership is patched, not replaced")
		Expect(target.Count("DELETE ")).To(BeZero())
	})

	It("trips the safeguard, changes nothing, waits, and goes on after the trigger", func() {
		users := []string{}
		for i := 0; i < 5; i++ {
			users = append(users, "u"+rand.String(5)+"@example.com")
		}
		app, appID, ids := appWithUsers(users...)
		s := newSync(app, ssov1.SyncModeProvision)
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))

		By("two of five users leave: 40% is over the default 20%")
		group := groupOf(ctx, appID)
		for _, login := range users[:2] {
			oktaREST("DELETE", "/api/v1/groups/"+group+"/users/"+ids[login], nil)
		}
		trigger(s, "after-leavers")
		Eventually(synced(s), "30s").Should(Equal("False/" + ssov1.SafeguardTrippedReason))
		Expect(meta.FindStatusCondition(getSync(s).Status.Conditions, ssov1.SyncedCondition).Message).To(ContainSubstring("deactivate 2 of 5 active accounts"))
		Expect(activeOf(users[0])).To(Equal(true), "nothing changed")
		Eventually(func() []string { return recorder.eventsFor(watchedNS, s.Name) }).Should(ContainElement(ContainSubstring(ssov1.SafeguardTrippedReason)))

		By("the trigger is the person saying go on")
		trigger(s, "checked")
		Eventually(handledSync(s), "30s").Should(Equal("checked"))
		Expect(synced(s)()).To(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(activeOf(users[0])).To(Equal(false))
		Expect(activeOf(users[1])).To(Equal(false))
	})

	It("holds a run that would take the org's deactivations in 24 hours over maxOrgDeactivationPercent", func() {
		// An org of its own: the same local org reached by another URL, so
		// the other specs' syncs are not counted.
		strictURL := strings.Replace(orgURL, "127.0.0.1", "localhost", 1)
		strict := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "strict-org"},
			StringData: map[string]string{"orgURL": strictURL, "apiToken": apiToken, "maxAPICapacityPercent": "100", "maxOrgDeactivationPercent": "30"}}
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, strict))).To(Succeed())
		type syncedApp struct {
			target *scimtest.Server
			sync   *ssov1.AccountSync
			logins []string
			ids    map[string]string
			appID  string
		}
		apps := make([]syncedApp, 2)
		for i := range apps {
			app := newApp(watchedNS)
			app.Spec.SignOn.AttributeStatements = nil
			app.Spec.OrgRef.SecretName = "strict-org"
			Expect(k8s.Create(ctx, app)).To(Succeed())
			Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
			groupName, groupID := newOktaGroup("strict")
			a := syncedApp{appID: get(ctx, app).Status.AppID, ids: map[string]string{}}
			for j := 0; j < 5; j++ {
				login := "s" + rand.String(6) + "@example.com"
				u := oktaREST("POST", "/emulator/users", emulator.SeedUser{Login: login, FirstName: "S", LastName: "T", Groups: []string{groupName}})
				a.logins, a.ids[login] = append(a.logins, login), u["id"].(string)
			}
			_, err := oktaAPI.AssignGroup(ctx, a.appID, groupID, okta.AppGroupAssignment{})
			Expect(err).NotTo(HaveOccurred())
			a.sync = newSync(app, ssov1.SyncModeProvision)
			a.sync.Spec.Safeguard.MaxDeactivationPercent = ptr.To[int32](100)
			if i == 1 { // each app has its own service provider
				other, err := scimtest.New(scimtest.Options{Token: scimToken})
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(other.Close)
				a.sync.Spec.Target.SCIM.URL = ssov1.URL(other.URL())
				a.target = other
			} else {
				a.target = target
			}
			Expect(k8s.Create(ctx, a.sync)).To(Succeed())
			Eventually(synced(a.sync), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
			apps[i] = a
		}
		leave := func(a syncedApp, n int) {
			group := groupOf(ctx, a.appID)
			for _, login := range a.logins[:n] {
				oktaREST("DELETE", "/api/v1/groups/"+group+"/users/"+a.ids[login], nil)
			}
		}

		By("the first app loses 1 of its 5 users: 1 of the org's 10 accounts, under 30%")
		leave(apps[0], 1)
		trigger(apps[0].sync, "first")
		Eventually(handledSync(apps[0].sync), "30s").Should(Equal("first"))
		Expect(synced(apps[0].sync)()).To(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(getSync(apps[0].sync).Status.RecentDeactivations).To(HaveLen(1))

		By("the second loses 3: 4 of 10 in 24 hours is over 30%, though 3 of 5 is under its own 100%")
		leave(apps[1], 3)
		trigger(apps[1].sync, "second")
		Eventually(synced(apps[1].sync), "30s").Should(Equal("False/" + ssov1.SafeguardTrippedReason))
		Expect(meta.FindStatusCondition(getSync(apps[1].sync).Status.Conditions, ssov1.SyncedCondition).Message).To(And(
			ContainSubstring("4 of 10 accounts"), ContainSubstring("maxOrgDeactivationPercent (30%)")))
		activeIn := func(t *scimtest.Server, userName string) any {
			for _, u := range t.Users() {
				if u["userName"] == userName {
					return u["active"]
				}
			}
			return "no account"
		}
		Expect(activeIn(apps[1].target, apps[1].logins[0])).To(Equal(true), "nothing changed")

		By("the trigger goes on")
		trigger(apps[1].sync, "checked")
		Eventually(handledSync(apps[1].sync), "30s").Should(Equal("checked"))
		Expect(activeIn(apps[1].target, apps[1].logins[0])).To(Equal(false))
	})

	It("still holds a tripped safeguard after a restart (a new reconciler, nothing in memory)", func() {
		s, ids, groupID, key := unwatchedSync(5)
		first := freshReconciler()
		for i := 0; i < 2; i++ { // the finalizer, then the first run
			_, err := first.Reconcile(ctx, key)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(getSync(s).Status.Summary.Created).To(Equal(int32(5)))

		for _, id := range ids[:2] {
			oktaREST("DELETE", "/api/v1/groups/"+groupID+"/users/"+id, nil)
		}
		trigger(s, "after-leavers")
		_, err := first.Reconcile(ctx, key)
		Expect(err).To(HaveOccurred())
		Expect(synced(s)()).To(Equal("False/" + ssov1.SafeguardTrippedReason))

		By("a restarted manager: the handled trigger is not a new go-on, and no run starts")
		target.Requests(true)
		_, err = freshReconciler().Reconcile(ctx, key)
		Expect(err).To(HaveOccurred(), "still held")
		Expect(synced(s)()).To(Equal("False/" + ssov1.SafeguardTrippedReason))
		Expect(target.Requests(false)).To(BeEmpty(), "nothing was read or written")
		Expect(k8s.Delete(ctx, s)).To(Succeed())
		_, _ = freshReconciler().Reconcile(ctx, key)
	})

	DescribeTable("connects a SCIM target only where the org allows: PolicyDenied, nothing sent",
		func(url, says string) {
			app, _ := readyApp(ctx)
			sync := newSync(app, ssov1.SyncModeProvision)
			sync.Spec.Target.SCIM.URL = ssov1.URL(url)
			Expect(k8s.Create(ctx, sync)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, sync))).To(Succeed()) })
			Eventually(synced(sync), "30s").Should(Equal("False/" + ssov1.PolicyDeniedReason))
			c := meta.FindStatusCondition(getSync(sync).Status.Conditions, ssov1.ReadyCondition)
			Expect(c.Message).To(And(ContainSubstring(says), ContainSubstring("allowedTargets"), ContainSubstring("nothing was sent")))
			Expect(meta.IsStatusConditionTrue(getSync(sync).Status.Conditions, ssov1.StalledCondition)).To(BeTrue())
		},
		Entry("the cloud metadata service", "https://169.254.169.254/scim/v2", "a link-local address"),
		Entry("the metadata service spelled as IPv4-mapped IPv6", "https://[::ffff:169.254.169.254]/scim/v2", "a link-local address"),
		Entry("a private address", "https://10.1.2.3/scim/v2", "a private address"),
	)

	It("refuses a loopback target without --allow-loopback-targets, with nothing sent", func() {
		s, _, _, req := unwatchedSync(1)
		strict := &controller.AccountSyncReconciler{Client: k8s, Recorder: recorder, Now: clock.Now,
			Orgs: &controller.SecretOrgs{Egress: &oktaorg.Egress{}, Reader: k8s, Now: clock.Now, Configure: fastRetries}}
		for i := 0; i < 3; i++ {
			_, _ = strict.Reconcile(ctx, req)
		}
		Expect(synced(s)()).To(Equal("False/" + ssov1.PolicyDeniedReason))
		Expect(meta.FindStatusCondition(getSync(s).Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring("a loopback address"))
		Expect(target.Requests(false)).To(BeEmpty(), "nothing reached the target")
	})

	It("stops a run that outlasts spec.timeout, says DeadlineExceeded, and deactivates nobody", func() {
		ann := "slow-" + rand.String(4) + "@example.com"
		app, _, _ := appWithUsers(ann)
		target.SetFault(scimtest.Fault{Delay: time.Minute, Times: -1})
		DeferCleanup(func() { target.SetFault(scimtest.Fault{}) })
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.Timeout = &metav1.Duration{Duration: 10 * time.Second}
		Expect(k8s.Create(ctx, s)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, s))).To(Succeed()) })
		Eventually(synced(s), "40s").Should(Equal("False/" + ssov1.DeadlineExceededReason))
		Expect(meta.FindStatusCondition(getSync(s).Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring("spec.timeout (10s)"))
		Expect(activeOf(ann)).To(Equal("no account"))
	})

	It("reads and writes nothing while suspended", func() {
		app, _, _ := appWithUsers("z" + rand.String(4) + "@example.com")
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.Suspend = true
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(func() string { return conditionState(getSync(s).Status.Conditions, ssov1.ReadyCondition) }, "30s").
			Should(Equal("False/" + ssov1.SuspendedReason))
		Consistently(func() []string { return target.Requests(false) }, "2s").Should(BeEmpty())
	})

	It("deactivates nobody when the Okta listing or the target fails", func() {
		ann := "ann-" + rand.String(4) + "@example.com"
		app, appID, ids := appWithUsers(ann)
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.Safeguard.MaxDeactivationPercent = ptr.To[int32](100)
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		oktaREST("DELETE", "/api/v1/groups/"+groupOf(ctx, appID)+"/users/"+ids[ann], nil) // would deactivate ann

		By("the target answers 503")
		target.SetFault(scimtest.Fault{Status: 503, Times: -1})
		trigger(s, "target-down")
		Eventually(synced(s), "30s").Should(Equal("False/" + ssov1.TargetUnavailableReason))
		target.SetFault(scimtest.Fault{})
		Expect(activeOf(ann)).To(Equal(true))

		By("the target answers garbage")
		target.SetFault(scimtest.Fault{Garbage: true, Times: -1})
		trigger(s, "garbage")
		Eventually(synced(s), "30s").Should(Equal("False/" + ssov1.InvalidResponseReason))
		target.SetFault(scimtest.Fault{})
		Expect(activeOf(ann)).To(Equal(true))

		By("Okta's listing fails")
		org.SetFaults(emulator.Faults{Force5xx: 40})
		DeferCleanup(func() { org.SetFaults(emulator.Faults{}) })
		trigger(s, "okta-down")
		Eventually(synced(s), "30s").Should(Equal("False/" + ssov1.SourceIncompleteReason))
		org.SetFaults(emulator.Faults{})
		Expect(activeOf(ann)).To(Equal(true), "a failed read is never an absence")
		Expect(recorder.all()).NotTo(ContainSubstring(scimToken))
		Expect(logs.String()).NotTo(ContainSubstring(scimToken))
	})

	It("deactivates nobody when Okta's listing fails on a later page", func() {
		appUserPaging.small.Store(true)
		DeferCleanup(func() { appUserPaging.small.Store(false); appUserPaging.failLater.Store(false) })
		logins := []string{"p1-" + rand.String(4) + "@example.com", "p2-" + rand.String(4) + "@example.com",
			"p3-" + rand.String(4) + "@example.com", "p4-" + rand.String(4) + "@example.com"}
		app, appID, ids := appWithUsers(logins...)
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.Safeguard.MaxDeactivationPercent = ptr.To[int32](100)
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(getSync(s).Status.Summary.Created).To(Equal(int32(4)), "four users over two pages of two")

		By("one user leaves, and Okta fails the second page of three users")
		oktaREST("DELETE", "/api/v1/groups/"+groupOf(ctx, appID)+"/users/"+ids[logins[3]], nil)
		appUserPaging.failLater.Store(true)
		trigger(s, "later-page-fails")
		Eventually(synced(s), "30s").Should(Equal("False/" + ssov1.SourceIncompleteReason))
		for _, login := range logins {
			Expect(activeOf(login)).To(Equal(true), "a listing cut short deactivates nobody: "+login)
		}

		By("the listing whole again: only the leaver is deactivated")
		appUserPaging.failLater.Store(false)
		trigger(s, "listing-whole")
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(activeOf(logins[3])).To(Equal(false))
		Expect(activeOf(logins[0])).To(Equal(true))
	})

	It("creates no duplicate when a run stops between a POST and its answer, and a restarted reconciler goes on", func() {
		s, _, _, key := unwatchedSync(3)
		target.SetFault(scimtest.Fault{Status: 503, Method: http.MethodPost, Times: 1, LoseAnswer: true})

		By("the first POST creates the account, but its answer is lost")
		_, err := freshReconciler().Reconcile(ctx, key)
		Expect(err).To(HaveOccurred())
		Expect(synced(s)()).To(Equal("False/" + ssov1.TargetUnavailableReason))
		createdBefore := len(target.Users()) // the lost one, and any sent beside it (4 writes at once)
		Expect(createdBefore).To(BeNumerically(">=", 1), "the POST took effect")

		By("a restarted reconciler, nothing in memory, finishes the run")
		_, err = freshReconciler().Reconcile(ctx, key)
		Expect(err).NotTo(HaveOccurred())
		Expect(synced(s)()).To(Equal("True/" + ssov1.ReconcileSucceededReason))
		Expect(getSync(s).Status.Summary.Created).To(Equal(int32(3 - createdBefore)))
		byExternalID := map[string]int{}
		for _, u := range target.Users() {
			byExternalID[u["externalId"].(string)]++
		}
		Expect(byExternalID).To(HaveLen(3))
		for id, n := range byExternalID {
			Expect(n).To(Equal(1), "one account for "+id)
		}
		Expect(k8s.Delete(ctx, s)).To(Succeed())
		_, _ = freshReconciler().Reconcile(ctx, key)
	})

	It("reports a mapping that does not compile as InvalidSpec, with the compiler's message", func() {
		app, _, _ := appWithUsers("x" + rand.String(4) + "@example.com")
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.AttributeMappings = []ssov1.AttributeMapping{{Target: "title", Expression: "user.title +"}}
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
		Expect(meta.FindStatusCondition(getSync(s).Status.Conditions, ssov1.SyncedCondition).Message).To(ContainSubstring("attributeMappings[0] (title)"))
		Expect(target.Requests(false)).To(BeEmpty(), "nothing was read or written")
	})

	It("computes the plan and writes nothing on a dry run", func() {
		app, _, _ := appWithUsers("y" + rand.String(4) + "@example.com")
		s := newSync(app, ssov1.SyncModeProvision)
		s.Spec.DryRun = true
		Expect(k8s.Create(ctx, s)).To(Succeed())
		Eventually(synced(s), "30s").Should(Equal("True/" + ssov1.DryRunReason))
		c := meta.FindStatusCondition(getSync(s).Status.Conditions, ssov1.ReadyCondition)
		Expect(c.Message).To(ContainSubstring("1 to create"))
		Expect(target.Users()).To(BeEmpty())
	})
})

// groupOf is the ID of the one group assigned to an app.
func groupOf(ctx context.Context, appID string) string {
	ids := appGroupIDs(ctx, appID)
	Expect(ids).To(HaveLen(1))
	return ids[0]
}
