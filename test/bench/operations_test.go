package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// The Terraform provider's calls for the same work, counted in its recorded
// acceptance test (internal/okta/testdata/okta-api/cassettes/
// TestAccResourceOktaAppSaml_crud/oie-00.yaml): a create is the POST, the
// org's well-known document, the access policies, the policy's assignment,
// then a read of the app, its metadata and its keys; every refresh reads
// the three again; an update is the PUT, the policy again and a read; a
// delete deactivates and deletes.
var terraformCalls = map[string]int{
	"create": 7, "idle check": 3, "spec change": 5, "delete": 2,
}

const operationTrials = 5

// BenchmarkOktaCallsPerOperation runs the built manager against a real API
// server and the local org (rate limits out of the way) and counts, from
// the org's request counters, the Okta calls each operation costs, until
// the manager is idle again. Medians of 5 trials, each on a new app.
func BenchmarkOktaCallsPerOperation(b *testing.B) {
	ctx := context.Background()
	k8s, kubeconfig, managerBin := startBench(b)
	org, orgURL := startSeededOrg(b, &emulator.Seed{
		Groups:         []emulator.SeedGroup{{Name: "Engineering"}},
		Users:          []emulator.SeedUser{{Login: "ann@example.com", FirstName: "Ann", LastName: "Lee", Groups: []string{"Engineering"}}},
		AccessPolicies: []emulator.SeedPolicy{{Name: "Strict MFA"}},
	})
	must(b, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sso"}}))
	must(b, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sso", Name: "okta-org"},
		StringData: map[string]string{"orgURL": orgURL, "apiToken": benchToken, "maxAPICapacityPercent": "100"}}))
	manager := startBenchManager(b, managerBin, kubeconfig)
	defer stopBenchManager(manager)

	counts := map[string][]int{}
	routes := map[string]map[string]int{}
	for trial := range operationTrials {
		for op, calls := range operationTrial(ctx, b, k8s, org, trial) {
			counts[op] = append(counts[op], calls.total)
			if trial == 0 {
				routes[op] = calls.routes
			}
		}
	}
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var table strings.Builder
	fmt.Fprintf(&table, "\n| Operation | Okta calls (median of %d) | Terraform | Calls (first trial) |\n|---|---|---|---|\n", operationTrials)
	for _, op := range ops {
		tf := "—"
		if n, ok := terraformCalls[op]; ok {
			tf = fmt.Sprint(n)
		}
		fmt.Fprintf(&table, "| %s | %d | %s | %s |\n", op, medianInt(counts[op]), tf, routeList(routes[op]))
	}
	b.Log(table.String())
}

// counted is what one operation cost.
type counted struct {
	total  int
	routes map[string]int
}

// operationTrial runs each operation once on a new app and a binding.
func operationTrial(ctx context.Context, b *testing.B, k8s client.Client, org *emulator.Server, trial int) map[string]counted {
	out := map[string]counted{}
	measure := func(op string, act func(), done func(*ssov1.OktaSAMLApp) bool, app *ssov1.OktaSAMLApp) {
		before := org.Stats()
		act()
		var last *ssov1.OktaSAMLApp
		deadline := time.Now().Add(2 * time.Minute)
		for {
			got := &ssov1.OktaSAMLApp{}
			err := k8s.Get(ctx, client.ObjectKeyFromObject(app), got)
			if err == nil && done(got) || apierrors.IsNotFound(err) && done(nil) {
				break
			}
			if err == nil {
				last = got
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: not done after 2 minutes; the app's status: %+v", op, last.Status)
			}
			time.Sleep(200 * time.Millisecond)
		}
		out[op] = since(before, settled(org))
	}
	name := fmt.Sprintf("ops-%d", trial)
	app := &ssov1.OktaSAMLApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sso", Name: name},
		Spec: ssov1.OktaSAMLAppSpec{
			OrgRef: ssov1.OrgReference{SecretName: "okta-org"}, Label: "Ops " + name,
			ServiceProvider: &ssov1.ServiceProvider{EntityID: "https://" + name + ".example.com/saml", ACSURL: ssov1.URL("https://" + name + ".example.com/saml/acs")},
		},
	}
	ready := func(a *ssov1.OktaSAMLApp) bool {
		return a != nil && a.Status.ObservedGeneration == a.Generation && meta.IsStatusConditionTrue(a.Status.Conditions, ssov1.ReadyCondition)
	}
	measure("create", func() { must(b, k8s.Create(ctx, app)) }, ready, app)

	token := fmt.Sprint(time.Now().UnixNano())
	measure("idle check", func() { must(b, patchAnnotation(ctx, k8s, app, ssov1.ReconcileRequestAnnotation, token)) },
		func(a *ssov1.OktaSAMLApp) bool { return a != nil && a.Status.LastHandledReconcileAt == token }, app)

	measure("spec change", func() {
		must(b, k8s.Get(ctx, client.ObjectKeyFromObject(app), app))
		base := app.DeepCopy()
		app.Spec.Label += " renamed"
		must(b, k8s.Patch(ctx, app, client.MergeFrom(base)))
	}, ready, app)

	measure("sign-on policy by name", func() {
		must(b, k8s.Get(ctx, client.ObjectKeyFromObject(app), app))
		base := app.DeepCopy()
		app.Spec.SignOn.AuthenticationPolicy = &ssov1.PolicyReference{Name: "Strict MFA"}
		must(b, k8s.Patch(ctx, app, client.MergeFrom(base)))
	}, func(a *ssov1.OktaSAMLApp) bool { return ready(a) && a.Status.AuthenticationPolicy != nil }, app)

	phase := func(p ssov1.RotationPhase) func(*ssov1.OktaSAMLApp) bool {
		return func(a *ssov1.OktaSAMLApp) bool {
			return a != nil && a.Status.SigningKey != nil && a.Status.SigningKey.RotationPhase == p
		}
	}
	measure("key rotation: stage", func() { must(b, patchAnnotation(ctx, k8s, app, ssov1.RotateSigningKeyAnnotation, token)) },
		phase(ssov1.RotationPhaseStaged), app)
	must(b, k8s.Get(ctx, client.ObjectKeyFromObject(app), app))
	staged := app.Status.SigningKey.NextKeyID
	// The reconcile the promotion's own writes cause retires the old key.
	measure("key rotation: promote and retire", func() { must(b, patchAnnotation(ctx, k8s, app, ssov1.PromoteSigningKeyAnnotation, token)) },
		func(a *ssov1.OktaSAMLApp) bool {
			return phase(ssov1.RotationPhaseStable)(a) && a.Status.SigningKey.ActiveKeyID == staged
		}, app)

	binding := &ssov1.SSOBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sso", Name: name},
		Spec: ssov1.SSOBindingSpec{AppRef: ssov1.LocalObjectReference{Name: ssov1.ResourceName(name)},
			Subjects: []ssov1.Subject{{Kind: ssov1.SubjectKindGroup, Name: "Engineering"}}},
	}
	before := org.Stats()
	must(b, k8s.Create(ctx, binding))
	waitFor(b, 2*time.Minute, func() bool {
		got := &ssov1.SSOBinding{}
		return k8s.Get(ctx, client.ObjectKeyFromObject(binding), got) == nil &&
			meta.IsStatusConditionTrue(got.Status.Conditions, ssov1.ReadyCondition)
	})
	out["SSOBinding: first pass (one group)"] = since(before, settled(org))
	before = org.Stats()
	must(b, patchAnnotation(ctx, k8s, binding, ssov1.ReconcileRequestAnnotation, token))
	waitFor(b, 2*time.Minute, func() bool {
		got := &ssov1.SSOBinding{}
		return k8s.Get(ctx, client.ObjectKeyFromObject(binding), got) == nil && got.Status.LastHandledReconcileAt == token
	})
	out["SSOBinding: idle pass"] = since(before, settled(org))
	must(b, k8s.Delete(ctx, binding))
	waitFor(b, 2*time.Minute, func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(binding), &ssov1.SSOBinding{}))
	})
	settled(org)

	measure("delete", func() { must(b, k8s.Delete(ctx, app)) }, func(a *ssov1.OktaSAMLApp) bool { return a == nil }, app)
	return out
}

// settled waits until the org has had no request for 2 s (the manager's
// follow-up reconciles are done) and returns its counters.
func settled(org *emulator.Server) emulator.Stats {
	last := org.Stats()
	for quiet := time.Duration(0); quiet < 2*time.Second; {
		time.Sleep(250 * time.Millisecond)
		if now := org.Stats(); now.Total != last.Total {
			last, quiet = now, 0
			continue
		}
		quiet += 250 * time.Millisecond
	}
	return last
}

func since(before, after emulator.Stats) counted {
	c := counted{total: after.Total - before.Total, routes: map[string]int{}}
	for route, n := range after.Routes {
		if d := n - before.Routes[route]; d > 0 && !strings.HasPrefix(route, "GET /emulator/") {
			c.routes[route] = d
		}
	}
	return c
}

func routeList(routes map[string]int) string {
	parts := make([]string, 0, len(routes))
	for route, n := range routes {
		parts = append(parts, fmt.Sprintf("%d× `%s`", n, route))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func medianInt(v []int) int {
	s := append([]int(nil), v...)
	sort.Ints(s)
	return s[len(s)/2]
}
