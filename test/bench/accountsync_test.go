package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// syncRun is one measured AccountSync run.
type syncRun struct {
	seconds, peakMiB     float64
	oktaCalls, scimCalls int
	scimWrites           int
}

// BenchmarkAccountSync measures a Provision-mode AccountSync of N assigned
// users (BENCH_SYNC_USERS, default 10000,100000) into an empty SCIM service
// provider, then a sync that changes nothing: the run's own time (its
// status.lastSyncDuration), Okta and SCIM calls, SCIM writes, and the
// manager's peak RSS (VmHWM of a manager started for that run). Each figure
// is the median of 3 trials. Rate limits are out of the way; the floor they
// would set is reported beside (Okta pages ÷ the bucket's allowed rate).
func BenchmarkAccountSync(b *testing.B) {
	sizes := []int{10000, 100000}
	if v := os.Getenv("BENCH_SYNC_USERS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	ctx := context.Background()
	k8s, kubeconfig, managerBin := startBench(b)
	for _, n := range sizes {
		var first, idle []syncRun
		for trial := range trials {
			f, i := syncTrial(ctx, b, k8s, managerBin, kubeconfig, n, trial)
			first, idle = append(first, f), append(idle, i)
		}
		report := func(name string, runs []syncRun) {
			b.ReportMetric(medianOf(runs, func(r syncRun) float64 { return r.seconds }), fmt.Sprintf("s-%s-%dusers", name, n))
			b.ReportMetric(medianOf(runs, func(r syncRun) float64 { return r.peakMiB }), fmt.Sprintf("peakRSS-MiB-%s-%dusers", name, n))
			b.ReportMetric(medianOf(runs, func(r syncRun) float64 { return float64(r.oktaCalls) }), fmt.Sprintf("okta-calls-%s-%dusers", name, n))
			b.ReportMetric(medianOf(runs, func(r syncRun) float64 { return float64(r.scimCalls) }), fmt.Sprintf("scim-calls-%s-%dusers", name, n))
			b.ReportMetric(medianOf(runs, func(r syncRun) float64 { return float64(r.scimWrites) }), fmt.Sprintf("scim-writes-%s-%dusers", name, n))
		}
		report("first", first)
		report("nochange", idle)
		pages := (n + 499) / 500
		bucket := float64(emulator.DefaultRateLimits[okta.BucketOf("GET", "/api/v1/apps/x/users")]) * 0.5 // the default 50% share
		b.ReportMetric(float64(pages)/bucket*60, fmt.Sprintf("s-rate-limit-floor-%dusers", n))
	}
}

// syncTrial runs one first sync and one no-change sync of n users.
func syncTrial(ctx context.Context, b *testing.B, k8s client.Client, managerBin, kubeconfig string, n, trial int) (syncRun, syncRun) {
	seed := &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Synced"}}}
	for i := range n {
		seed.Users = append(seed.Users, emulator.SeedUser{Login: fmt.Sprintf("user%06d@example.com", i), FirstName: "User", LastName: strconv.Itoa(i), Groups: []string{"Synced"}})
	}
	org, orgURL := startSeededOrg(b, seed)
	target, err := scimtest.New(scimtest.Options{Token: "bench-scim", PageSize: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer target.Close()
	ns := fmt.Sprintf("sync-%d-%d", n, trial)
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-org"},
		StringData: map[string]string{"orgURL": orgURL, "apiToken": benchToken, "maxAPICapacityPercent": "100", "maxOrgDeactivationPercent": "100"}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scim"}, StringData: map[string]string{"token": "bench-scim"}}))

	manager := startBenchManager(b, managerBin, kubeconfig)
	app := &ssov1.OktaSAMLApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "portal"}, Spec: ssov1.OktaSAMLAppSpec{
		OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: "Portal", DeletionPolicy: ssov1.DeletionPolicyOrphan,
		ServiceProvider: &ssov1.ServiceProvider{EntityID: "portal", ACSURL: "https://portal.example.com/acs"}}}
	must(b, k8s.Create(ctx, app))
	waitFor(b, 2*time.Minute, func() bool {
		_ = k8s.Get(ctx, client.ObjectKeyFromObject(app), app)
		return app.Status.AppID != ""
	})
	c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: benchToken})
	must(b, err)
	group, err := c.FindGroupByName(ctx, "Synced")
	must(b, err)
	_, err = c.AssignGroup(ctx, app.Status.AppID, group.ID, okta.AppGroupAssignment{})
	must(b, err)

	sync := &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "accounts"}, Spec: ssov1.AccountSyncSpec{
		AppRef: ssov1.LocalObjectReference{Name: "portal"}, Mode: ssov1.SyncModeProvision,
		Target:            ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(target.URL()), AuthSecretRef: ssov1.SecretKeySelector{Name: "scim", Key: "token"}}},
		AttributeMappings: []ssov1.AttributeMapping{{Target: "displayName", Expression: `user.firstName + " " + user.lastName`}},
		Safeguard:         ssov1.Safeguard{MaxDeactivationPercent: ptr.To[int32](100)},
	}}
	org.ResetStats()
	target.Requests(true)
	must(b, k8s.Create(ctx, sync))
	first := measureRun(ctx, b, k8s, sync, manager, org, target, func(s *ssov1.AccountSync) bool {
		return s.Status.LastSuccessfulSyncTime != nil && s.Status.Summary != nil && int(s.Status.Summary.Created) == n
	})
	stopBenchManager(manager)

	manager = startBenchManager(b, managerBin, kubeconfig)
	time.Sleep(5 * time.Second) // the manager's start-up reconciles, outside the measure
	org.ResetStats()
	target.Requests(true)
	must(b, patchAnnotation(ctx, k8s, sync, ssov1.ReconcileRequestAnnotation, "bench"))
	idle := measureRun(ctx, b, k8s, sync, manager, org, target, func(s *ssov1.AccountSync) bool {
		return s.Status.LastHandledReconcileAt == "bench"
	})
	if idle.scimWrites != 0 {
		b.Errorf("a no-change sync of %d users sent %d writes", n, idle.scimWrites)
	}
	must(b, k8s.Delete(ctx, sync))
	must(b, k8s.Delete(ctx, app))
	waitFor(b, time.Minute, func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(app), &ssov1.OktaSAMLApp{}))
	})
	stopBenchManager(manager)
	return first, idle
}

func measureRun(ctx context.Context, b *testing.B, k8s client.Client, sync *ssov1.AccountSync, manager *exec.Cmd,
	org *emulator.Server, target *scimtest.Server, done func(*ssov1.AccountSync) bool) syncRun {
	got := &ssov1.AccountSync{}
	waitFor(b, 15*time.Minute, func() bool {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(sync), got); err != nil {
			return false
		}
		if c := meta.FindStatusCondition(got.Status.Conditions, ssov1.SyncedCondition); c != nil && c.Status == metav1.ConditionFalse {
			b.Fatalf("the sync failed: %s: %s", c.Reason, c.Message)
		}
		return done(got)
	})
	run := syncRun{oktaCalls: org.Stats().Total, peakMiB: procStatusMiB(b, manager.Process.Pid, "VmHWM")}
	if got.Status.LastSyncDuration != nil {
		run.seconds = got.Status.LastSyncDuration.Seconds()
	}
	for _, r := range target.Requests(false) {
		run.scimCalls++
		if !strings.HasPrefix(r, "GET ") {
			run.scimWrites++
		}
	}
	return run
}

// startBenchManager runs the built manager; BENCH_MANAGER_ARGS adds flags
// (such as --app-workers=4) to compare settings.
func startBenchManager(b *testing.B, bin, kubeconfig string, extra ...string) *exec.Cmd {
	args := []string{"--kubeconfig", kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(b), "--log-level", "error", "--pprof-bind-address", os.Getenv("BENCH_PPROF"), "--allow-loopback-targets"}
	args = append(args, extra...)
	cmd := exec.Command(bin, append(args, strings.Fields(os.Getenv("BENCH_MANAGER_ARGS"))...)...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return cmd
}

func stopBenchManager(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

func patchAnnotation(ctx context.Context, k8s client.Client, obj client.Object, key, value string) error {
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	base := obj.DeepCopyObject().(client.Object)
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[key] = value
	obj.SetAnnotations(annotations)
	return k8s.Patch(ctx, obj, client.MergeFrom(base))
}

func waitFor(b *testing.B, timeout time.Duration, cond func() bool) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s", timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func medianOf(runs []syncRun, f func(syncRun) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	return median(v)
}
