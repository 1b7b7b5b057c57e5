package org

import (
	"cmp"
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// Limit is what an org object says of the org-wide settings.
type Limit struct {
	CapacityPercent, DeactivationPercent int
}

func LimitOf(spec ssov1.OktaOrgSpec) Limit {
	l := Limit{CapacityPercent: int(cmp.Or(spec.MaxAPICapacityPercent, int32(okta.DefaultCapacityPercent))), DeactivationPercent: 20}
	if spec.MaxOrgDeactivationPercent != nil {
		l.DeactivationPercent = int(*spec.MaxOrgDeactivationPercent)
	}
	return l
}

// stricter is the tighter of two limits, field by field.
func (l Limit) stricter(o Limit) Limit {
	return Limit{min(l.CapacityPercent, o.CapacityPercent), min(l.DeactivationPercent, o.DeactivationPercent)}
}

// Applied is the org-wide settings in force for the org at the
// canonical url: the stricter of every ClusterOktaOrg and OktaOrg that
// names it, so no object can widen the org's share or its safeguard by
// naming the org again. known is false when no org object names it.
func Applied(ctx context.Context, r client.Reader, url string) (limit Limit, known bool, err error) {
	var specs []ssov1.OktaOrgSpec
	var cluster ssov1.ClusterOktaOrgList
	if err := r.List(ctx, &cluster); err != nil {
		return Limit{}, false, err
	}
	for _, o := range cluster.Items {
		specs = append(specs, o.Spec.OktaOrgSpec)
	}
	var namespaced ssov1.OktaOrgList
	if err := r.List(ctx, &namespaced); err != nil {
		return Limit{}, false, err
	}
	for _, o := range namespaced.Items {
		// A team's OktaOrg counts only once its credential has worked: an
		// OktaOrg with no real credential must not narrow the share of an
		// org the platform connects for everyone.
		if meta.IsStatusConditionTrue(o.Status.Conditions, ssov1.ReadyCondition) {
			specs = append(specs, o.Spec)
		}
	}
	for _, spec := range specs {
		if u, err := okta.CanonicalOrgURL(string(spec.URL)); err != nil || u.String() != url {
			continue
		}
		if !known {
			limit, known = LimitOf(spec), true
			continue
		}
		limit = limit.stricter(LimitOf(spec))
	}
	return limit, known, nil
}

// withAppliedLimit is org with the stricter settings in force: its
// budget's share set, and, for an org object's org (safeguard true), its
// safeguard in a copy (cached orgs are shared). The budget is one per org,
// so an org Secret of the old form that names an org an org object also
// names uses the org objects' share too.
func withApplied(ctx context.Context, r client.Reader, org *Org, safeguard bool) (*Org, error) {
	limit, known, err := Applied(ctx, r, org.URL)
	if err != nil {
		return nil, err
	}
	if !known { // no org object names it (any more): the org's own share
		limit = Limit{CapacityPercent: org.CapacityPercent, DeactivationPercent: org.MaxDeactivationPercent}
	}
	if c, ok := org.Client.(interface{ Budget() *okta.Budget }); ok {
		c.Budget().SetCapacityPercent(limit.CapacityPercent)
	}
	if !safeguard {
		return org, nil
	}
	out := *org
	out.MaxDeactivationPercent = limit.DeactivationPercent
	return &out, nil
}
