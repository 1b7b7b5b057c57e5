package bench

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
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
	_, orgURL := startSeededOrg(b, &emulator.Seed{
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
		"--health-probe-bind-address", freeAddr(b), "--log-level", "error")
	must(b, manager.Start())
	defer func() { _ = manager.Process.Signal(syscall.SIGTERM); _ = manager.Wait() }()

	start := time.Now()
	createAppsIn(ctx, b, k8s, ns, scaleApps)
	createInParallel(ctx, b, k8s, scaleApps, func(i int) client.Object {
		return &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%04d", i)},
			Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(fmt.Sprintf("app-%04d", i))},
				Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}}}
	})
	createInParallel(ctx, b, k8s, scaleSyncs, func(i int) client.Object {
		return &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%04d", i)}, Spec: ssov1.AccountSyncSpec{
			AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(fmt.Sprintf("app-%04d", i))}, Mode: ssov1.SyncModeProvision,
			Target:    ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(target.URL()), AuthSecretRef: ssov1.SecretKeySelector{Name: "scim", Key: "token"}}},
			Safeguard: ssov1.Safeguard{MaxDeactivationPercent: ptr.To[int32](100)},
		}}
	})
	waitFor(b, 20*time.Minute, func() bool { return allReady(ctx, b, k8s, ns) })
	converged := time.Since(start)
	time.Sleep(15 * time.Second) // idle: the start-up reconciles are done

	rss := procStatusMiB(b, manager.Process.Pid, "VmRSS")
	peak := procStatusMiB(b, manager.Process.Pid, "VmHWM")
	heap := metricMiB(b, "http://"+metrics+"/metrics", "go_memstats_heap_inuse_bytes")
	cpu := metricValue(b, "http://"+metrics+"/metrics", "process_cpu_seconds_total")
	b.Logf("\n| Objects | Ready after | RSS idle | Peak RSS | Go heap idle | Manager CPU | CPU per app |\n|---|---|---|---|---|---|---|\n"+
		"| %d apps, %d bindings, %d syncs; 10,000 unrelated Secrets | %.0f s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f s | %.1f ms |",
		scaleApps, scaleApps, scaleSyncs, converged.Seconds(), rss, peak, heap, cpu, 1000*cpu/scaleApps)
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
