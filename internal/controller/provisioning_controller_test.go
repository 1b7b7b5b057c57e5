package controller_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// The suite's org is the spoke; each spec gets a hub org of its own.
var _ = Describe("Org2Org provisioning into a hub", func() {
	const hubToken = "00HubTokenThatMustNeverAppear-41c9"
	var ctx context.Context
	var hubURL string
	var hubAPI *okta.Client
	BeforeEach(func() {
		ctx = context.Background()
		hub, err := emulator.New(emulator.Config{APIToken: hubToken, OrgName: "hub", KeyBits: 1024, RateLimits: generousLimits})
		Expect(err).NotTo(HaveOccurred())
		ts := httptest.NewServer(hub.Handler())
		DeferCleanup(ts.Close)
		hub.SetBaseURL(ts.URL)
		hubURL = ts.URL
		hubAPI, err = okta.New(okta.Config{OrgURL: hubURL, APIToken: hubToken})
		Expect(err).NotTo(HaveOccurred())
		ensureSecrets(ctx, watchedNS)
	})

	hubOrg := func() (*ssov1.OktaOrg, *corev1.Secret) {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "hub-token-" + rand.String(5)}, StringData: map[string]string{"token": hubToken}}
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		o := &ssov1.OktaOrg{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "hub-" + rand.String(5)},
			Spec: ssov1.OktaOrgSpec{URL: ssov1.URL(hubURL), MaxAPICapacityPercent: 100,
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret.Name), Key: "token"}}}}
		Expect(k8s.Create(ctx, o)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, o))).To(Succeed()) })
		return o, secret
	}
	org2org := func(hub *ssov1.OktaOrg, groups ...string) *ssov1.OktaSAMLApp {
		settings := `{"acsUrl":"` + hubURL + `/sso/saml2/0oa1","audRestriction":"` + hubURL + `","baseUrl":"` + hubURL + `"}`
		app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "hub-" + rand.String(5)},
			Spec: ssov1.OktaSAMLAppSpec{OrgRef: ssov1.OrgReference{SecretName: orgSecretName}, Label: "Hub " + rand.String(5),
				Preconfigured: "okta_org2org", AppSettings: &apiextensionsv1.JSON{Raw: []byte(settings)},
				Provisioning: &ssov1.AppProvisioning{Connection: ssov1.ProvisioningConnection{
					OrgRef: &ssov1.OrgReference{Kind: ssov1.OrgKindNamespaced, Name: ssov1.ResourceName(hub.Name)}}}}}
		for _, g := range groups {
			app.Spec.Provisioning.GroupPush = append(app.Spec.Provisioning.GroupPush, ssov1.GroupPushRule{Group: g})
		}
		return app
	}
	hubUser := func(login string) func() string {
		return func() string {
			u, err := hubAPI.FindUserByLogin(ctx, login)
			if okta.IsNotFound(err) {
				return "absent"
			}
			Expect(err).NotTo(HaveOccurred())
			first, _ := u.Profile["firstName"].(string)
			return u.Status + " " + first
		}
	}

	It("pushes the app's users and groups to the hub, follows profile changes and unassignments, and turns off when removed from the spec", func() {
		hub, _ := hubOrg()
		groupName, groupID := newOktaGroup("engineering")
		login, userID := newOktaUser(groupName)
		app := org2org(hub, groupName)
		app.Spec.Provisioning.Attributes = []ssov1.ProvisioningAttribute{{Name: "title", Expression: "user.title"}}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		appID := get(ctx, app).Status.AppID
		st := get(ctx, app).Status.Provisioning
		Expect(st).NotTo(BeNil())
		Expect(st.Connection).To(Equal(okta.ConnectionEnabled))
		Expect(st.Hub).To(Equal(hubURL))
		Expect(st.GroupPush).To(ConsistOf(And(HaveField("Group", groupName), HaveField("Status", "ACTIVE"), HaveField("MappingID", Not(BeEmpty())))))

		By("a user assigned in the spoke (through the group) is in the hub before any sign-in")
		_, err := oktaAPI.AssignGroup(ctx, appID, groupID, okta.AppGroupAssignment{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(hubUser(login)).Should(HavePrefix("ACTIVE"))
		hubGroup, err := hubAPI.FindGroupByName(ctx, groupName)
		Expect(err).NotTo(HaveOccurred(), "the pushed group is in the hub")
		members, err := hubAPI.ListGroupMembers(ctx, hubGroup.ID)
		Expect(err).NotTo(HaveOccurred())
		Expect(members).To(HaveLen(1))
		Expect(members[0].Profile).To(HaveKeyWithValue("login", login))

		By("a user assigned directly, whom the hub has already under the same login, is matched, not duplicated")
		known, knownID := newOktaUser()
		existing, err := hubAPI.FindUserByLogin(ctx, known)
		Expect(okta.IsNotFound(err)).To(BeTrue(), "%v %v", existing, err)
		hubID := createHubUser(hubURL, hubToken, known)
		_, err = oktaAPI.AssignUser(ctx, appID, okta.AppUser{ID: knownID, Scope: "USER"})
		Expect(err).NotTo(HaveOccurred())
		Eventually(hubUser(known)).Should(And(HavePrefix("PROVISIONED"), Not(HaveSuffix("Already"))), "matched (its status as the hub had it) and given the spoke's profile")
		matched, err := hubAPI.FindUserByLogin(ctx, known)
		Expect(err).NotTo(HaveOccurred())
		Expect(matched.ID).To(Equal(hubID))

		By("deactivated in the spoke: deactivated in the hub")
		oktaREST("POST", "/api/v1/users/"+knownID+"/lifecycle/deactivate", nil)
		Eventually(hubUser(known)).Should(HavePrefix("DEPROVISIONED"))

		By("a status lost between a push mapping made and its record (a restart): the mapping is found, not made twice")
		Eventually(func() error {
			cur := get(ctx, app)
			cur.Status.Provisioning = nil
			return k8s.Status().Update(ctx, cur)
		}).Should(Succeed())
		annotate := func(value string) {
			Eventually(func() error {
				cur := get(ctx, app)
				if cur.Annotations == nil {
					cur.Annotations = map[string]string{}
				}
				cur.Annotations[ssov1.ReconcileRequestAnnotation] = value
				return k8s.Update(ctx, cur)
			}).Should(Succeed())
		}
		annotate("after-restart")
		Eventually(func() []ssov1.GroupPushStatus {
			if st := get(ctx, app).Status.Provisioning; st != nil {
				return st.GroupPush
			}
			return nil
		}, "30s").Should(ConsistOf(HaveField("MappingID", st.GroupPush[0].MappingID)))
		mappings, err := oktaAPI.ListGroupPushMappings(ctx, appID)
		Expect(err).NotTo(HaveOccurred())
		Expect(mappings).To(HaveLen(1))

		By("a profile change in the spoke reaches the hub, the attribute the spec maps too")
		Expect(get(ctx, app).Status.Provisioning.Attributes).To(Equal([]string{"title"}))
		oktaREST("POST", "/api/v1/users/"+userID, map[string]any{"profile": map[string]any{"firstName": "Renamed", "title": "Staff Engineer"}})
		Eventually(hubUser(login)).Should(Equal("ACTIVE Renamed"))
		u, err := hubAPI.FindUserByLogin(ctx, login)
		Expect(err).NotTo(HaveOccurred())
		Expect(u.Profile).To(HaveKeyWithValue("title", "Staff Engineer"))

		By("unassigned in the spoke: deactivated in the hub, never deleted")
		Expect(oktaAPI.UnassignGroup(ctx, appID, groupID)).To(Succeed())
		Eventually(hubUser(login)).Should(HavePrefix("DEPROVISIONED"))

		By("the group taken off groupPush with removedGroups: Delete: its push and its hub group are gone")
		Eventually(func() error {
			cur := get(ctx, app)
			cur.Spec.Provisioning.GroupPush, cur.Spec.Provisioning.RemovedGroups = nil, "Delete"
			return k8s.Update(ctx, cur)
		}).Should(Succeed())
		Eventually(func() []ssov1.GroupPushStatus { return get(ctx, app).Status.Provisioning.GroupPush }, "30s").Should(BeEmpty())
		pushes, err := oktaAPI.ListGroupPushMappings(ctx, appID)
		Expect(err).NotTo(HaveOccurred())
		Expect(pushes).To(BeEmpty())
		_, err = hubAPI.FindGroupByName(ctx, groupName)
		Expect(okta.IsNotFound(err)).To(BeTrue(), "the hub group was deleted: %v", err)

		By("provisioning removed from the spec turns the connection off in Okta")
		Eventually(func() error {
			cur := get(ctx, app)
			cur.Spec.Provisioning = nil
			return k8s.Update(ctx, cur)
		}).Should(Succeed())
		Eventually(func() *ssov1.ProvisioningStatus { return get(ctx, app).Status.Provisioning }, "30s").Should(BeNil())
		conn, err := oktaAPI.ProvisioningConnection(ctx, appID)
		Expect(err).NotTo(HaveOccurred())
		Expect(conn.Status).To(Equal(okta.ConnectionDisabled))
		features, err := oktaAPI.ListAppFeatures(ctx, appID)
		Expect(err).To(HaveOccurred(), "no features while the connection is off: %v", features)
	})

	It("follows the hub's rotated credential, and says so when the hub refuses it, with the token nowhere", func() {
		hub, secret := hubOrg()
		app := org2org(hub)
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		before := get(ctx, app).Status.Provisioning.CredentialVersion

		rotate := func(token string) {
			Eventually(func() error {
				cur := &corev1.Secret{}
				Expect(k8s.Get(ctx, client.ObjectKeyFromObject(secret), cur)).To(Succeed())
				cur.Data = map[string][]byte{"token": []byte(token)}
				return k8s.Update(ctx, cur)
			}).Should(Succeed())
		}
		rotate("00NotTheHubsToken-revoked")
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.ProvisioningFailedReason))
		c := meta.FindStatusCondition(get(ctx, app).Status.Conditions, ssov1.ReadyCondition)
		Expect(c.Message).To(ContainSubstring("did not enable the provisioning connection to " + hubURL))
		Expect(c.Message).NotTo(ContainSubstring("00NotTheHubsToken"))

		rotate(hubToken)
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
		Expect(get(ctx, app).Status.Provisioning.CredentialVersion).NotTo(Equal(before))
		Expect(recorder.all()).NotTo(ContainSubstring(hubToken))
		Expect(logs.String()).NotTo(ContainSubstring(hubToken))
	})

	It("connects to a ClusterOktaOrg hub only when its tenant rule allows provisioning: PolicyDenied, no connection set up", func() {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: "hub-admin-" + rand.String(5)}, StringData: map[string]string{"token": hubToken}}
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		platformHub := &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: "hub-" + rand.String(5)},
			Spec: ssov1.ClusterOktaOrgSpec{OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(hubURL), MaxAPICapacityPercent: 100,
				Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret.Name), Key: "token"}}},
				Conditions: []ssov1.NamespaceCondition{{Namespaces: []string{watchedNS}}}}}
		Expect(k8s.Create(ctx, platformHub)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, platformHub))).To(Succeed()) })
		hub, _ := hubOrg()
		app := org2org(hub)
		app.Spec.Provisioning.Connection.OrgRef = &ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(platformHub.Name)}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.PolicyDeniedReason))
		Expect(meta.FindStatusCondition(get(ctx, app).Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring("allow provisioning"))
		conn, err := oktaAPI.ProvisioningConnection(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(conn.Status).To(Equal(okta.ConnectionDisabled), "the hub's token went nowhere")

		By("allowed by the rule, it connects")
		Eventually(func() error {
			cur := &ssov1.ClusterOktaOrg{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(platformHub), cur)).To(Succeed())
			cur.Spec.Tenants = []ssov1.TenantRule{{NamespaceCondition: ssov1.NamespaceCondition{Namespaces: []string{watchedNS}}, Provisioning: ssov1.Allowed,
				Groups: &ssov1.GroupRule{Deny: []string{"*admin*"}}}}
			return k8s.Update(ctx, cur)
		}).Should(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))

		By("pushing spoke users into a hub group the rule denies: PolicyDenied, no push made")
		spokeGroup, _ := newOktaGroup("contractors")
		Eventually(func() error {
			cur := get(ctx, app)
			cur.Spec.Provisioning.GroupPush = []ssov1.GroupPushRule{{Group: spokeGroup, HubGroup: "platform-admins"}}
			return k8s.Update(ctx, cur)
		}).Should(Succeed())
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.PolicyDeniedReason))
		Expect(meta.FindStatusCondition(get(ctx, app).Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring("hubGroup"))
		pushes, err := oktaAPI.ListGroupPushMappings(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(pushes).To(BeEmpty())
	})

	It("never hands an org object's credential to the spoke through tokenSecretRef: InvalidSpec, no connection", func() {
		hub, secret := hubOrg()
		app := org2org(hub)
		app.Spec.Provisioning.Connection = ssov1.ProvisioningConnection{TokenSecretRef: &ssov1.SecretKeySelector{Name: ssov1.ResourceName(secret.Name), Key: "token"}}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
		message := meta.FindStatusCondition(get(ctx, app).Status.Conditions, ssov1.ReadyCondition).Message
		Expect(message).To(ContainSubstring("holds the credential of OktaOrg " + hub.Name))
		Expect(message).NotTo(ContainSubstring(hubToken))
		conn, err := oktaAPI.ProvisioningConnection(ctx, get(ctx, app).Status.AppID)
		Expect(err).NotTo(HaveOccurred())
		Expect(conn.Status).To(Equal(okta.ConnectionDisabled), "the credential went nowhere")
	})

	It("refuses a connection to an org the app does not sign in to: InvalidSpec, nothing set up", func() {
		hub, _ := hubOrg()
		app := org2org(hub)
		app.Spec.AppSettings = &apiextensionsv1.JSON{Raw: []byte(`{"acsUrl":"https://elsewhere.example.com/sso/saml2/0oa1","audRestriction":"https://elsewhere.example.com","baseUrl":"https://elsewhere.example.com"}`)}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, app))).To(Succeed()) })
		Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal("False/" + ssov1.InvalidSpecReason))
		Expect(meta.FindStatusCondition(get(ctx, app).Status.Conditions, ssov1.ReadyCondition).Message).To(ContainSubstring("provision the org the app signs in to"))
	})
})

// createHubUser makes a user in the hub by hand, as its admin would, and
// returns its ID.
func createHubUser(hubURL, token, login string) string {
	req, err := http.NewRequest(http.MethodPost, hubURL+"/api/v1/users?activate=true", strings.NewReader(`{"profile":{"login":"`+login+`","email":"`+login+`","firstName":"Already","lastName":"There"}}`))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "SSWS "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var u struct {
		ID string `json:"id"`
	}
	Expect(json.NewDecoder(resp.Body).Decode(&u)).To(Succeed())
	Expect(u.ID).NotTo(BeEmpty())
	return u.ID
}
