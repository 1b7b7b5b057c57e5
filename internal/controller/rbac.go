// Package controller holds one reconciler per kind of sso.oktaop.io.
package controller

// The operator's cluster permissions, generated into config/rbac/role.yaml.
// Secrets: org credentials and attribute values are read; connection Secrets
// are written. Events report every condition transition. The kube-system
// namespace is read once at start: its UID names the cluster in owner notes.
//
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=oktasamlapps;ssobindings;accountsyncs;oktasamlidentityproviders,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=oktasamlapps/status;ssobindings/status;accountsyncs/status;oktasamlidentityproviders/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=oktasamlapps/finalizers;ssobindings/finalizers;accountsyncs/finalizers;oktasamlidentityproviders/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,resourceNames=kube-system,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
