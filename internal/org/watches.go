package org

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
)

// ObjectIndex indexes the objects that name an org object (a
// ClusterOktaOrg or an OktaOrg) by orgKey.
const ObjectIndex = ".spec.orgRef.object"

// IndexByObject registers ObjectIndex for a kind whose org references
// refs returns (its orgRef, and any other org it reads, such as the hub an
// Org2Org app provisions).
func IndexByObject(mgr ctrl.Manager, obj client.Object, refs func(client.Object) []ssov1.OrgReference) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), obj, ObjectIndex, func(o client.Object) []string {
		var keys []string
		for _, r := range refs(o) {
			if r.Kind != "" {
				keys = append(keys, Key(o.GetNamespace(), r))
			}
		}
		return keys
	})
}

// Watch makes a controller retry every object of list's kind that uses
// an org at once when the org object or one of its credential Secrets
// changes (a rotated token, a namespace added to the conditions).
func Watch(b *builder.TypedBuilder[ctrl.Request], c client.Reader, list client.ObjectList, clusterNamespace string) *builder.TypedBuilder[ctrl.Request] {
	return watchThen(b, orgWatch{c: c, list: list, clusterNamespace: clusterNamespace})
}

// WatchThroughApps is Watch for a kind that reaches its org through
// the OktaSAMLApp it references (SSOBinding, AccountSync): the apps that
// use the org, mapped to this kind's requests by then.
func WatchThroughApps(b *builder.TypedBuilder[ctrl.Request], c client.Reader, clusterNamespace string, then handler.MapFunc) *builder.TypedBuilder[ctrl.Request] {
	return watchThen(b, orgWatch{c: c, list: &ssov1.OktaSAMLAppList{}, clusterNamespace: clusterNamespace, then: then})
}

// An org object's spec (its URL, credential reference, conditions, tenant
// policy) is what its users depend on; its status is written at every check
// (the rate limits it saw), and waking every object of the org for that
// would cost a read of each in Okta every few minutes.
func watchThen(b *builder.TypedBuilder[ctrl.Request], w orgWatch) *builder.TypedBuilder[ctrl.Request] {
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	return b.
		Watches(&ssov1.ClusterOktaOrg{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []ctrl.Request {
			return w.users(ctx, Key("", ssov1.OrgReference{Kind: ssov1.OrgKindCluster, Name: ssov1.ResourceName(o.GetName())}))
		}), specChanged).
		Watches(&ssov1.OktaOrg{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []ctrl.Request {
			return w.users(ctx, Key(o.GetNamespace(), ssov1.OrgReference{Kind: ssov1.OrgKindNamespaced, Name: ssov1.ResourceName(o.GetName())}))
		}), specChanged).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(w.usersOfSecret), builder.OnlyMetadata)
}

type orgWatch struct {
	c                client.Reader
	list             client.ObjectList
	clusterNamespace string
	// then maps each object found to the watching kind's requests (nil:
	// the objects themselves).
	then handler.MapFunc
}

// users are the objects whose orgRef names the org object key.
func (w orgWatch) users(ctx context.Context, key string) []ctrl.Request {
	found := w.list.DeepCopyObject().(client.ObjectList)
	if err := w.c.List(ctx, found, client.MatchingFields{ObjectIndex: key}); err != nil {
		return nil
	}
	items, _ := meta.ExtractList(found)
	reqs := make([]ctrl.Request, 0, len(items))
	for _, item := range items {
		obj, ok := item.(client.Object)
		switch {
		case !ok:
		case w.then != nil:
			reqs = append(reqs, w.then(ctx, obj)...)
		default:
			reqs = append(reqs, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}})
		}
	}
	return reqs
}

// usersOfSecret maps a credential Secret to the users of the org objects
// that read it: ClusterOktaOrgs for a Secret in the operator's namespace,
// OktaOrgs in the Secret's own namespace.
func (w orgWatch) usersOfSecret(ctx context.Context, s client.Object) []ctrl.Request {
	var reqs []ctrl.Request
	if s.GetNamespace() == w.clusterNamespace {
		var orgs ssov1.ClusterOktaOrgList
		if err := w.c.List(ctx, &orgs); err == nil {
			for _, o := range orgs.Items {
				if ReadsSecret(o.Spec.OktaOrgSpec, s.GetName()) {
					reqs = append(reqs, w.users(ctx, "ClusterOktaOrg/"+o.Name)...)
				}
			}
		}
	}
	var orgs ssov1.OktaOrgList
	if err := w.c.List(ctx, &orgs, client.InNamespace(s.GetNamespace())); err == nil {
		for _, o := range orgs.Items {
			if ReadsSecret(o.Spec, s.GetName()) {
				reqs = append(reqs, w.users(ctx, o.Namespace+"/OktaOrg/"+o.Name)...)
			}
		}
	}
	return reqs
}

// credentialSecrets are the Secrets an org object's credential is read from.
func credentialSecrets(spec ssov1.OktaOrgSpec) []string {
	var names []string
	if c := spec.Credentials.APIToken; c != nil {
		names = append(names, string(c.Name))
	}
	if c := spec.Credentials.OAuth; c != nil {
		names = append(names, string(c.PrivateKey.Name))
	}
	if c := spec.EventHookSecretRef; c != nil {
		names = append(names, string(c.Name))
	}
	return names
}

func ReadsSecret(spec ssov1.OktaOrgSpec, name string) bool {
	return slices.Contains(credentialSecrets(spec), name)
}
