package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	offboardUsers  = 20
	offboardLeave  = 10
	offboardSpread = 2 * time.Minute
	hookSecret     = "bench-hook-secret-9d2e"
)

// BenchmarkOffboarding measures the time from a user's deactivation in
// Okta to active=false in the service provider, for 10 users deactivated
// at random moments over two minutes, between full runs: with the System
// Log followed every minute, and with Okta's event hook delivering each
// event (the benchmark delivers them as Okta would, at once). p50 and p95.
func BenchmarkOffboarding(b *testing.B) {
	for _, path := range []string{"poll=1m", "event-hook"} {
		b.Run(path, func(b *testing.B) {
			latencies := offboarding(b, path == "event-hook")
			b.Logf("\n| Path | Users | p50 | p95 | max |\n|---|---|---|---|---|\n| %s | %d | %.1f s | %.1f s | %.1f s |",
				path, len(latencies), percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 100))
		})
	}
}

func offboarding(b *testing.B, hook bool) []float64 {
	ctx := context.Background()
	k8s, kubeconfig, managerBin := startBench(b)
	var users []emulator.SeedUser
	for i := range offboardUsers {
		users = append(users, emulator.SeedUser{Login: fmt.Sprintf("u%02d@example.com", i), FirstName: "U", LastName: fmt.Sprint(i), Groups: []string{"Engineering"}})
	}
	_, orgURL := startSeededOrg(b, &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}}, Users: users})
	target, err := scimtest.New(scimtest.Options{Token: "bench-scim"})
	must(b, err)
	defer target.Close()
	ns := "offboard"
	createFollowedSyncs(ctx, b, k8s, ns, orgURL, target.URL(), 1, "1m")

	args := []string{"--kubeconfig", kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(b), "--log-level", "error", "--allow-loopback-targets"}
	hookAddr := ""
	if hook {
		hookAddr = freeAddr(b)
		secretFile := filepath.Join(b.TempDir(), "hook-secret")
		must(b, os.WriteFile(secretFile, []byte(hookSecret), 0o600))
		args = append(args, "--event-hook-bind-address", hookAddr, "--event-hook-secret-file", secretFile)
	}
	manager := exec.Command(managerBin, args...)
	must(b, manager.Start())
	defer func() { _ = manager.Process.Signal(syscall.SIGTERM); _ = manager.Wait() }()
	waitFor(b, 5*time.Minute, func() bool { return activeAccounts(target) == offboardUsers && followed(ctx, b, k8s, ns, 1) })

	c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: benchToken, MaxAPICapacityPercent: 100})
	must(b, err)
	return offboardAtRandom(ctx, b, c, orgURL, hookAddr, "u%02d@example.com", offboardLeave, offboardSpread, target, time.Hour)
}

// offboardAtRandom deactivates the first n users of the login pattern in
// Okta at random moments over spread, delivers each event to the hook when
// hookAddr is set, and returns the seconds from each deactivation until
// the account in target is inactive (giveUp's, when it never is).
func offboardAtRandom(ctx context.Context, b *testing.B, c *okta.Client, orgURL, hookAddr, pattern string, n int, spread time.Duration, target *scimtest.Server, giveUp time.Duration) []float64 {
	var mu sync.Mutex
	var latencies []float64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.Int64N(int64(spread))))
			login := fmt.Sprintf(pattern, i)
			u, err := c.FindUserByLogin(ctx, login)
			if err != nil {
				b.Error(err)
				return
			}
			start := time.Now()
			if err := oktaPost(orgURL, "/api/v1/users/"+u.ID+"/lifecycle/deactivate"); err != nil {
				b.Error(err)
				return
			}
			if hookAddr != "" {
				if err := deliver(ctx, c, hookAddr, orgURL, u.ID, start); err != nil {
					b.Error(err)
					return
				}
			}
			for accountActive(target, login) && time.Since(start) < giveUp {
				time.Sleep(50 * time.Millisecond)
			}
			mu.Lock()
			latencies = append(latencies, time.Since(start).Seconds())
			mu.Unlock()
		}()
	}
	wg.Wait()
	return latencies
}

// BenchmarkIdleFollowing counts the Okta calls of an org with 50
// AccountSyncs, all Ready and following its System Log every minute, over
// three idle minutes, and gives them per hour (goal: one log poll a period
// per org, whatever the number of syncs).
func BenchmarkIdleFollowing(b *testing.B) {
	ctx := context.Background()
	k8s, kubeconfig, managerBin := startBench(b)
	org, orgURL := startSeededOrg(b, &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}},
		Users: []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Groups: []string{"Engineering"}}}})
	target, err := scimtest.New(scimtest.Options{Token: "bench-scim"})
	must(b, err)
	defer target.Close()
	const syncs = 50
	createFollowedSyncs(ctx, b, k8s, "idle", orgURL, target.URL(), syncs, "1m")
	manager := startBenchManager(b, managerBin, kubeconfig)
	defer stopBenchManager(manager)
	waitFor(b, 10*time.Minute, func() bool { return followed(ctx, b, k8s, "idle", syncs) })
	time.Sleep(30 * time.Second) // the first polls and passes are done
	org.ResetStats()
	const over = 3 * time.Minute
	time.Sleep(over)
	st := org.Stats()
	perHour := func(n int) float64 { return float64(n) * float64(time.Hour) / float64(over) }
	b.Logf("\n| Syncs following one org | Log polls per hour | All Okta calls per hour |\n|---|---|---|\n| %d | %.0f | %.0f |",
		syncs, perHour(st.Routes["GET /api/v1/logs"]), perHour(st.Total))
}

// createFollowedSyncs makes n apps, each with the Engineering group bound
// and a Provision AccountSync into target, in ns, with the org Secret's
// System Log poll period.
func createFollowedSyncs(ctx context.Context, b *testing.B, k8s client.Client, ns, orgURL, targetURL string, n int, poll string) {
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-org"},
		StringData: map[string]string{"orgURL": orgURL, "apiToken": benchToken, "maxAPICapacityPercent": "100", "maxOrgDeactivationPercent": "100", "systemLogPollInterval": poll}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scim"}, StringData: map[string]string{"token": "bench-scim"}}))
	createAppsIn(ctx, b, k8s, ns, n)
	createEngineeringBindings(ctx, b, k8s, ns, n, 0)
	createSyncs(ctx, b, k8s, ns, n, targetURL)
}

// createEngineeringBindings binds the Engineering group to the first n
// apps of ns (app-0000 ...), checked every interval (0: the default).
func createEngineeringBindings(ctx context.Context, b *testing.B, k8s client.Client, ns string, n int, interval time.Duration) {
	createInParallel(ctx, b, k8s, n, func(i int) client.Object {
		return &ssov1.SSOBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%04d", i)},
			Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(fmt.Sprintf("app-%04d", i))},
				Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}, Interval: metav1.Duration{Duration: interval}}}
	})
}

// createSyncs makes a Provision AccountSync into the target (token in the
// Secret "scim") for each of the first n apps of ns.
func createSyncs(ctx context.Context, b *testing.B, k8s client.Client, ns string, n int, targetURL string) {
	createInParallel(ctx, b, k8s, n, func(i int) client.Object {
		return &ssov1.AccountSync{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%04d", i)}, Spec: ssov1.AccountSyncSpec{
			AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(fmt.Sprintf("app-%04d", i))}, Mode: ssov1.SyncModeProvision,
			Target:    ssov1.SyncTarget{SCIM: ssov1.SCIMTarget{URL: ssov1.URL(targetURL), AuthSecretRef: ssov1.SecretKeySelector{Name: "scim", Key: "token"}}},
			Safeguard: ssov1.Safeguard{MaxDeactivationPercent: ptr.To[int32](100)},
		}}
	})
}

// followed tells whether n syncs of ns have had a successful run with
// following on.
func followed(ctx context.Context, b *testing.B, k8s client.Client, ns string, n int) bool {
	var list ssov1.AccountSyncList
	must(b, k8s.List(ctx, &list, client.InNamespace(ns)))
	got := 0
	for _, s := range list.Items {
		if s.Status.Following != nil {
			got++
		}
	}
	return got == n
}

func activeAccounts(target *scimtest.Server) int {
	n := 0
	for _, u := range target.Users() {
		if u["active"] == true {
			n++
		}
	}
	return n
}

func accountActive(target *scimtest.Server, userName string) bool {
	for _, u := range target.Users() {
		if u["userName"] == userName {
			return u["active"] == true
		}
	}
	return false
}

func oktaPost(orgURL, path string) error { return oktaPostJSON(orgURL, path, "") }

// oktaPostJSON posts a JSON body to an org as its admin would.
func oktaPostJSON(orgURL, path, body string) error {
	req, _ := http.NewRequest(http.MethodPost, orgURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "SSWS "+benchToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d", path, resp.StatusCode)
	}
	return nil
}

// deliver posts the user's deactivation event to the hook, as Okta does.
func deliver(ctx context.Context, c *okta.Client, hookAddr, orgURL, userID string, since time.Time) error {
	page, err := c.LogEvents(ctx, okta.LogQuery{Since: since.Add(-time.Second), Filter: accountsync.FollowFilter()})
	if err != nil {
		return err
	}
	var events []okta.LogEvent
	for _, e := range page.Events {
		if t, ok := e.TargetOf("User"); ok && t.ID == userID {
			events = append(events, e)
		}
	}
	body, _ := json.Marshal(map[string]any{"eventType": "com.okta.event_hook", "data": map[string]any{"events": events}})
	host := strings.TrimPrefix(orgURL, "http://")
	req, _ := http.NewRequest(http.MethodPost, "http://"+hookAddr+"/okta/event-hooks/"+host, strings.NewReader(string(body)))
	req.Header.Set("Authorization", hookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the hook answered %d", resp.StatusCode)
	}
	return nil
}

// percentile of the values (100: the largest).
func percentile(v []float64, p int) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}
