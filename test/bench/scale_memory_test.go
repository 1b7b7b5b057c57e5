package bench

import (
	"bufio"
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	scaleApps  = 1000
	scaleSyncs = 50
)

// BenchmarkManagerMemoryAtScale measures the manager idle with 1,000
// OktaSAMLApps, 1,000 SSOBindings (one a app) and 50 AccountSyncs Ready,
// and 10,000 unrelated 4 KiB Secrets in another namespace: its RSS and Go
// heap in use, once every object is Ready and the start-up work is done
// (goal: under 150 MiB), and the CPU its reconciles took per app.
func BenchmarkManagerMemoryAtScale(b *testing.B) {
	ctx := context.Background()
	k8s, kubeconfig, managerBin := startBench(b)
	org, orgURL := startSeededOrg(b, &emulator.Seed{
		Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users:  []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Groups: []string{"Engineering"}}},
	})
	target, err := scimtest.New(scimtest.Options{Token: "bench-scim"})
	must(b, err)
	defer target.Close()
	const ns = "scale"
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-org"},
		StringData: map[string]string{"orgURL": orgURL, "apiToken": benchToken, "maxAPICapacityPercent": "100", "maxOrgDeactivationPercent": "100"}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scim"}, StringData: map[string]string{"token": "bench-scim"}}))
	createUnrelatedSecrets(ctx, b, k8s)

	metrics := freeAddr(b)
	manager := exec.Command(managerBin, "--kubeconfig", kubeconfig, "--metrics-bind-address", metrics,
		"--health-probe-bind-address", freeAddr(b), "--log-level", "error", "--allow-loopback-targets")
	must(b, manager.Start())
	defer func() { _ = manager.Process.Signal(syscall.SIGTERM); _ = manager.Wait() }()

	start := time.Now()
	// Drift checks every minute (the shortest interval) so that the idle
	// minutes below see them; at the default 10 minutes the rate is a tenth.
	createAppsEvery(ctx, b, k8s, ns, scaleApps, time.Minute)
	createEngineeringBindings(ctx, b, k8s, ns, scaleApps, time.Minute)
	createSyncs(ctx, b, k8s, ns, scaleSyncs, target.URL())
	waitFor(b, 20*time.Minute, func() bool { return allReady(ctx, b, k8s, ns) })
	converged := time.Since(start)
	time.Sleep(75 * time.Second) // idle: the start-up reconciles are done, the first drift checks under way

	rss := procStatusMiB(b, manager.Process.Pid, "VmRSS")
	peak := procStatusMiB(b, manager.Process.Pid, "VmHWM")
	heap := metricMiB(b, "http://"+metrics+"/metrics", "go_memstats_heap_inuse_bytes")
	cpu := metricValue(b, "http://"+metrics+"/metrics", "process_cpu_seconds_total")
	org.ResetStats()
	idle := idleRates(b, "http://"+metrics+"/metrics", 2*time.Minute)
	oktaCalls := float64(org.Stats().Total) / idle.over.Seconds()
	b.Logf("\n| Idle, per second over %s | OktaSAMLApp | SSOBinding | AccountSync | Okta calls | Manager CPU |\n|---|---|---|---|---|---|\n"+
		"| work-queue adds, checks every minute | %.2f | %.2f | %.2f | %.2f | %.1f%% of a core |", idle.over, idle.adds["oktasamlapp"], idle.adds["ssobinding"], idle.adds["accountsync"],
		oktaCalls, 100*idle.cpu)
	b.Logf("\n| Objects | Ready after | RSS idle | Peak RSS | Go heap idle | Manager CPU | CPU per app |\n|---|---|---|---|---|---|---|\n"+
		"| %d apps, %d bindings, %d syncs; 10,000 unrelated Secrets | %.0f s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f s | %.1f ms |",
		scaleApps, scaleApps, scaleSyncs, converged.Seconds(), rss, peak, heap, cpu, 1000*cpu/scaleApps)
}

type idleRate struct {
	over time.Duration
	adds map[string]float64 // per controller
	cpu  float64            // cores
}

// idleRates measures, over a span with nothing changing, how often each
// controller's work queue takes an item (its periodic drift checks) and the
// manager's CPU.
func idleRates(b *testing.B, url string, over time.Duration) idleRate {
	adds0, cpu0 := labelled(b, url, "workqueue_adds_total", "name"), metricValue(b, url, "process_cpu_seconds_total")
	time.Sleep(over)
	adds1, cpu1 := labelled(b, url, "workqueue_adds_total", "name"), metricValue(b, url, "process_cpu_seconds_total")
	r := idleRate{over: over, adds: map[string]float64{}, cpu: (cpu1 - cpu0) / over.Seconds()}
	for name, v := range adds1 {
		r.adds[name] = (v - adds0[name]) / over.Seconds()
	}
	return r
}

// labelled reads a metric's values by one label.
func labelled(b *testing.B, url, name, label string) map[string]float64 {
	resp, err := http.Get(url)
	must(b, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	re := regexp.MustCompile(`^` + name + `\{.*` + label + `="([^"]+)".*\} (\S+)$`)
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		if m := re.FindStringSubmatch(scanner.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] += v
		}
	}
	return out
}

// allReady tells whether every app, binding and sync of the namespace is
// Ready (a sync: Synced).
func allReady(ctx context.Context, b *testing.B, k8s client.Client, ns string) bool {
	if readyAppsIn(ctx, b, k8s, ns) < scaleApps {
		return false
	}
	var bindings ssov1.SSOBindingList
	must(b, k8s.List(ctx, &bindings, client.InNamespace(ns)))
	for _, x := range bindings.Items {
		if !meta.IsStatusConditionTrue(x.Status.Conditions, ssov1.ReadyCondition) {
			return false
		}
	}
	var syncs ssov1.AccountSyncList
	must(b, k8s.List(ctx, &syncs, client.InNamespace(ns)))
	for _, x := range syncs.Items {
		if x.Status.LastSuccessfulSyncTime == nil {
			return false
		}
	}
	return len(bindings.Items) == scaleApps && len(syncs.Items) == scaleSyncs
}
