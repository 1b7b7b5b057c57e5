package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	neighbourOrgs = 10
	neighbourApps = 100
)

// BenchmarkNoisyNeighbour applies 100 OktaSAMLApps to each of 10 orgs at
// once, in 10 s windows, one org answering every request 500 ms late, and
// sets the time until each quiet org's apps are Ready against that org's
// own floor (its 100 creates at 50 a window: 10 s): one org's slowness
// should not hold up another's work (goal: within 1.1x).
func BenchmarkNoisyNeighbour(b *testing.B) {
	for _, latency := range []time.Duration{0, 500 * time.Millisecond} {
		b.Run(fmt.Sprintf("slow=%s", latency), func(b *testing.B) { noisyNeighbour(b, latency) })
	}
}

// noisyNeighbour runs the orgs once, the first answering latency late (none
// at 0: the same work with no neighbour slow, to set apart what the slow
// one costs the others).
func noisyNeighbour(b *testing.B, latency time.Duration) {
	ctx := context.Background()
	env, k8s, kubeconfig := startAPIServer(b)
	defer func() { _ = env.Stop() }()
	managerBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/cmd/manager")
	must(b, err)
	defer gexec.CleanupBuildArtifacts()

	for i := range neighbourOrgs {
		cfg := emulator.Config{APIToken: benchToken, OrgName: fmt.Sprintf("org%d", i), KeyBits: 1024, RateLimitWindow: readyWindow}
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
	floor := 10 * time.Second
	var quiet []float64
	for _, t := range took[1:] {
		quiet = append(quiet, t.Seconds())
	}
	var rows strings.Builder
	fmt.Fprintf(&rows, "\n| Org | Ready after | Own floor | Ratio |\n|---|---|---|---|\n")
	fmt.Fprintf(&rows, "| the first (+%s a request) | %.1f s | %.0f s | %.2f× |\n", latency, took[0].Seconds(), floor.Seconds(), took[0].Seconds()/floor.Seconds())
	fmt.Fprintf(&rows, "| the 9 others, median | %.1f s | %.0f s | %.2f× |\n", median(quiet), floor.Seconds(), median(quiet)/floor.Seconds())
	b.Log(rows.String())
}
