// Package controller holds one reconciler per kind of sso.oktaop.io.
package controller

// The operator's cluster permissions, generated into config/rbac/role.yaml.
// Secrets: org credentials and attribute values are read; connection Secrets
// are written. Events report every condition transition. Namespaces are
// read for the kube-system UID (the cluster's name in owner notes) and for a
// ClusterOktaOrg's namespaceSelector. Nodes and ServiceCIDRs are listed for
// the cluster's pod and service ranges, which URLs chosen in namespaces may
// not reach (--cluster-cidrs=auto). TokenReviews and SubjectAccessReviews
// check who reads the metrics (--metrics-secure).
//
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=oktasamlapps;ssobindings;accountsyncs;oktasamlidentityproviders,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=oktasamlapps/status;ssobindings/status;accountsyncs/status;oktasamlidentityproviders/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=oktasamlapps/finalizers;ssobindings/finalizers;accountsyncs/finalizers;oktasamlidentityproviders/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=clusteroktaorgs;oktaorgs,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=clusteroktaorgs/status;oktaorgs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=sso.oktaop.io,resources=clusteroktaorgs/finalizers;oktaorgs/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// +kubebuilder:rbac:groups=networking.k8s.io,resources=servicecidrs,verbs=list
