package controller

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The operator reads few Secrets (org credentials, attribute values, key
// pairs, its own connection Secrets) in clusters that hold many. A cache of
// whole Secrets would grow with every Secret in the cluster, so:
//   - the client reads Secrets straight from the API server, uncached;
//   - the controllers watch Secrets by their metadata only (builder.OnlyMetadata),
//     to hear of a change to one they read or own;
//   - that metadata is cut to what the watches use (name, namespace, owner),
//     so an annotation as large as the Secret itself (kubectl's
//     last-applied-configuration) is not kept either.
// docs/architecture.md explains the choice; make bench measures it.

// ClientOptions are the manager's client options: Secrets are never served
// from the cache.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}
}

// CacheOptions are the manager's cache options for the given namespaces
// (nil: all).
func CacheOptions(namespaces map[string]cache.Config) cache.Options {
	return cache.Options{DefaultNamespaces: namespaces, DefaultTransform: slimForCache}
}

// slimForCache drops what no controller reads from cached objects: managed
// fields everywhere; from metadata-only objects everything but what the
// Secret watches use (name and namespace to map a Secret to the apps that
// read it, owners to map it to the app that owns it, the resource version
// the informer keeps). Every unrelated Secret in the cluster is one such
// object, so each byte counts ten thousand times.
func slimForCache(obj any) (any, error) {
	switch o := obj.(type) {
	case *metav1.PartialObjectMetadata:
		o.ObjectMeta = metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, ResourceVersion: o.ResourceVersion, OwnerReferences: o.OwnerReferences}
		o.TypeMeta = internedTypeMeta(o.TypeMeta)
	case metav1.Object:
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// internedTypeMeta shares one copy of the type strings every metadata-only
// object carries instead of a decoded copy each.
func internedTypeMeta(t metav1.TypeMeta) metav1.TypeMeta {
	if t.APIVersion == "meta.k8s.io/v1" && t.Kind == "PartialObjectMetadata" {
		return metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}
	}
	return t
}
