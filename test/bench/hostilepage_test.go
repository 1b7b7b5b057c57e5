package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	hostilePageBytes = 64 << 20
	hostileRuns      = 5
)

// BenchmarkHostilePage measures what a SCIM target that answers every
// request with a 64 MiB page costs the manager: its peak RSS (VmHWM) and Go
// heap once idle with the sync suspended, then after five runs against the
// target (each refused as InvalidResponse after 8 MiB). Medians of 3
// manager starts.
func BenchmarkHostilePage(b *testing.B) {
	ctx := context.Background()
	k8s, kubeconfig, managerBin := startBench(b)
	_, orgURL := startSeededOrg(b, &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{{Login: "h@example.com", FirstName: "H", LastName: "Page", Groups: []string{"Engineering"}}}})
	hostile := httptest.NewServer(http.HandlerFunc(servePageOf(hostilePageBytes)))
	defer hostile.Close()
	createFollowedSyncs(ctx, b, k8s, "hostile", orgURL, hostile.URL+"/scim/v2", 1, "0")
	sync := &ssov1.AccountSync{}
	must(b, k8s.Get(ctx, client.ObjectKey{Namespace: "hostile", Name: "app-0000"}, sync))

	var idlePeak, idleHeap, hostilePeak, hostileHeap []float64
	for trial := range trials {
		setSuspended(ctx, b, k8s, sync, true)
		metrics := freeAddr(b)
		manager := exec.Command(managerBin, "--kubeconfig", kubeconfig, "--metrics-bind-address", metrics,
			"--health-probe-bind-address", freeAddr(b), "--log-level", "error", "--allow-loopback-targets")
		must(b, manager.Start())
		waitFor(b, 2*time.Minute, func() bool { return syncReason(ctx, b, k8s, sync) == ssov1.SuspendedReason })
		time.Sleep(10 * time.Second) // idle
		idlePeak = append(idlePeak, procStatusMiB(b, manager.Process.Pid, "VmHWM"))
		idleHeap = append(idleHeap, metricMiB(b, "http://"+metrics+"/metrics", "go_memstats_heap_inuse_bytes"))

		setSuspended(ctx, b, k8s, sync, false)
		for run := range hostileRuns {
			value := fmt.Sprintf("hostile-%d-%d", trial, run)
			must(b, patchAnnotation(ctx, k8s, sync, ssov1.ReconcileRequestAnnotation, value))
			waitFor(b, 2*time.Minute, func() bool { return handled(ctx, b, k8s, sync) == value })
		}
		if reason := syncReason(ctx, b, k8s, sync); reason != ssov1.InvalidResponseReason {
			b.Fatalf("the runs against the 64 MiB page ended %q, not InvalidResponse", reason)
		}
		hostilePeak = append(hostilePeak, procStatusMiB(b, manager.Process.Pid, "VmHWM"))
		hostileHeap = append(hostileHeap, metricMiB(b, "http://"+metrics+"/metrics", "go_memstats_heap_inuse_bytes"))
		_ = manager.Process.Signal(syscall.SIGTERM)
		_ = manager.Wait()
	}
	b.Logf("\n| | Peak RSS | Go heap in use |\n|---|---|---|\n| idle, the sync suspended | %.1f MiB | %.1f MiB |\n| after %d runs against a 64 MiB page | %.1f MiB | %.1f MiB |\n| added | %.1f MiB | %.1f MiB |",
		median(idlePeak), median(idleHeap), hostileRuns, median(hostilePeak), median(hostileHeap),
		median(hostilePeak)-median(idlePeak), median(hostileHeap)-median(idleHeap))
	b.ReportMetric(median(hostilePeak)-median(idlePeak), "peak-RSS-MiB-added")
}

// servePageOf answers every request with a SCIM ListResponse of size bytes,
// written as it goes, as a hostile target would.
func servePageOf(size int) http.HandlerFunc {
	account := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"x","userName":"` + strings.Repeat("a", 200) + `@example.com","active":true},`
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[`))
		for written := 0; written < size; written += len(account) {
			if _, err := w.Write([]byte(account)); err != nil {
				return // the client stopped reading
			}
		}
		_, _ = w.Write([]byte(`{}]}`))
	}
}

func setSuspended(ctx context.Context, b *testing.B, k8s client.Client, s *ssov1.AccountSync, suspend bool) {
	must(b, k8s.Get(ctx, client.ObjectKeyFromObject(s), s))
	s.Spec.Suspend = suspend
	must(b, k8s.Update(ctx, s))
}

func syncReason(ctx context.Context, b *testing.B, k8s client.Client, s *ssov1.AccountSync) string {
	cur := &ssov1.AccountSync{}
	must(b, k8s.Get(ctx, client.ObjectKeyFromObject(s), cur))
	if c := meta.FindStatusCondition(cur.Status.Conditions, ssov1.ReadyCondition); c != nil && c.ObservedGeneration == cur.Generation {
		return c.Reason
	}
	return ""
}

func handled(ctx context.Context, b *testing.B, k8s client.Client, s *ssov1.AccountSync) string {
	cur := &ssov1.AccountSync{}
	must(b, k8s.Get(ctx, client.ObjectKeyFromObject(s), cur))
	return cur.Status.LastHandledReconcileAt
}
