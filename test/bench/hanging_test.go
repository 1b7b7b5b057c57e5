package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oktaop/okta-sso-operator/internal/okta"
	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

const (
	neighbourUsers  = 10
	neighbourLeave  = 5
	neighbourSpread = time.Minute
	// neighbourGiveUp ends a wait that lanes would have made needless: the
	// figure is then "over" this.
	neighbourGiveUp = 3 * time.Minute
)

// BenchmarkHangingNeighbour measures team B's offboarding latency (a user
// deactivated in Okta, the event hook delivering it, to active=false in B's
// SCIM target) while team A's target, which the same deactivations reach,
// answers every request only after 30 s. Both teams sync one app of the
// same ten users; five of them are deactivated at random moments over a
// minute. Three runs: A's target well, A's target hanging, and A's target
// hanging with one worker for every AccountSync (how the operator ran
// before the namespace lanes). p50 and max of B's latencies.
func BenchmarkHangingNeighbour(b *testing.B) {
	for _, v := range []struct {
		name string
		hang bool
		args []string
	}{
		{name: "A well"},
		{name: "A hangs", hang: true},
		{name: "A hangs, one worker", hang: true, args: []string{"--accountsync-workers=1"}},
	} {
		b.Run(v.name, func(b *testing.B) {
			latencies := hangingNeighbour(b, v.hang, v.args)
			b.Logf("\n| Team A's target | B's users | B p50 | B max |\n|---|---|---|---|\n| %s | %d | %.1f s | %.1f s |",
				v.name, len(latencies), percentile(latencies, 50), percentile(latencies, 100))
			b.ReportMetric(percentile(latencies, 50), "B-p50-s")
		})
	}
}

func hangingNeighbour(b *testing.B, hang bool, extra []string) []float64 {
	ctx := context.Background()
	k8s, kubeconfig, managerBin, stop := startTrial(b)
	defer stop()
	var users []emulator.SeedUser
	for i := range neighbourUsers {
		users = append(users, emulator.SeedUser{Login: fmt.Sprintf("n%02d@example.com", i), FirstName: "N", LastName: fmt.Sprint(i), Groups: []string{"Engineering"}})
	}
	_, orgURL := startSeededOrg(b, &emulator.Seed{Groups: []emulator.SeedGroup{{Name: "Engineering"}}, Users: users})
	targets := map[string]*scimtest.Server{}
	for _, team := range []string{"team-a", "team-b"} {
		target, err := scimtest.New(scimtest.Options{Token: "bench-scim"})
		must(b, err)
		defer target.Close()
		targets[team] = target
		createFollowedSyncs(ctx, b, k8s, team, orgURL, target.URL(), 1, "1m")
	}
	hookAddr := freeAddr(b)
	secretFile := filepath.Join(b.TempDir(), "hook-secret")
	must(b, os.WriteFile(secretFile, []byte(hookSecret), 0o600))
	manager := startBenchManager(b, managerBin, kubeconfig, append([]string{"--event-hook-bind-address", hookAddr, "--event-hook-secret-file", secretFile}, extra...)...)
	defer stopBenchManager(manager)
	waitFor(b, 5*time.Minute, func() bool {
		return activeAccounts(targets["team-a"]) == neighbourUsers && activeAccounts(targets["team-b"]) == neighbourUsers &&
			followed(ctx, b, k8s, "team-a", 1) && followed(ctx, b, k8s, "team-b", 1)
	})
	if hang {
		targets["team-a"].SetFault(scimtest.Fault{Delay: 30 * time.Second, Times: -1})
	}

	c, err := okta.New(okta.Config{OrgURL: orgURL, APIToken: benchToken, MaxAPICapacityPercent: 100})
	must(b, err)
	latencies := offboardAtRandom(ctx, b, c, orgURL, hookAddr, "n%02d@example.com", neighbourLeave, neighbourSpread, targets["team-b"], neighbourGiveUp)
	targets["team-a"].SetFault(scimtest.Fault{})
	return latencies
}
