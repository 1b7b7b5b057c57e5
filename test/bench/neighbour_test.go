package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	neighbourOrgs = 10
	neighbourApps = 100
)

// BenchmarkNoisyNeighbour applies 100 OktaSAMLApps to each of 10 orgs at
// once, in 10 s windows (BENCH_NEIGHBOUR_WINDOW), one org answering every
// request 500 ms late, and sets the time until each quiet org's apps are
// Ready against that org's own floor (its 100 creates and 100 metadata
// reads in Okta's apps bucket, at half its 100 a window: three windows'
// wait): one org's slowness should not hold up another's work (goal:
// within 1.1x). Figures are medians of readyTrials runs.
func BenchmarkNoisyNeighbour(b *testing.B) {
	for _, latency := range []time.Duration{0, 500 * time.Millisecond} {
		b.Run(fmt.Sprintf("slow=%s", latency), func(b *testing.B) {
			var slow, quiet []float64
			for range readyTrials(b) {
				took := noisyNeighbour(b, latency)
				slow = append(slow, took[0].Seconds())
				for _, t := range took[1:] {
					quiet = append(quiet, t.Seconds())
				}
			}
			floor := neighbourFloor(b).Seconds()
			var rows strings.Builder
			fmt.Fprintf(&rows, "\n| Org | Ready after | Own floor | Ratio |\n|---|---|---|---|\n")
			fmt.Fprintf(&rows, "| the first (+%s a request) | %.1f s | %.0f s | %.2f× |\n", latency, median(slow), floor, median(slow)/floor)
			fmt.Fprintf(&rows, "| the 9 others | %.1f s | %.0f s | %.2f× |\n", median(quiet), floor, median(quiet)/floor)
			b.Log(rows.String())
		})
	}
}

// neighbourFloor is the time one org's apps need at the rate limits: a
// create and a metadata read each in the apps bucket, the share of the
// first window at once, each further one a window later.
func neighbourFloor(b *testing.B) time.Duration {
	perWindow := emulator.DefaultRateLimits[okta.BucketApps] * okta.DefaultCapacityPercent / 100
	windows := (2*neighbourApps + perWindow - 1) / perWindow
	return time.Duration(windows-1) * neighbourWindow(b)
}

// neighbourWindow is the orgs' rate-limit window: readyWindow, or Okta's
// own minute with BENCH_NEIGHBOUR_WINDOW=1m (where the manager's CPU is no
// longer what bounds 1,000 apps on a small machine).
func neighbourWindow(b *testing.B) time.Duration {
	if v := os.Getenv("BENCH_NEIGHBOUR_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		must(b, err)
		return d
	}
	return readyWindow
}

// noisyNeighbour runs the orgs once, the first answering latency late (none
// at 0: the same work with no neighbour slow, to set apart what the slow
// one costs the others), and returns how long each org's apps took.
func noisyNeighbour(b *testing.B, latency time.Duration) []time.Duration {
	ctx := context.Background()
	k8s, kubeconfig, managerBin, stop := startTrial(b)
	defer stop()

	for i := range neighbourOrgs {
		cfg := emulator.Config{APIToken: benchToken, OrgName: fmt.Sprintf("org%d", i), KeyBits: 1024, RateLimitWindow: neighbourWindow(b)}
		if i == 0 {
			cfg.Faults = emulator.Faults{Latency: emulator.Duration(latency)}
		}
		org, err := emulator.Start(cfg)
		must(b, err)
		defer func() { _ = org.Close() }()
		ns := fmt.Sprintf("org-%d", i)
		must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
		must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-org"},
			StringData: map[string]string{"orgURL": org.BaseURL(), "apiToken": benchToken}}))
	}
	manager := startBenchManager(b, managerBin, kubeconfig)
	defer stopBenchManager(manager)
	time.Sleep(3 * time.Second)

	start := time.Now()
	for i := range neighbourOrgs {
		createAppsIn(ctx, b, k8s, fmt.Sprintf("org-%d", i), neighbourApps)
	}
	took := make([]time.Duration, neighbourOrgs)
	var wg sync.WaitGroup
	for i := range neighbourOrgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := fmt.Sprintf("org-%d", i)
			waitFor(b, 30*time.Minute, func() bool { return readyAppsIn(ctx, b, k8s, ns) == neighbourApps })
			took[i] = time.Since(start)
		}()
	}
	wg.Wait()
	return took
}
