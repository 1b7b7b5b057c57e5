package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// readyWindow is the emulator's rate-limit window here: Okta's limits per
// window, in windows short enough that 1,000 apps go through many of them
// (a sixth of Okta's minute).
const readyWindow = 10 * time.Second

// BenchmarkTimeToReady applies N OktaSAMLApps at once (BENCH_READY_APPS,
// default 100,1000) to the built manager against a local org with Okta's
// per-bucket limits in 5 s windows, and sets the time until the last is
// Ready against the floor those limits allow: for each bucket, the calls it
// took over what the operator's share (maxAPICapacityPercent, default 50)
// lets through per window; the floor is the slowest bucket. It also counts
// the 429s the org answered (goal: none). Each figure is the median of
// readyTrials runs (BENCH_READY_TRIALS, default 5).
func BenchmarkTimeToReady(b *testing.B) {
	sizes := []int{100, 1000}
	if v := os.Getenv("BENCH_READY_APPS"); v != "" {
		sizes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(s)
			must(b, err)
			sizes = append(sizes, n)
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| Apps | Ready after | Floor | Ratio | Okta calls | 429s | Most in flight | Slowest bucket |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range sizes {
		var runs []readyResult
		for range readyTrials(b) {
			runs = append(runs, readyRun(b, n))
		}
		r := medianRun(runs)
		fmt.Fprintf(&table, "| %d | %.1f s | %.1f s | %.2f× | %d | %d | %d | `%s`: %d calls at %d per window |\n",
			n, r.took.Seconds(), r.floor.Seconds(), r.took.Seconds()/r.floor.Seconds(), r.calls, r.throttled, r.inFlight, r.bucket, r.bucketCalls, r.perWindow)
	}
	b.Log(table.String())
}

// readyTrials is how many runs each time-to-Ready figure is the median of.
func readyTrials(b *testing.B) int {
	if v := os.Getenv("BENCH_READY_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		must(b, err)
		return n
	}
	return 5
}

// medianRun is the run whose time to Ready is the median.
func medianRun(runs []readyResult) readyResult {
	sort.Slice(runs, func(i, j int) bool { return runs[i].took < runs[j].took })
	return runs[len(runs)/2]
}

type readyResult struct {
	took, floor            time.Duration
	calls, throttled       int
	inFlight               int
	bucket                 string
	bucketCalls, perWindow int
}

func readyRun(b *testing.B, n int) readyResult {
	ctx := context.Background()
	k8s, kubeconfig, managerBin, stop := startTrial(b)
	defer stop()
	org, err := emulator.Start(emulator.Config{APIToken: benchToken, OrgName: "bench", KeyBits: 1024, RateLimitWindow: readyWindow})
	must(b, err)
	defer func() { _ = org.Close() }()

	ns := fmt.Sprintf("ready-%d", n)
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-org"},
		StringData: map[string]string{"orgURL": org.BaseURL(), "apiToken": benchToken}})) // the default 50% share
	manager := startBenchManager(b, managerBin, kubeconfig)
	defer stopBenchManager(manager)
	time.Sleep(3 * time.Second) // the manager's caches synced

	org.ResetStats()
	start := time.Now()
	createAppsIn(ctx, b, k8s, ns, n)
	waitFor(b, 30*time.Minute, func() bool { return readyAppsIn(ctx, b, k8s, ns) == n })
	took := time.Since(start)
	stats := org.Stats()

	r := readyResult{took: took, calls: stats.Total, throttled: stats.Statuses["429"], inFlight: stats.MaxInFlight}
	byBucket := stats.Buckets
	buckets := make([]string, 0, len(byBucket))
	for bucket := range byBucket {
		buckets = append(buckets, bucket)
	}
	sort.Strings(buckets)
	for _, bucket := range buckets {
		perWindow := emulator.DefaultRateLimits[bucket] * 50 / 100
		if perWindow == 0 {
			perWindow = emulator.DefaultRateLimits[okta.BucketOther] * 50 / 100
		}
		// The first window's share is there at once; each further one
		// after a window's wait.
		floor := time.Duration(math.Ceil(float64(byBucket[bucket])/float64(perWindow))-1) * readyWindow
		if floor > r.floor {
			r.floor, r.bucket, r.bucketCalls, r.perWindow = floor, bucket, byBucket[bucket], perWindow
		}
	}
	if r.floor == 0 {
		r.floor = time.Second // everything fitted in one window
	}
	return r
}
