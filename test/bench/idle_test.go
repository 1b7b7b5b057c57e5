package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// BenchmarkIdleOrg counts what an idle org costs per bucket: N apps
// (BENCH_IDLE_APPS, default 1,000), each with a binding, all Ready, at the
// default settings (10-minute intervals, the default 50% share, Okta's
// Workforce limits), watched for BENCH_IDLE_FOR (default 10 minutes, one
// whole interval), once with the System Log followed (the default, a poll
// a minute) and once with following off, when every object is read every
// interval.
func BenchmarkIdleOrg(b *testing.B) {
	n, over := 1000, 10*time.Minute
	if v, err := strconv.Atoi(os.Getenv("BENCH_IDLE_APPS")); err == nil && v > 0 {
		n = v
	}
	if v, err := time.ParseDuration(os.Getenv("BENCH_IDLE_FOR")); err == nil && v > 0 {
		over = v
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| %d apps and bindings, idle %s | `/api/v1/apps` a minute | `/api/v1/apps/{id}` a minute | `/api/v1/logs` a minute | all calls a minute | 429s |\n|---|---|---|---|---|---|\n", n, over)
	for _, mode := range []struct{ name, poll string }{{"System Log followed (default)", "1m"}, {"following off", "0s"}} {
		st := idleOrg(b, n, over, mode.poll)
		perMinute := func(calls int) float64 { return float64(calls) / over.Minutes() }
		fmt.Fprintf(&table, "| %s | %.1f | %.1f | %.1f | %.1f | %d |\n", mode.name,
			perMinute(st.Buckets[okta.BucketApps]), perMinute(st.Buckets[okta.BucketApp]), perMinute(st.Buckets[okta.BucketLogs]), perMinute(st.Total), st.Statuses["429"])
	}
	b.Log(table.String())
}

// idleOrg brings n apps and bindings to Ready with the rate limits out of
// the way, puts Okta's limits back, and returns the org's counts over the
// idle period.
func idleOrg(b *testing.B, n int, over time.Duration, poll string) emulator.Stats {
	ctx := context.Background()
	k8s, kubeconfig, managerBin, stop := startTrial(b)
	defer stop()
	org, orgURL := startSeededOrg(b, &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Groups: []string{"Engineering"}}}})
	const ns = "idle"
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-org"},
		StringData: map[string]string{"orgURL": orgURL, "apiToken": benchToken, "systemLogPollInterval": poll}}))
	createAppsIn(ctx, b, k8s, ns, n)
	createEngineeringBindings(ctx, b, k8s, ns, n, 0)
	manager := startBenchManager(b, managerBin, kubeconfig)
	defer stopBenchManager(manager)
	waitFor(b, 30*time.Minute, func() bool {
		return readyAppsIn(ctx, b, k8s, ns) == n && readyIn(ctx, b, k8s, ns, &ssov1.SSOBindingList{}) == n
	})
	for quiet := 0; quiet < 3; { // the reconciles the creates set off are over
		before := org.Stats().Total
		time.Sleep(2 * time.Second)
		if org.Stats().Total == before {
			quiet++
		} else {
			quiet = 0
		}
	}
	org.SetRateLimits(emulator.DefaultRateLimits)
	org.ResetStats()
	time.Sleep(over)
	return org.Stats()
}
