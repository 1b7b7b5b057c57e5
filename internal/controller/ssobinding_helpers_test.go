package controller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

func group(name string) ssov1.Subject { return ssov1.Subject{Kind: ssov1.SubjectKindGroup, Name: name} }
func user(login string) ssov1.Subject { return ssov1.Subject{Kind: ssov1.SubjectKindUser, Name: login} }

// newBinding binds subjects to an app in the watched namespace.
func newBinding(appName string, subjects ...ssov1.Subject) *ssov1.SSOBinding {
	return &ssov1.SSOBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: watchedNS, Name: "bind-" + rand.String(6)},
		Spec:       ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(appName)}, Subjects: subjects},
	}
}

func getBinding(ctx context.Context, b *ssov1.SSOBinding) *ssov1.SSOBinding {
	out := &ssov1.SSOBinding{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(b), out)).To(Succeed())
	return out
}

// bindingReady is the binding's Ready condition as "Status/Reason".
func bindingReady(ctx context.Context, b *ssov1.SSOBinding) func() string {
	return func() string {
		out := &ssov1.SSOBinding{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(b), out); err != nil {
			return err.Error()
		}
		return conditionState(out.Status.Conditions, ssov1.ReadyCondition)
	}
}

func bindingMessage(ctx context.Context, b *ssov1.SSOBinding) string {
	c := meta.FindStatusCondition(getBinding(ctx, b).Status.Conditions, ssov1.ReadyCondition)
	if c == nil {
		return ""
	}
	return c.Message
}

func updateBinding(ctx context.Context, b *ssov1.SSOBinding, change func(*ssov1.SSOBinding)) {
	Eventually(func() error {
		current := getBinding(ctx, b)
		change(current)
		return k8s.Update(ctx, current)
	}).Should(Succeed())
}

// readyApp is an OktaSAMLApp in the watched namespace, Ready, with its Okta ID.
func readyApp(ctx context.Context) (*ssov1.OktaSAMLApp, string) {
	ensureSecrets(ctx, watchedNS)
	app := newApp(watchedNS)
	app.Spec.SignOn.AttributeStatements = nil
	Expect(k8s.Create(ctx, app)).To(Succeed())
	Eventually(func() string { return readyReason(ctx, app) }, "30s").Should(Equal(ready))
	return app, get(ctx, app).Status.AppID
}

// oktaREST calls the local org's API as an administrator would by hand.
func oktaREST(method, path string, body any) map[string]any {
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(method, orgURL+path, bytes.NewReader(data))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "SSWS "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	Expect(resp.StatusCode).To(BeNumerically("<", 300), "%s %s", method, path)
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// newOktaGroup creates a group with a unique name and returns the name and ID.
func newOktaGroup(prefix string) (string, string) {
	name := prefix + "-" + rand.String(5)
	g := oktaREST(http.MethodPost, "/api/v1/groups", map[string]any{"profile": map[string]any{"name": name}})
	return name, g["id"].(string)
}

// newOktaUser creates a user in the given groups and returns the login and ID.
func newOktaUser(groups ...string) (string, string) {
	login := "user-" + rand.String(6) + "@example.com"
	u := oktaREST(http.MethodPost, "/emulator/users", emulator.SeedUser{Login: login, FirstName: "Test", LastName: "User", Password: userPassword, Groups: groups})
	return login, u["id"].(string)
}

// appGroupIDs and appUserScopes read the app's assignments in Okta.
func appGroupIDs(ctx context.Context, appID string) []string {
	groups, err := oktaAPI.ListAppGroups(ctx, appID)
	Expect(err).NotTo(HaveOccurred())
	ids := []string{}
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	return ids
}

func appUserScopes(ctx context.Context, appID string) map[string]string {
	users, err := oktaAPI.ListAppUsers(ctx, appID)
	Expect(err).NotTo(HaveOccurred())
	out := map[string]string{}
	for _, u := range users {
		out[u.ID] = u.Scope
	}
	return out
}

func jsonValue(v any) apiextensionsv1.JSON {
	raw, _ := json.Marshal(v)
	return apiextensionsv1.JSON{Raw: raw}
}

func metav1Duration(d time.Duration) metav1.Duration { return metav1.Duration{Duration: d} }
