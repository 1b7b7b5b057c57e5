package bench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// The noisy team: two namespaces share one ClusterOktaOrg. Team A keeps
// noisyApps apps whose drift checks (following off, a read of each app
// every minute) are more than the org's /api/v1/apps/{id} bucket lets the
// operator send, or applies them all at once; team B applies one app. The
// figure is B's time to Ready against B's time alone (goal: at most 2x
// plus one rate-limit window).
const (
	noisyNamespace = "team-a"
	quietNamespace = "team-b"
	noisyOrgName   = "company"
	// noisyAppLimit is the org's /api/v1/apps/{id} bucket a window: half of
	// it is the operator's share, 100 a window, against 1,000 drift checks a
	// minute (167 a window).
	noisyAppLimit = 200
)

// BenchmarkNoisyTeam measures team B's time to Ready while team A's 1,000
// apps (BENCH_NOISY_APPS) saturate the app bucket with drift checks, and
// while A applies 1,000 apps at once, against B alone; medians of
// readyTrials runs.
func BenchmarkNoisyTeam(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("BENCH_NOISY_APPS")); err == nil && v > 0 {
		n = v
	}
	var alone, saturated, burst []float64
	for range readyTrials(b) {
		a, s := noisyDriftTrial(b, n)
		alone, saturated = append(alone, a.Seconds()), append(saturated, s.Seconds())
		burst = append(burst, noisyBurstTrial(b, n).Seconds())
	}
	window := readyWindow.Seconds()
	base := median(alone)
	var rows strings.Builder
	fmt.Fprintf(&rows, "\n| Team B's one app, while team A ... | Ready after | B alone | Ratio | Bound (2× alone + one %.0f s window) |\n|---|---|---|---|---|\n", window)
	for _, row := range []struct {
		what string
		took float64
	}{{fmt.Sprintf("keeps %d apps whose drift checks saturate `/api/v1/apps/{id}`", n), median(saturated)}, {fmt.Sprintf("applies %d apps at once", n), median(burst)}} {
		fmt.Fprintf(&rows, "| %s | %.1f s | %.1f s | %.1f× | %.1f s |\n", row.what, row.took, base, row.took/base, 2*base+window)
	}
	b.Log(rows.String())
}

// noisyOrg starts the shared org with Okta's limits (the app bucket
// noisyAppLimit) in readyWindow windows, its ClusterOktaOrg with a rule of
// weight 1 for each team, and the two namespaces.
func noisyOrg(ctx context.Context, b *testing.B, k8s client.Client, limits map[string]int) *emulator.Server {
	org, err := emulator.Start(emulator.Config{APIToken: benchToken, OrgName: "company", KeyBits: 1024, RateLimitWindow: readyWindow, RateLimits: limits})
	must(b, err)
	b.Cleanup(func() { _ = org.Close() })
	for _, ns := range []string{noisyNamespace, quietNamespace, "okta-system"} {
		must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "okta-system", Name: "okta-admin"}, StringData: map[string]string{"token": benchToken}}))
	must(b, k8s.Create(ctx, &ssov1.ClusterOktaOrg{ObjectMeta: metav1.ObjectMeta{Name: noisyOrgName}, Spec: ssov1.ClusterOktaOrgSpec{
		OktaOrgSpec: ssov1.OktaOrgSpec{URL: ssov1.URL(org.BaseURL()), SystemLogPollInterval: &metav1.Duration{},
			Credentials: ssov1.OrgCredentials{APIToken: &ssov1.SecretKeySelector{Name: "okta-admin", Key: "token"}}},
		Tenants: []ssov1.TenantRule{
			{NamespaceCondition: ssov1.NamespaceCondition{Namespaces: []string{noisyNamespace}}, Weight: 1},
			{NamespaceCondition: ssov1.NamespaceCondition{Namespaces: []string{quietNamespace}}, Weight: 1},
		},
	}}))
	return org
}

// teamApps creates n apps in ns in the shared org, checked every interval
// (0: the default), named prefix-NNNN.
func teamApps(ctx context.Context, b *testing.B, k8s client.Client, ns, prefix string, n int, interval time.Duration) {
	createInParallel(ctx, b, k8s, n, func(i int) client.Object {
		name := fmt.Sprintf("%s-%04d", prefix, i)
		return &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: ssov1.OktaSAMLAppSpec{
			Interval: metav1.Duration{Duration: interval},
			OrgRef:   ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: noisyOrgName}, Label: ns + " · " + name,
			ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://" + name + "." + ns + ".example.com/saml", ACSURL: ssov1.URL("https://" + name + "." + ns + ".example.com/saml/acs")},
		}}
	})
}

// timeToReady applies one app of team B and waits for it.
func timeToReady(ctx context.Context, b *testing.B, k8s client.Client, name string) time.Duration {
	start := time.Now()
	teamApps(ctx, b, k8s, quietNamespace, name, 1, 0)
	waitFor(b, 10*time.Minute, func() bool {
		app := &ssov1.OktaSAMLApp{}
		return k8s.Get(ctx, client.ObjectKey{Namespace: quietNamespace, Name: name + "-0000"}, app) == nil &&
			readyIn(ctx, b, k8s, quietNamespace, &ssov1.OktaSAMLAppList{}) >= countIn(ctx, b, k8s, quietNamespace)
	})
	return time.Since(start)
}

func countIn(ctx context.Context, b *testing.B, k8s client.Client, ns string) int {
	var list ssov1.OktaSAMLAppList
	must(b, k8s.List(ctx, &list, client.InNamespace(ns)))
	return len(list.Items)
}

// noisyDriftTrial: B's app alone, then A's n apps Ready (limits out of the
// way), the org's limits back with a small app bucket and a minute's
// drift checks of A's apps saturating it, then B's next app.
func noisyDriftTrial(b *testing.B, n int) (alone, saturated time.Duration) {
	ctx := context.Background()
	k8s, kubeconfig, managerBin, stop := startTrial(b)
	defer stop()
	org := noisyOrg(ctx, b, k8s, emulator.UnlimitedRateLimits())
	manager := startBenchManager(b, managerBin, kubeconfig, "--cluster-resource-namespace", "okta-system")
	defer stopBenchManager(manager)
	alone = timeToReady(ctx, b, k8s, "alone")

	teamApps(ctx, b, k8s, noisyNamespace, "drift", n, time.Minute)
	waitFor(b, 30*time.Minute, func() bool { return readyAppsIn(ctx, b, k8s, noisyNamespace) == n })
	limits := maps.Clone(emulator.DefaultRateLimits)
	limits[okta.BucketApp] = noisyAppLimit
	org.SetRateLimits(limits)
	time.Sleep(time.Minute) // a whole interval of drift checks: the bucket is full every window
	org.ResetStats()
	time.Sleep(readyWindow)
	b.Logf("requests to %s in one window: %d of %d (the operator's share: half)", okta.BucketApp, org.Stats().Buckets[okta.BucketApp], noisyAppLimit)
	saturated = timeToReady(ctx, b, k8s, "noisy")
	return alone, saturated
}

// noisyBurstTrial: A applies n apps at once with Okta's limits; two
// seconds later B applies one.
func noisyBurstTrial(b *testing.B, n int) time.Duration {
	ctx := context.Background()
	k8s, kubeconfig, managerBin, stop := startTrial(b)
	defer stop()
	noisyOrg(ctx, b, k8s, emulator.DefaultRateLimits)
	manager := startBenchManager(b, managerBin, kubeconfig, "--cluster-resource-namespace", "okta-system")
	defer stopBenchManager(manager)
	time.Sleep(3 * time.Second)
	teamApps(ctx, b, k8s, noisyNamespace, "burst", n, 0)
	time.Sleep(2 * time.Second)
	return timeToReady(ctx, b, k8s, "during-burst")
}
