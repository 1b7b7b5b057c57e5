package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	provisionedApps = 10
	provisionIdle   = 3 * time.Minute
)

// BenchmarkProvisioning measures an Org2Org app's provisioning into a hub
// with the built manager and two local orgs: the time from applying ten
// apps with spec.provisioning to every spoke user in the hub, the time
// from a user added to the assigned group in the spoke to that user in the
// hub, and the Okta calls the operator makes in the spoke for the ten
// idle apps over three minutes with a one-minute interval (the System Log
// not followed, so each app is read every interval), against ten apps
// without provisioning (goal: no more, plus one read of the connection per
// interval).
func BenchmarkProvisioning(b *testing.B) {
	plain := idleOrg2OrgCalls(b, false)
	provisioned := idleOrg2OrgCalls(b, true)
	b.Logf("\n| Ten idle Org2Org apps, 3 minutes, 1m interval | Spoke calls | Per app per interval |\n|---|---|---|\n| without provisioning | %d | %.1f |\n| with provisioning | %d | %.1f |",
		plain.calls, perInterval(plain.calls), provisioned.calls, perInterval(provisioned.calls))
	b.Logf("\n| Provisioning | Time |\n|---|---|\n| ten apps applied → every spoke user in the hub | %.1f s |\n| a user added to the spoke group → in the hub | %.2f s |",
		provisioned.setup.Seconds(), provisioned.oneUser.Seconds())
	b.ReportMetric(perInterval(provisioned.calls)-perInterval(plain.calls), "extra-calls/app/interval")
}

func perInterval(calls int) float64 {
	return float64(calls) / provisionedApps / provisionIdle.Minutes()
}

type provisioningRun struct {
	calls          int
	setup, oneUser time.Duration
}

func idleOrg2OrgCalls(b *testing.B, provision bool) provisioningRun {
	ctx := context.Background()
	k8s, kubeconfig, managerBin, stop := startTrial(b)
	defer stop()
	_, hubURL := startSeededOrg(b, &emulator.Seed{})
	var users []emulator.SeedUser
	for i := range 20 {
		users = append(users, emulator.SeedUser{Login: fmt.Sprintf("p%02d@example.com", i), FirstName: "P", LastName: fmt.Sprint(i), Groups: []string{"Engineering"}})
	}
	spoke, spokeURL := startSeededOrg(b, &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}}, Users: users})
	ns := "provisioning"
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-org"},
		StringData: map[string]string{"orgURL": spokeURL, "apiToken": benchToken, "maxAPICapacityPercent": "100", "systemLogPollInterval": "0"}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hub-token"}, StringData: map[string]string{"token": benchToken}}))
	manager := startBenchManager(b, managerBin, kubeconfig)
	defer stopBenchManager(manager)

	start := time.Now()
	createInParallel(ctx, b, k8s, provisionedApps, func(i int) client.Object {
		settings := `{"acsUrl":"` + hubURL + `/sso/saml2/0oa` + fmt.Sprint(i) + `","audRestriction":"` + hubURL + `","baseUrl":"` + hubURL + `"}`
		app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("hub-%02d", i)}, Spec: ssov1.OktaSAMLAppSpec{
			OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: fmt.Sprintf("Hub %02d", i), Preconfigured: "okta_org2org",
			AppSettings: &apiextensionsv1.JSON{Raw: []byte(settings)}, Interval: metav1.Duration{Duration: time.Minute}}}
		if provision {
			app.Spec.Provisioning = &ssov1.AppProvisioning{Connection: ssov1.ProvisioningConnection{TokenSecretRef: &ssov1.SecretKeySelector{Name: "hub-token", Key: "token"}}}
		}
		return app
	})
	waitFor(b, 5*time.Minute, func() bool { return readyIn(ctx, b, k8s, ns, &ssov1.OktaSAMLAppList{}) == provisionedApps })
	spokeAPI, err := okta.New(okta.Config{OrgURL: spokeURL, APIToken: benchToken, MaxAPICapacityPercent: 100})
	must(b, err)
	hubAPI, err := okta.New(okta.Config{OrgURL: hubURL, APIToken: benchToken, MaxAPICapacityPercent: 100})
	must(b, err)
	eng, err := spokeAPI.FindGroupByName(ctx, "Engineering")
	must(b, err)
	var list ssov1.OktaSAMLAppList
	must(b, k8s.List(ctx, &list, client.InNamespace(ns)))
	for _, app := range list.Items {
		_, err := spokeAPI.AssignGroup(ctx, app.Status.AppID, eng.ID, okta.AppGroupAssignment{})
		must(b, err)
	}
	run := provisioningRun{}
	if provision {
		waitFor(b, time.Minute, func() bool { _, err := hubAPI.FindUserByLogin(ctx, "p19@example.com"); return err == nil })
		run.setup = time.Since(start)
		added := time.Now()
		seedSpokeUser(b, spokeURL, "late@example.com")
		waitFor(b, time.Minute, func() bool { _, err := hubAPI.FindUserByLogin(ctx, "late@example.com"); return err == nil })
		run.oneUser = time.Since(added)
	}
	time.Sleep(10 * time.Second) // the start-up's follow-up checks are over
	spoke.ResetStats()
	time.Sleep(provisionIdle)
	run.calls = spoke.Stats().Total
	return run
}

// seedSpokeUser adds a user to the spoke's Engineering, as an admin would.
func seedSpokeUser(b *testing.B, spokeURL, login string) {
	if err := oktaPostJSON(spokeURL, "/emulator/users", fmt.Sprintf(`{"login":%q,"firstName":"Late","lastName":"Joiner","groups":["Engineering"]}`, login)); err != nil {
		b.Fatal(err)
	}
}
