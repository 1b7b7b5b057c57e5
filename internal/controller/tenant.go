package controller

// Asking the tenant policy of a ClusterOktaOrg (internal/org decides) before
// the first Okta write of each kind: what each kind shows the rule, and
// where an object stands against its namespace's limits.

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// appPolicy asks the tenant rule about an app: its spec, an adoption it
// requests, and the namespace's app limit.
func appPolicy(ctx context.Context, r client.Reader, org *Org, app *ssov1.OktaSAMLApp) error {
	t := org.Tenant
	if err := t.CheckApp(&app.Spec); err != nil {
		return err
	}
	if p := app.Spec.Provisioning; p != nil {
		// The members of a pushed group leave the app's org for the hub.
		if err := t.CheckGroups("provisioning.groupPush[].group", pushedGroups(p, false)); err != nil {
			return err
		}
	}
	if adopt, _ := readAdoptRequest(app.Annotations); adopt.requested {
		if err := t.CheckAdoption(); err != nil {
			return err
		}
	}
	if !t.HasLimit(oktaorg.LimitApps) {
		return nil
	}
	var apps ssov1.OktaSAMLAppList
	if err := r.List(ctx, &apps, client.InNamespace(app.Namespace)); err != nil {
		return err
	}
	var inOrg []client.Object
	for i := range apps.Items {
		if apps.Items[i].Spec.OrgRef == app.Spec.OrgRef {
			inOrg = append(inOrg, &apps.Items[i])
		}
	}
	return t.CheckLimit(oktaorg.LimitApps, position(inOrg, app))
}

// pushedGroups are the spoke groups a provisioning pushes, or the hub
// groups they are pushed to.
func pushedGroups(p *ssov1.AppProvisioning, hub bool) []string {
	names := make([]string, 0, len(p.GroupPush))
	for _, g := range p.GroupPush {
		if hub {
			names = append(names, orDefault(g.HubGroup, g.Group))
		} else {
			names = append(names, g.Group)
		}
	}
	return names
}

// idpPolicy asks the tenant rule about an identity provider: whether the
// namespace may make one, whom it links and creates, its deletion policy,
// and an adoption it requests.
func idpPolicy(org *Org, p *ssov1.OktaSAMLIdentityProvider) error {
	t := org.Tenant
	if err := t.CheckIdentityProvider(&p.Spec); err != nil {
		return err
	}
	if adopt, _ := readAdoptRequest(p.Annotations); adopt.requested {
		if err := t.CheckAdoption(); err != nil {
			return err
		}
	}
	return t.CheckDeletionPolicy(p.Spec.DeletionPolicy)
}

// bindingPolicy asks the tenant rule about a binding: the groups and users
// it binds, and the namespace's binding limit.
func bindingPolicy(ctx context.Context, r client.Reader, org *Org, b *ssov1.SSOBinding) error {
	t := org.Tenant
	var groups, users []string
	for _, s := range b.Spec.Subjects {
		if s.Kind == ssov1.SubjectKindUser {
			users = append(users, s.Name)
		} else {
			groups = append(groups, s.Name)
		}
	}
	if err := t.CheckGroups("subjects", groups); err != nil {
		return err
	}
	if err := t.CheckDirectUsers(users); err != nil {
		return err
	}
	if !t.HasLimit(oktaorg.LimitBindings) {
		return nil
	}
	var bindings ssov1.SSOBindingList
	if err := r.List(ctx, &bindings, client.InNamespace(b.Namespace)); err != nil {
		return err
	}
	return t.CheckLimit(oktaorg.LimitBindings, position(objectsOf(bindings.Items), b))
}

// syncPolicy asks the tenant rule about an AccountSync: whether it may
// run, the Okta profile attributes its match and mappings read, the groups
// it pushes, and the namespace's limit.
func syncPolicy(ctx context.Context, r client.Reader, org *Org, s *ssov1.AccountSync, mappings []accountsync.Mapping) error {
	t := org.Tenant
	pushed := make([]string, 0, len(s.Spec.GroupPush))
	for _, g := range s.Spec.GroupPush {
		pushed = append(pushed, g.OktaGroup)
	}
	read := accountsync.ProfileFields(mappings, cmp.Or(s.Spec.Match.OktaAttribute, "email"), "login")
	if err := t.CheckAccountSync(read, pushed); err != nil {
		return err
	}
	if !t.HasLimit(oktaorg.LimitAccountSyncs) {
		return nil
	}
	var syncs ssov1.AccountSyncList
	if err := r.List(ctx, &syncs, client.InNamespace(s.Namespace)); err != nil {
		return err
	}
	return t.CheckLimit(oktaorg.LimitAccountSyncs, position(objectsOf(syncs.Items), s))
}

// objectsOf is a list's items as objects.
func objectsOf[T any, P interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

// position is where obj stands among objs, oldest first (by name when
// made in the same second), leaving out those being deleted: under a limit
// the oldest objects keep their place and a new one waits.
func position(objs []client.Object, obj client.Object) int {
	live := slices.DeleteFunc(slices.Clone(objs), func(o client.Object) bool { return !o.GetDeletionTimestamp().IsZero() })
	slices.SortFunc(live, func(a, b client.Object) int {
		if c := a.GetCreationTimestamp().Compare(b.GetCreationTimestamp().Time); c != 0 {
			return c
		}
		return strings.Compare(a.GetName(), b.GetName())
	})
	for i, o := range live {
		if o.GetUID() == obj.GetUID() {
			return i
		}
	}
	return len(live)
}
