// Package bench holds the profiles `make bench` runs: figures, not pass or
// fail. They start the built manager as a process against a real
// kube-apiserver and etcd, and the local Okta org, and report medians.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	benchToken     = "00BenchTokenForTheLocalOrg-4d1e"
	apps           = 100
	unrelated      = 10000
	unrelatedBytes = 4 << 10
	trials         = 3
)

// BenchmarkManagerMemory measures the manager's RSS and Go heap once idle
// with 100 OktaSAMLApps Ready, first alone, then with 10,000 unrelated 4 KiB
// Secrets in another namespace: Secrets are cached by metadata only, so the
// unrelated ones should add little. Each figure is the median of 3 manager
// starts.
func BenchmarkManagerMemory(b *testing.B) {
	ctx := context.Background()
	k8s, kubeconfig, managerBin := startBench(b)
	orgURL := startOrg(b)
	createApps(ctx, b, k8s, orgURL)

	alone := measure(ctx, b, k8s, managerBin, kubeconfig)
	createUnrelatedSecrets(ctx, b, k8s)
	crowded := measure(ctx, b, k8s, managerBin, kubeconfig)

	b.ReportMetric(alone.rss, "RSS-MiB-100apps")
	b.ReportMetric(alone.heap, "heap-MiB-100apps")
	b.ReportMetric(crowded.rss, "RSS-MiB-100apps+10kSecrets")
	b.ReportMetric(crowded.heap, "heap-MiB-100apps+10kSecrets")
	b.ReportMetric(crowded.rss-alone.rss, "RSS-MiB-added-by-10kSecrets")
}

type memory struct{ rss, heap float64 }

// measure starts the manager trials times, each time waiting until every
// app is Ready and the manager idle, and returns the medians.
func measure(ctx context.Context, b *testing.B, k8s client.Client, managerBin, kubeconfig string) memory {
	var rss, heap []float64
	for range trials {
		m := runIdleManager(ctx, b, k8s, managerBin, kubeconfig)
		rss, heap = append(rss, m.rss), append(heap, m.heap)
	}
	return memory{rss: median(rss), heap: median(heap)}
}

func runIdleManager(ctx context.Context, b *testing.B, k8s client.Client, managerBin, kubeconfig string) memory {
	metrics := freeAddr(b)
	cmd := exec.Command(managerBin, "--kubeconfig", kubeconfig, "--metrics-bind-address", metrics,
		"--health-probe-bind-address", freeAddr(b), "--log-level", "error", "--allow-loopback-targets")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for readyApps(ctx, b, k8s) < apps {
		select {
		case err := <-exited:
			exited <- err
			b.Fatalf("the manager exited (%v): %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d apps Ready after 5 minutes: %s", readyApps(ctx, b, k8s), apps, stderr.String())
		}
		time.Sleep(time.Second)
	}
	time.Sleep(10 * time.Second) // idle: the start-up reconciles are done
	rss := procStatusMiB(b, cmd.Process.Pid, "VmRSS")
	heap := metricMiB(b, "http://"+metrics+"/metrics", "go_memstats_heap_inuse_bytes")
	return memory{rss: rss, heap: heap}
}

// startBench starts a real API server with the CRDs and builds the manager;
// both are cleaned up when the benchmark ends.
func startBench(b *testing.B) (client.Client, string, string) {
	env, k8s, kubeconfig := startAPIServer(b)
	b.Cleanup(func() { _ = env.Stop() })
	managerBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/cmd/manager")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gexec.CleanupBuildArtifacts)
	return k8s, kubeconfig, managerBin
}

// startTrial starts a real API server and builds the manager for one run
// of a profile that repeats; stop ends both.
func startTrial(b *testing.B) (client.Client, string, string, func()) {
	env, k8s, kubeconfig := startAPIServer(b)
	managerBin, err := gexec.Build("github.com/oktaop/okta-sso-operator/cmd/manager")
	if err != nil {
		_ = env.Stop()
		b.Fatal(err)
	}
	return k8s, kubeconfig, managerBin, func() {
		gexec.CleanupBuildArtifacts()
		_ = env.Stop()
	}
}

func startAPIServer(b *testing.B) (*envtest.Environment, client.Client, string) {
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		b.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = ssov1.AddToScheme(scheme)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	data, err := admin.KubeConfig()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return env, k8s, path
}

func startOrg(b *testing.B) string {
	_, url := startSeededOrg(b, nil)
	return url
}

// startSeededOrg runs a local org with rate limits out of the way (the
// figures are the operator's own cost; the rate-limit floor is computed).
func startSeededOrg(b *testing.B, seed *emulator.Seed) (*emulator.Server, string) {
	org, err := emulator.Start(emulator.Config{APIToken: benchToken, OrgName: "bench", RateLimits: emulator.UnlimitedRateLimits(), KeyBits: 2048, Seed: seed})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = org.Close() })
	return org, org.BaseURL()
}

func createApps(ctx context.Context, b *testing.B, k8s client.Client, orgURL string) {
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sso"}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sso", Name: "okta-org"},
		StringData: map[string]string{"orgURL": orgURL, "apiToken": benchToken, "maxAPICapacityPercent": "100"}}))
	createAppsIn(ctx, b, k8s, "sso", apps)
}

// createAppsIn creates n OktaSAMLApps of the namespace's org Secret, as a
// GitOps sync would apply them: all at once.
func createAppsIn(ctx context.Context, b *testing.B, k8s client.Client, ns string, n int) {
	createAppsEvery(ctx, b, k8s, ns, n, 0)
}

// createAppsEvery is createAppsIn with a drift-check interval (0: the
// default).
func createAppsEvery(ctx context.Context, b *testing.B, k8s client.Client, ns string, n int, interval time.Duration) {
	createInParallel(ctx, b, k8s, n, func(i int) client.Object {
		name := fmt.Sprintf("app-%04d", i)
		return &ssov1.OktaSAMLApp{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: ssov1.OktaSAMLAppSpec{
				Interval: metav1.Duration{Duration: interval},
				OrgRef:   ssov1.OrgReference{SecretName: "okta-org"}, Label: "Bench " + ns + " " + name,
				ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://" + name + ".example.com/saml", ACSURL: ssov1.URL("https://" + name + ".example.com/saml/acs")},
			},
		}
	})
}

// createInParallel creates n objects, 8 at a time.
func createInParallel(ctx context.Context, b *testing.B, k8s client.Client, n int, object func(int) client.Object) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := k8s.Create(ctx, object(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// createUnrelatedSecrets fills another namespace with Secrets the operator
// never reads, 4 KiB each.
func createUnrelatedSecrets(ctx context.Context, b *testing.B, k8s client.Client) {
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}}))
	payload := []byte(strings.Repeat("x", unrelatedBytes))
	createInParallel(ctx, b, k8s, unrelated, func(i int) client.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "unrelated", Name: fmt.Sprintf("s-%05d", i)}, Data: map[string][]byte{"blob": payload}}
	})
}

func readyApps(ctx context.Context, b *testing.B, k8s client.Client) int {
	return readyAppsIn(ctx, b, k8s, "sso")
}

func readyAppsIn(ctx context.Context, b *testing.B, k8s client.Client, ns string) int {
	return readyIn(ctx, b, k8s, ns, &ssov1.OktaSAMLAppList{})
}

// readyIn counts the objects of a list kind in ns that are Ready.
func readyIn(ctx context.Context, b *testing.B, k8s client.Client, ns string, list client.ObjectList) int {
	must(b, k8s.List(ctx, list, client.InNamespace(ns)))
	items, err := meta.ExtractList(list)
	must(b, err)
	n := 0
	for _, item := range items {
		if obj, ok := item.(interface{ GetCommonStatus() *ssov1.CommonStatus }); ok &&
			meta.IsStatusConditionTrue(obj.GetCommonStatus().Conditions, ssov1.ReadyCondition) {
			n++
		}
	}
	return n
}

// procStatusMiB reads a memory field of /proc/<pid>/status (VmRSS, or
// VmHWM, the peak).
func procStatusMiB(b *testing.B, pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if fields := strings.Fields(scanner.Text()); len(fields) >= 2 && fields[0] == field+":" {
			kib, _ := strconv.ParseFloat(fields[1], 64)
			return kib / 1024
		}
	}
	b.Fatal("no " + field)
	return 0
}

// metricMiB reads one gauge, in bytes, from a Prometheus endpoint.
func metricMiB(b *testing.B, url, name string) float64 { return metricValue(b, url, name) / (1 << 20) }

// metricValue reads one unlabelled metric from a Prometheus endpoint.
func metricValue(b *testing.B, url, name string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		if fields := strings.Fields(scanner.Text()); len(fields) == 2 && fields[0] == name {
			v, _ := strconv.ParseFloat(fields[1], 64)
			return v
		}
	}
	b.Fatalf("no %s at %s", name, url)
	return 0
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func must(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}
