package controller_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/controller"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// An AccountSync between its full runs, following the org's System Log.
var _ = Describe("AccountSync following the System Log", func() {
	ctx := context.Background()
	const followOrg = "okta-org-follow"
	var target *scimtest.Server
	BeforeEach(func() {
		var err error
		target, err = scimtest.New(scimtest.Options{Token: scimToken})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(target.Close)
		for _, ns := range []string{watchedNS, unwatchedNS} {
			ensureSecrets(ctx, ns)
			org := orgSecret(ns, followOrg, apiToken)
			org.StringData["systemLogPollInterval"] = "1s"
			for _, s := range []*corev1.Secret{org, {ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scim-token"}, StringData: map[string]string{"token": scimToken}}} {
				Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, s))).To(Succeed())
			}
		}
	})

	// followedSync is a Provision sync of an app of the org Secret, its
	// group holding the given users, first run done; it returns the sync,
	// the app's ID, the group's ID and the users' IDs by login.
	followedSync := func(ns, orgSecretName string, reconcile func(*ssov1.OktaSAMLApp, *ssov1.AccountSync), logins ...string) (*ssov1.AccountSync, string, string, map[string]string) {
		app := newApp(ns)
		app.Spec.OrgRef.SecretName, app.Spec.SignOn.AttributeStatements = ssov1.ResourceName(orgSecretName), nil
		Expect(k8s.Create(ctx, app)).To(Succeed())
		groupName, groupID := newOktaGroup("followed")
		ids := map[string]string{}
		for _, login := range logins {
			u := oktaREST("POST", "/emulator/users", emulator.SeedUser{Login: login, FirstName: strings.Split(login, "-")[0], LastName: "Doe", Groups: []string{groupName}})
			ids[login] = u["id"].(string)
		}
		s := &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "follow-" + rand.String(6)}, Spec: ssov1.AccountSyncSpec{
			AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(app.Name)}, Mode: ssov1.SyncModeProvision,
			Target:            ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(target.URL()), AuthSecretRef: ssov1.SecretKeySelector{Name: "scim-token", Key: "token"}}},
			Match:             ssov1.MatchRule{OktaAttribute: "login", TargetAttribute: "userName"},
			AttributeMappings: []ssov1.AttributeMapping{{Target: "name.givenName", Expression: "user.firstName"}},
			Safeguard:         ssov1.Safeguard{MaxDeactivationPercent: ptr.To[int32](50)},
		}}
		reconcile(app, nil)
		appID := get(ctx, app).Status.AppID
		_, err := oktaAPI.AssignGroup(ctx, appID, groupID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Create(ctx, s)).To(Succeed())
		// Gone after the spec: the org's poll period is its shortest sync's.
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, s))).To(Succeed()) })
		reconcile(app, s)
		return s, appID, groupID, ids
	}
	// byTheManager waits for the suite's manager to bring the app Ready
	// and the sync's first run to its end.
	byTheManager := func(app *ssov1.OktaSAMLApp, s *ssov1.AccountSync) {
		if s == nil {
			Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
			return
		}
		Eventually(func() *metav1.Time { return getSyncOf(ctx, s).Status.LastSuccessfulSyncTime }, "30s").ShouldNot(BeNil())
	}
	account := func(userName string) map[string]any {
		for _, u := range target.Users() {
			if u["userName"] == userName {
				return u
			}
		}
		return nil
	}
	activeOf := func(userName string) func() any {
		return func() any {
			if a := account(userName); a != nil {
				return a["active"]
			}
			return "no account"
		}
	}
	lifecycle := func(userID, op string) { oktaREST(http.MethodPost, "/api/v1/users/"+userID+"/lifecycle/"+op, nil) }

	It("deactivates, reactivates, provisions, updates and deactivates on unassignment between runs, without a full run or a DELETE", func() {
		ann, bob, cid := "ann-"+rand.String(4)+"@example.com", "bob-"+rand.String(4)+"@example.com", "cid-"+rand.String(4)+"@example.com"
		// Four bystanders, so that three deactivations are within the 50% safeguard.
		bystanders := []string{"eve-" + rand.String(4) + "@example.com", "fay-" + rand.String(4) + "@example.com", "gil-" + rand.String(4) + "@example.com", "ivy-" + rand.String(4) + "@example.com"}
		s, appID, groupID, ids := followedSync(watchedNS, followOrg, byTheManager, append([]string{ann, bob}, bystanders...)...)
		Eventually(activeOf(ann), "30s").Should(BeTrue())
		lastRun := getSyncOf(ctx, s).Status.LastSyncTime

		By("ann deactivated in Okta")
		lifecycle(ids[ann], "deactivate")
		Eventually(activeOf(ann), "30s").Should(BeFalse())
		By("ann activated again")
		lifecycle(ids[ann], "activate")
		Eventually(activeOf(ann), "30s").Should(BeTrue())
		By("bob leaves the bound group")
		oktaREST(http.MethodDelete, "/api/v1/groups/"+groupID+"/users/"+ids[bob], nil)
		Eventually(activeOf(bob), "30s").Should(BeFalse())
		By("cid assigned to the app directly")
		cidUser := oktaREST("POST", "/emulator/users", emulator.SeedUser{Login: cid, FirstName: "Cid", LastName: "Doe"})
		_, err := oktaAPI.AssignUser(ctx, appID, okta.AppUser{ID: cidUser["id"].(string)})
		Expect(err).NotTo(HaveOccurred())
		Eventually(activeOf(cid), "30s").Should(BeTrue())
		By("cid unassigned from the app")
		Expect(oktaAPI.UnassignUser(ctx, appID, cidUser["id"].(string))).To(Succeed())
		Eventually(activeOf(cid), "30s").Should(BeFalse())
		By("ann's first name changed")
		oktaREST(http.MethodPost, "/api/v1/users/"+ids[ann], map[string]any{"profile": map[string]any{"firstName": "Annie"}})
		Eventually(func() any {
			name, _ := account(ann)["name"].(map[string]any)
			return name["givenName"]
		}, "30s").Should(Equal("Annie"))

		got := getSyncOf(ctx, s).Status
		Expect(got.LastSyncTime).To(Equal(lastRun), "no full run happened")
		Expect(got.Following.Deactivated).To(Equal(int32(3)))
		Expect(got.Following.Reactivated).To(Equal(int32(1)))
		Expect(got.Following.Created).To(Equal(int32(1)))
		Expect(got.Following.LastEventTime).NotTo(BeNil())
		Expect(recorder.eventsFor(watchedNS, s.Name)).To(ContainElement(ContainSubstring(ssov1.FollowedSystemLogReason)))
		Expect(target.Count("DELETE ")).To(BeZero(), "an account is never deleted")
	})

	It("counts the accounts passes created toward the safeguard, when the first run found none", func() {
		s, _, groupID, _ := followedSync(watchedNS, followOrg, byTheManager) // no users yet
		Eventually(func() *ssov1.FollowStatus { return getSyncOf(ctx, s).Status.Following }, "30s").ShouldNot(BeNil())
		groupName := oktaREST(http.MethodGet, "/api/v1/groups/"+groupID, nil)["profile"].(map[string]any)["name"].(string)
		var ids []string
		var logins []string
		for range 4 {
			login := "late-" + rand.String(5) + "@example.com"
			u := oktaREST("POST", "/emulator/users", emulator.SeedUser{Login: login, FirstName: "Late", LastName: "Joiner", Groups: []string{groupName}})
			ids, logins = append(ids, u["id"].(string)), append(logins, login)
		}
		for _, login := range logins {
			Eventually(activeOf(login), "30s").Should(BeTrue(), "created by a pass")
		}
		lifecycle(ids[0], "deactivate") // 1 of the 4 accounts passes created, within 50%
		Eventually(activeOf(logins[0]), "30s").Should(BeFalse())
	})

	It("only reports in Match mode", func() {
		gus := "gus-" + rand.String(4) + "@example.com"
		s, _, _, ids := followedSync(watchedNS, followOrg, byTheManager, gus, "hal-"+rand.String(4)+"@example.com")
		Eventually(activeOf(gus), "30s").Should(BeTrue())
		Eventually(func() error {
			cur := getSyncOf(ctx, s)
			cur.Spec.Mode = ssov1.SyncModeMatch
			return k8s.Update(ctx, cur)
		}).Should(Succeed())
		Eventually(func() int64 { return getSyncOf(ctx, s).Status.ObservedGeneration }, "30s").Should(Equal(getSyncOf(ctx, s).Generation))
		patches := target.Count("PATCH ")
		lifecycle(ids[gus], "deactivate")
		Eventually(func() []string { return recorder.eventsFor(watchedNS, s.Name) }, "30s").Should(
			ContainElement(MatchRegexp(`FollowedSystemLog: \d+ users from the System Log; nothing written \(Match mode\): 2 matched, 0 unmatched`)))
		Expect(activeOf(gus)()).To(BeTrue())
		Expect(target.Count("PATCH ")).To(Equal(patches))
	})

	It("trips the safeguard on a burst of deactivations, as a run would", func() {
		var logins []string
		for range 5 {
			logins = append(logins, "u-"+rand.String(6)+"@example.com")
		}
		s, _, _, ids := followedSync(watchedNS, followOrg, byTheManager, logins...)
		for _, login := range logins[:3] { // 3 of 5, over the 50% allowed
			lifecycle(ids[login], "deactivate")
		}
		Eventually(func() string { return conditionState(getSyncOf(ctx, s).Status.Conditions, ssov1.SyncedCondition) }, "30s").
			Should(Equal("False/" + ssov1.SafeguardTrippedReason))
		for _, login := range logins {
			Expect(activeOf(login)()).To(BeTrue(), "nothing was deactivated")
		}
	})

	It("costs no SCIM call for an event of an app no AccountSync follows", func() {
		s, _, _, _ := followedSync(watchedNS, followOrg, byTheManager, "dee-"+rand.String(4)+"@example.com")
		// The first poll after the run hands the sync every user of the
		// events published in the run's millisecond (the suite's clock
		// stands still), and that pass may wait behind other syncs'
		// retries on the controller's one worker: it is over first.
		Eventually(func() *metav1.Time {
			if f := getSyncOf(ctx, s).Status.Following; f != nil {
				return f.LastPassTime
			}
			return nil
		}, "90s", "250ms").ShouldNot(BeNil())
		_, otherID := readyApp(ctx)
		_, eveID := newOktaUser()
		polls := func() int { return org.Stats().Routes["GET /api/v1/logs"] }
		// settled waits for two polls and then five seconds in which the
		// target heard nothing: a pass the setup started may wait behind
		// other syncs' retries on the controller's one worker.
		settled := func() {
			Eventually(polls, "30s").Should(BeNumerically(">=", polls()+2))
			last, since := len(target.Requests(false)), time.Now()
			Eventually(func() time.Duration {
				if n := len(target.Requests(false)); n != last {
					last, since = n, time.Now()
				}
				return time.Since(since)
			}, "90s", "250ms").Should(BeNumerically(">", 5*time.Second))
		}
		settled()
		before := len(target.Requests(false))
		_, err := oktaAPI.AssignUser(ctx, otherID, okta.AppUser{ID: eveID})
		Expect(err).NotTo(HaveOccurred())
		// The follower read the event and sent nothing to the target.
		settled()
		Expect(target.Requests(false)[before:]).To(BeEmpty())
	})

	It("acts on an event hook delivery, the org's log not polled; a repeat changes nothing", func() {
		hookOrg := orgSecret(watchedNS, "okta-org-hook", apiToken) // systemLogPollInterval 0
		Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, hookOrg))).To(Succeed())
		hook := httptest.NewServer(&controller.EventHook{Header: "Authorization", Secret: []byte("hook-secret-3f9c"), Follower: follower})
		DeferCleanup(hook.Close)
		host := strings.TrimPrefix(orgURL, "http://")
		call := func(method, secret string, header map[string]string, body string) (int, string) {
			req, _ := http.NewRequest(method, hook.URL+"/okta/event-hooks/"+host, strings.NewReader(body))
			req.Header.Set("Authorization", secret)
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(out)
		}
		By("Okta's one-time verification")
		code, body := call(http.MethodGet, "hook-secret-3f9c", map[string]string{"X-Okta-Verification-Challenge": "chal-42"}, "")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(MatchJSON(`{"verification":"chal-42"}`))
		code, _ = call(http.MethodPost, "wrong", nil, `{"data":{"events":[]}}`)
		Expect(code).To(Equal(http.StatusUnauthorized))

		ann := "ann-" + rand.String(4) + "@example.com"
		s, _, _, ids := followedSync(watchedNS, "okta-org-hook", byTheManager, ann, "bob-"+rand.String(4)+"@example.com", "cy-"+rand.String(4)+"@example.com")
		Eventually(activeOf(ann), "30s").Should(BeTrue())

		By("ann deactivated; Okta delivers the event, twice")
		lifecycle(ids[ann], "deactivate")
		page, err := oktaAPI.LogEvents(ctx, okta.LogQuery{Since: clock.Now().Add(-time.Minute), Filter: `eventType eq "user.lifecycle.deactivate"`})
		Expect(err).NotTo(HaveOccurred())
		raw, _ := json.Marshal(map[string]any{"eventType": "com.okta.event_hook", "data": map[string]any{"events": page.Events}})
		for range 2 {
			code, body = call(http.MethodPost, "hook-secret-3f9c", map[string]string{"Content-Type": "application/json"}, string(raw))
			Expect(code).To(Equal(http.StatusOK), body)
		}
		Eventually(activeOf(ann), "10s").Should(BeFalse())
		Consistently(func() int { return target.Count("PATCH ") }, "2s").Should(Equal(1), "the repeat wrote nothing")
		Expect(getSyncOf(ctx, s).Status.Following.Deactivated).To(Equal(int32(1)))
	})

	It("loses no event and applies none twice across a restart between two polls", func() {
		step := func(r interface {
			Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
		}, obj client.Object) {
			_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
			Expect(err).NotTo(HaveOccurred())
		}
		fresh := func() (*controller.LogFollower, *controller.AccountSyncReconciler) {
			orgs := &controller.SecretOrgs{Egress: loopbackEgress, Reader: k8s, Now: clock.Now, Configure: fastRetries}
			queue := controller.NewFollowQueue()
			return &controller.LogFollower{Reader: k8s, Orgs: orgs, Queue: queue},
				&controller.AccountSyncReconciler{Client: k8s, Recorder: recorder, Now: clock.Now, Orgs: orgs, Follow: queue}
		}
		_, syncs := fresh()
		apps, _ := countingReconciler()
		ann, bob := "ann-"+rand.String(4)+"@example.com", "bob-"+rand.String(4)+"@example.com"
		s, _, _, ids := followedSync(unwatchedNS, followOrg, func(app *ssov1.OktaSAMLApp, s *ssov1.AccountSync) {
			for range 3 {
				if s == nil {
					step(apps, app)
				} else {
					step(syncs, s)
				}
			}
		}, ann, bob, "eve-"+rand.String(4)+"@example.com", "fay-"+rand.String(4)+"@example.com")
		Expect(activeOf(ann)()).To(BeTrue())

		follower, syncs := fresh()
		lifecycle(ids[ann], "deactivate")
		follower.PollNow(ctx)
		step(syncs, s)
		Expect(activeOf(ann)()).To(BeFalse())
		patches := target.Count("PATCH ")

		By("a new process, nothing in memory: only what came after the recorded cursor")
		follower, syncs = fresh()
		lifecycle(ids[bob], "deactivate")
		follower.PollNow(ctx)
		step(syncs, s)
		Expect(activeOf(bob)()).To(BeFalse())
		Expect(target.Count("PATCH ")).To(Equal(patches+1), "ann's deactivation was not applied again")
		Expect(getSyncOf(ctx, s).Status.Following.Passes).To(Equal(int32(2)))
	})
})

func getSyncOf(ctx context.Context, s *ssov1.AccountSync) *ssov1.AccountSync {
	out := &ssov1.AccountSync{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(s), out)).To(Succeed())
	return out
}
