package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

const bound = "True/" + ssov1.ReconcileSucceededReason

var _ = Describe("SSOBinding", func() {
	var ctx context.Context
	BeforeEach(func() { ctx = context.Background() })

	gone := func(b *ssov1.SSOBinding) func() bool {
		return func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(b), &ssov1.SSOBinding{}))
		}
	}

	It("assigns a group and a user, reports their IDs, and removes them when deleted", func() {
		app, appID := readyApp(ctx)
		groupName, groupID := newOktaGroup("eng")
		login, userID := newOktaUser()
		b := newBinding(app.Name, group(groupName), user(login))
		b.Spec.Priority = ptr.To[int32](0)
		b.Spec.Profile = map[string]apiextensionsv1.JSON{"role": jsonValue("Editor")}
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound))

		got := getBinding(ctx, b)
		Expect(got.Finalizers).To(ContainElement(ssov1.Finalizer))
		Expect(got.Status.Resolved).To(ConsistOf(
			ssov1.ResolvedSubject{Kind: ssov1.SubjectKindGroup, Name: groupName, ID: groupID},
			ssov1.ResolvedSubject{Kind: ssov1.SubjectKindUser, Name: login, ID: userID}))
		Expect(got.Status.AssignedCount).To(Equal(int32(2)))
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(got.Generation).To(Equal(int64(1)), "the operator never writes the spec")
		Expect(appGroupIDs(ctx, appID)).To(ConsistOf(groupID))
		Expect(appUserScopes(ctx, appID)).To(HaveKeyWithValue(userID, "USER"))
		groups, err := oktaAPI.ListAppGroups(ctx, appID)
		Expect(err).NotTo(HaveOccurred())
		Expect(groups[0].Profile).To(HaveKeyWithValue("role", "Editor"))

		By("the trigger annotation is handled and echoed, with no write in Okta")
		org.ResetStats()
		annotateBinding(ctx, b, ssov1.ReconcileRequestAnnotation, "now-1")
		Eventually(func() string { return getBinding(ctx, b).Status.LastHandledReconcileAt }, "30s").Should(Equal("now-1"))
		Expect(assignmentWrites()).To(BeZero())

		By("deleting the binding removes its assignments before it goes")
		Expect(k8s.Delete(ctx, b)).To(Succeed())
		Eventually(gone(b), "30s").Should(BeTrue())
		Expect(appGroupIDs(ctx, appID)).To(BeEmpty())
		Expect(appUserScopes(ctx, appID)).NotTo(HaveKey(userID))
	})

	It("keeps a group two bindings share until the last one goes", func() {
		app, appID := readyApp(ctx)
		groupName, groupID := newOktaGroup("shared")
		first, second := newBinding(app.Name, group(groupName)), newBinding(app.Name, group(groupName))
		Expect(k8s.Create(ctx, first)).To(Succeed())
		Expect(k8s.Create(ctx, second)).To(Succeed())
		Eventually(bindingReady(ctx, first), "30s").Should(Equal(bound))
		Eventually(bindingReady(ctx, second), "30s").Should(Equal(bound))

		Expect(k8s.Delete(ctx, first)).To(Succeed())
		Eventually(gone(first), "30s").Should(BeTrue())
		Consistently(func() []string { return appGroupIDs(ctx, appID) }, "2s").Should(ConsistOf(groupID))

		Expect(k8s.Delete(ctx, second)).To(Succeed())
		Eventually(gone(second), "30s").Should(BeTrue())
		Eventually(func() []string { return appGroupIDs(ctx, appID) }, "30s").Should(BeEmpty())
	})

	It("leaves a hand-made assignment alone when Additive and removes it when Authoritative", func() {
		app, appID := readyApp(ctx)
		boundName, boundID := newOktaGroup("bound")
		_, handID := newOktaGroup("by-hand")
		_, err := oktaAPI.AssignGroup(ctx, appID, handID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())

		b := newBinding(app.Name, group(boundName))
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound))
		Expect(appGroupIDs(ctx, appID)).To(ConsistOf(boundID, handID), "Additive owns only what it made")

		updateBinding(ctx, b, func(b *ssov1.SSOBinding) { b.Spec.Mode = ssov1.BindingModeAuthoritative })
		Eventually(func() []string { return appGroupIDs(ctx, appID) }, "30s").Should(ConsistOf(boundID))
		Eventually(func() []string { return recorder.eventsFor(watchedNS, b.Name) }).Should(ContainElement(And(ContainSubstring("Unassigned"), ContainSubstring(handID))))

		By("Additive again: dropping the subject removes what the binding made")
		updateBinding(ctx, b, func(b *ssov1.SSOBinding) {
			b.Spec.Mode = ssov1.BindingModeAdditive
			b.Spec.Subjects = []ssov1.Subject{group("Engineering")}
		})
		Eventually(func() []string { return appGroupIDs(ctx, appID) }, "30s").ShouldNot(ContainElement(boundID))
	})

	It("still knows what it assigned after the bindings' status is lost (a backup restored without status)", func() {
		app, appID := readyApp(ctx)
		madeName, madeID := newOktaGroup("made")
		_, handID := newOktaGroup("hand")
		b := newBinding(app.Name, group(madeName), group("Engineering"))
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound))
		_, err := oktaAPI.AssignGroup(ctx, appID, handID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())
		Expect(get(ctx, app).Annotations).To(HaveKeyWithValue("sso.oktaop.io/assigned", ContainSubstring("Group:"+madeID)))

		lost := getBinding(ctx, b)
		lost.Status = ssov1.SSOBindingStatus{}
		Expect(k8s.Status().Update(ctx, lost)).To(Succeed())
		updateBinding(ctx, b, func(b *ssov1.SSOBinding) { b.Spec.Subjects = []ssov1.Subject{group("Engineering")} })
		Eventually(func() []string { return appGroupIDs(ctx, appID) }, "30s").ShouldNot(ContainElement(madeID))
		Expect(appGroupIDs(ctx, appID)).To(ContainElement(handID), "the hand-made one is still left alone")
	})

	It("lets the oldest binding win a conflict and reports it on the other", func() {
		app, appID := readyApp(ctx)
		login, userID := newOktaUser()
		older := newBinding(app.Name, user(login))
		older.Spec.Profile = map[string]apiextensionsv1.JSON{"role": jsonValue("Editor")}
		Expect(k8s.Create(ctx, older)).To(Succeed())
		Eventually(bindingReady(ctx, older), "30s").Should(Equal(bound))
		time.Sleep(time.Second) // creation timestamps have a one-second resolution
		younger := newBinding(app.Name, user(login))
		younger.Spec.Profile = map[string]apiextensionsv1.JSON{"role": jsonValue("Admin")}
		Expect(k8s.Create(ctx, younger)).To(Succeed())

		Eventually(bindingReady(ctx, younger), "30s").Should(Equal("False/" + ssov1.ConflictReason))
		Expect(bindingMessage(ctx, younger)).To(ContainSubstring(watchedNS + "/" + older.Name))
		Expect(bindingReady(ctx, older)()).To(Equal(bound))
		u, err := oktaAPI.GetAppUser(ctx, appID, userID)
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Profile).To(HaveKeyWithValue("role", "Editor"))

		By("no flip-flop: passes leave the winner's value")
		org.ResetStats()
		annotateBinding(ctx, younger, ssov1.ReconcileRequestAnnotation, "again")
		annotateBinding(ctx, older, ssov1.ReconcileRequestAnnotation, "again")
		Eventually(func() string { return getBinding(ctx, older).Status.LastHandledReconcileAt }, "30s").Should(Equal("again"))
		Expect(assignmentWrites()).To(BeZero())
		Expect(k8s.Delete(ctx, younger)).To(Succeed())
		Expect(k8s.Delete(ctx, older)).To(Succeed())
	})

	It("reports a subject Okta does not have, assigns the rest, and converges once it exists", func() {
		app, appID := readyApp(ctx)
		missing := "later-" + strings.ToLower(app.Name)
		existingName, existingID := newOktaGroup("now")
		b := newBinding(app.Name, group(existingName), group(missing))
		b.Spec.Interval = metav1Duration(time.Minute)
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal("False/" + ssov1.SubjectNotFoundReason))
		Expect(bindingMessage(ctx, b)).To(ContainSubstring("Group " + missing))
		Expect(appGroupIDs(ctx, appID)).To(ConsistOf(existingID), "the subjects that exist are assigned")

		created := oktaREST(http.MethodPost, "/api/v1/groups", map[string]any{"profile": map[string]any{"name": missing}})
		Eventually(bindingReady(ctx, b), "90s", "1s").Should(Equal(bound), "picked up on the interval, with no request")
		Expect(appGroupIDs(ctx, appID)).To(ConsistOf(existingID, created["id"]))
	})

	It("reports a profile Okta refuses as InvalidSpec with Okta's causes, and keeps the app's other bindings working", func() {
		app, appID := readyApp(ctx)
		okName, okID := newOktaGroup("ok")
		badName, _ := newOktaGroup("bad")
		good := newBinding(app.Name, group(okName))
		bad := newBinding(app.Name, group(badName))
		bad.Spec.Profile = map[string]apiextensionsv1.JSON{"settings": jsonValue(map[string]any{"theme": "dark"})}
		Expect(k8s.Create(ctx, good)).To(Succeed())
		Expect(k8s.Create(ctx, bad)).To(Succeed())
		Eventually(bindingReady(ctx, bad), "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
		Expect(bindingMessage(ctx, bad)).To(And(ContainSubstring("E0000001"), ContainSubstring("profile.settings")))
		Expect(hasBindingCondition(getBinding(ctx, bad), ssov1.StalledCondition)).To(BeTrue())
		Eventually(bindingReady(ctx, good), "30s").Should(Equal(bound))
		Expect(appGroupIDs(ctx, appID)).To(ConsistOf(okID))
	})

	It("reports a group deleted in Okta and a user deactivated in Okta", func() {
		app, appID := readyApp(ctx)
		groupName, groupID := newOktaGroup("doomed")
		login, userID := newOktaUser()
		b := newBinding(app.Name, group(groupName), group("Engineering"))
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound))

		oktaREST(http.MethodDelete, "/api/v1/groups/"+groupID, nil)
		annotateBinding(ctx, b, ssov1.ReconcileRequestAnnotation, "after-delete")
		Eventually(bindingReady(ctx, b), "30s").Should(Equal("False/" + ssov1.SubjectNotFoundReason))
		Expect(bindingMessage(ctx, b)).To(ContainSubstring("Group " + groupName))
		Expect(appGroupIDs(ctx, appID)).To(HaveLen(1), "Engineering stays assigned")

		oktaREST(http.MethodPost, "/api/v1/users/"+userID+"/lifecycle/deactivate", nil)
		deactivated := newBinding(app.Name, user(login))
		Expect(k8s.Create(ctx, deactivated)).To(Succeed())
		Eventually(bindingReady(ctx, deactivated), "30s").Should(Equal("False/" + ssov1.SubjectNotFoundReason))
		Expect(bindingMessage(ctx, deactivated)).To(ContainSubstring("User " + login + " (user is deprovisioned in Okta)"))
	})

	It("waits for an app that does not exist yet, and binds once it is Ready", func() {
		ensureSecrets(ctx, watchedNS)
		app := newApp(watchedNS)
		app.Spec.SignOn.AttributeStatements = nil
		b := newBinding(app.Name, group("Engineering"))
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal("False/" + ssov1.DependencyNotReadyReason))

		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound), "the app's Ready is watched, not polled")
		Expect(appGroupIDs(ctx, get(ctx, app).Status.AppID)).To(HaveLen(1))
	})

	It("keeps working while the app is INACTIVE", func() {
		ensureSecrets(ctx, watchedNS)
		app := newApp(watchedNS)
		app.Spec.SignOn.AttributeStatements = nil
		app.Spec.Active = ptr.To(false)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("True/" + ssov1.InactiveReason))
		name, id := newOktaGroup("inactive")
		b := newBinding(app.Name, group(name))
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound))
		Expect(appGroupIDs(ctx, get(ctx, app).Status.AppID)).To(ConsistOf(id))
	})

	It("is released when its app was deleted first", func() {
		app, _ := readyApp(ctx)
		b := newBinding(app.Name, group("Engineering"))
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound))
		Expect(k8s.Delete(ctx, app)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(app), app)) }, "30s").Should(BeTrue())
		Expect(k8s.Delete(ctx, b)).To(Succeed())
		Eventually(gone(b), "30s").Should(BeTrue())
	})

	It("changes nothing in Okta while suspended", func() {
		app, appID := readyApp(ctx)
		name, id := newOktaGroup("suspended")
		b := newBinding(app.Name, group("Engineering"))
		Expect(k8s.Create(ctx, b)).To(Succeed())
		Eventually(bindingReady(ctx, b), "30s").Should(Equal(bound))
		before := appGroupIDs(ctx, appID)

		updateBinding(ctx, b, func(b *ssov1.SSOBinding) { b.Spec.Suspend, b.Spec.Subjects = true, []ssov1.Subject{group(name)} })
		Eventually(bindingReady(ctx, b), "30s").Should(Equal("False/" + ssov1.SuspendedReason))
		Consistently(func() []string { return appGroupIDs(ctx, appID) }, "2s").Should(ConsistOf(before))

		updateBinding(ctx, b, func(b *ssov1.SSOBinding) { b.Spec.Suspend = false })
		Eventually(func() []string { return appGroupIDs(ctx, appID) }, "30s").Should(ConsistOf(id))

		By("a suspended binding is deleted without touching Okta, and later passes leave what it made")
		updateBinding(ctx, b, func(b *ssov1.SSOBinding) { b.Spec.Suspend = true })
		Eventually(bindingReady(ctx, b), "30s").Should(Equal("False/" + ssov1.SuspendedReason))
		Expect(k8s.Delete(ctx, b)).To(Succeed())
		Eventually(gone(b), "30s").Should(BeTrue())
		other := newBinding(app.Name, group("Engineering"))
		Expect(k8s.Create(ctx, other)).To(Succeed())
		Eventually(bindingReady(ctx, other), "30s").Should(Equal(bound))
		Expect(appGroupIDs(ctx, appID)).To(ContainElement(id))
	})

	It("keeps a direct assignment a group still grants, says so once, and removes it when the group goes", func() {
		app, appID := readyApp(ctx)
		groupName, groupID := newOktaGroup("grants")
		login, userID := newOktaUser(groupName)
		direct := newBinding(app.Name, user(login))
		viaGroup := newBinding(app.Name, group(groupName))
		Expect(k8s.Create(ctx, direct)).To(Succeed())
		Expect(k8s.Create(ctx, viaGroup)).To(Succeed())
		Eventually(bindingReady(ctx, direct), "30s").Should(Equal(bound))
		Eventually(bindingReady(ctx, viaGroup), "30s").Should(Equal(bound))

		updateBinding(ctx, direct, func(b *ssov1.SSOBinding) { b.Spec.Subjects = []ssov1.Subject{group("Engineering")} })
		Eventually(func() string { return bindingMessage(ctx, direct) }, "30s").Should(ContainSubstring("while group " + groupName + " grants the app"))
		Expect(appUserScopes(ctx, appID)).To(HaveKeyWithValue(userID, "USER"), "Okta kept the direct assignment")
		refusals := func() int { return org.Stats().RouteStatuses["DELETE /api/v1/apps/{appID}/users/{userID}"]["403"] }
		held := refusals()
		annotateBinding(ctx, direct, ssov1.ReconcileRequestAnnotation, "held")
		Eventually(func() string { return getBinding(ctx, direct).Status.LastHandledReconcileAt }, "30s").Should(Equal("held"))
		Expect(refusals()).To(Equal(held), "not tried again while the app's groups are the same")
		Expect(strings.Count(strings.Join(recorder.eventsFor(watchedNS, direct.Name), "\n"), "RemovalHeldByGroup")).To(Equal(1))

		Expect(k8s.Delete(ctx, viaGroup)).To(Succeed())
		Eventually(func() map[string]string { return appUserScopes(ctx, appID) }, "30s").ShouldNot(HaveKey(userID))
		Expect(appGroupIDs(ctx, appID)).NotTo(ContainElement(groupID))
	})

	It("costs one list of the app's groups and one of its users, and no write, for an idle pass over 50 bindings", func() {
		app, appID := readyApp(ctx)
		login, _ := newOktaUser()
		bindings := make([]*ssov1.SSOBinding, 50)
		names := make([]string, 50)
		for i := range bindings {
			names[i], _ = newOktaGroup(fmt.Sprintf("team%02d", i))
			bindings[i] = newBinding(app.Name, group(names[i]), user(login))
			Expect(k8s.Create(ctx, bindings[i])).To(Succeed())
		}
		for _, b := range bindings {
			Eventually(bindingReady(ctx, b), "60s").Should(Equal(bound))
		}
		Eventually(func() int32 { return getBinding(ctx, bindings[0]).Status.AssignedCount }).Should(Equal(int32(2)))
		Eventually(func() int { // what earlier passes set off is over
			before := org.Stats().Total
			time.Sleep(500 * time.Millisecond)
			return org.Stats().Total - before
		}, "30s").Should(BeZero())

		// Other specs' objects live on against the same org: count only the
		// requests about this app and these subjects.
		_, mark := requestsSent(0)
		annotateBinding(ctx, bindings[0], ssov1.ReconcileRequestAnnotation, "idle")
		Eventually(func() string { return getBinding(ctx, bindings[0]).Status.LastHandledReconcileAt }, "30s").Should(Equal("idle"))
		sent, _ := requestsSent(mark)
		about := map[string]int{}
		for _, r := range sent {
			method, uri, _ := strings.Cut(r, " ")
			path, query, _ := strings.Cut(uri, "?")
			switch {
			case strings.HasPrefix(path, "/api/v1/apps/"+appID+"/"):
				about[method+" /api/v1/apps/{appID}/"+strings.Split(strings.TrimPrefix(path, "/api/v1/apps/"+appID+"/"), "/")[0]]++
			case strings.Contains(uri, strings.Split(login, "@")[0]) || slices.ContainsFunc(names, func(n string) bool { return strings.Contains(query, n) }):
				about["subject look-up"]++
			}
		}
		Expect(about).To(Equal(map[string]int{"GET /api/v1/apps/{appID}/groups": 1, "GET /api/v1/apps/{appID}/users": 1}),
			"one list of the app's groups and one of its users; subjects from the per-org cache; no write")
		AddReportEntry("idle pass, 50 bindings", fmt.Sprintf("%v", about))
		for _, b := range bindings {
			Expect(k8s.Delete(ctx, b)).To(Succeed())
		}
		for _, b := range bindings {
			Eventually(gone(b), "60s").Should(BeTrue())
		}
	})
})

func hasBindingCondition(b *ssov1.SSOBinding, condType string) bool {
	for _, c := range b.Status.Conditions {
		if c.Type == condType && c.Status == "True" {
			return true
		}
	}
	return false
}

// assignmentWrites counts writes to app assignments since the last reset.
func assignmentWrites() int {
	n := 0
	for route, count := range org.Stats().Routes {
		if strings.Contains(route, "/api/v1/apps/{appID}/") && !strings.HasPrefix(route, "GET ") {
			n += count
		}
	}
	return n
}

func annotateBinding(ctx context.Context, b *ssov1.SSOBinding, key, value string) {
	updateBinding(ctx, b, func(b *ssov1.SSOBinding) {
		if b.Annotations == nil {
			b.Annotations = map[string]string{}
		}
		b.Annotations[key] = value
	})
}
