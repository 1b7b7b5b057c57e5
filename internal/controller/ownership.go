package controller

// Ownership of Okta objects. The operator writes or deletes in Okta only
// what it owns: what it created, or what a person adopted on purpose (the
// sso.oktaop.io/adopt annotation beside the ID annotation). Ownership is
// data, never an inference from a name: the ID in status, and for apps an
// owner note in Okta (settings.notes.admin) naming the object, its cluster
// and how it came to own the app. An ID annotation alone proves nothing: an
// app ID is in every user's dashboard link, and a typo is enough.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// owner is what an owner note says: which object of which cluster owns the
// Okta object, and how it came to (Created or Adopted).
type owner struct {
	kind, namespace, name, cluster string
	origin                         ssov1.Origin
}

func (o owner) String() string {
	s := fmt.Sprintf("%s %s/%s", o.kind, o.namespace, o.name)
	if o.cluster != "" {
		s += " in cluster " + o.cluster
	}
	return s
}

// line is the owner note's first line, which the operator writes and reads
// back; whatever followed in the app's admin note stays after it.
func (o owner) line() string {
	return fmt.Sprintf("Managed by okta-sso-operator: %s %s/%s in cluster %s (%s). Change it in Git, not here.",
		o.kind, o.namespace, o.name, o.cluster, strings.ToLower(string(o.origin)))
}

var (
	ownerLinePattern = regexp.MustCompile(`^Managed by okta-sso-operator: (\S+) ([^/\s]+)/(\S+) in cluster (\S+) \((created|adopted)\)\.`)
	// Notes written before owners named their cluster and origin.
	legacyOwnerLinePattern = regexp.MustCompile(`^Managed by okta-sso-operator as ([^/\s]+)/(\S+) \(uid [^)]*\)`)
)

// parseOwner reads the owner line at the start of an admin note; ok is
// false when the note has none (an object made by hand). rest is what
// follows the owner line: a person's own note, kept.
func parseOwner(note string) (o owner, rest string, ok bool) {
	first, rest, _ := strings.Cut(note, "\n")
	if m := ownerLinePattern.FindStringSubmatch(first); m != nil {
		origin := ssov1.OriginCreated
		if m[5] == "adopted" {
			origin = ssov1.OriginAdopted
		}
		return owner{kind: m[1], namespace: m[2], name: m[3], cluster: m[4], origin: origin}, rest, true
	}
	if m := legacyOwnerLinePattern.FindStringSubmatch(first); m != nil {
		return owner{kind: "OktaSAMLApp", namespace: m[1], name: m[2], origin: ssov1.OriginCreated}, rest, true
	}
	return owner{}, note, false
}

// withOwner is an admin note with o's line first and rest after it.
func withOwner(o owner, rest string) string {
	if rest == "" {
		return o.line()
	}
	return o.line() + "\n" + rest
}

// sameObject: a note's owner is the object me, whatever its origin. A legacy
// note (no cluster) is taken as this cluster's. The UID is not compared: a
// backup restored gets a new one and is still the same object.
func sameObject(noted, me owner) bool {
	return noted.kind == me.kind && noted.namespace == me.namespace && noted.name == me.name &&
		(noted.cluster == "" || noted.cluster == me.cluster)
}

// adoptRequest is what the sso.oktaop.io/adopt annotation asks.
type adoptRequest struct {
	requested bool
	// deleteWithObject: "Delete", the adopted object follows deletionPolicy
	// like one the operator created.
	deleteWithObject bool
}

// readAdoptRequest parses the adopt annotation: absent, "true"/"Orphan"
// (adopt, leave it in Okta on delete) or "Delete".
func readAdoptRequest(annotations map[string]string) (adoptRequest, error) {
	v, set := annotations[ssov1.AdoptAnnotation]
	switch {
	case !set || v == "" || v == "false":
		return adoptRequest{}, nil
	case v == "true" || v == "Orphan":
		return adoptRequest{requested: true}, nil
	case v == "Delete":
		return adoptRequest{requested: true, deleteWithObject: true}, nil
	}
	return adoptRequest{}, &errInvalidSpec{fmt.Sprintf(`annotation %s is %q: it takes "true" (adopt; left in Okta when this object is deleted) or "Delete" (adopt; deleted with this object under deletionPolicy Delete)`,
		ssov1.AdoptAnnotation, v)}
}

// errNotOwned refuses an Okta object that is not this object's to manage.
func errNotOwned(format string, args ...any) error {
	return &errCondition{reason: ssov1.NotOwnedReason, stalled: true,
		msg: fmt.Sprintf(format, args...) + "; nothing was written in Okta, and deleting this object deletes nothing there"}
}

// attachApp decides whether the Okta app an ID annotation names may be
// managed by me, and how it came to be: an app whose owner note names me is
// re-attached silently (a restore, a lost status); one made by hand only
// when adoption is requested and it is a SAML 2.0 app of the kind the spec
// describes; one another object or cluster owns never.
func attachApp(actual *okta.App, me owner, adopt adoptRequest, preconfigured string) (ssov1.Origin, error) {
	noted, _, hasOwner := parseOwner(adminNote(actual))
	switch {
	case hasOwner && sameObject(noted, me):
		return noted.origin, nil
	case hasOwner:
		return "", errNotOwned("app %s (%q) is managed by okta-sso-operator as %s: remove the %s annotation, or delete that object first (deletionPolicy: Orphan releases the app)",
			actual.ID, actual.Label, noted, ssov1.AppIDAnnotation)
	case actual.SignOnMode != okta.SignOnModeSAML2:
		return "", errNotOwned("app %s (%q) signs on with %s, not SAML 2.0: only a SAML 2.0 app can be adopted; remove the %s annotation",
			actual.ID, actual.Label, actual.SignOnMode, ssov1.AppIDAnnotation)
	case preconfigured != "" && actual.Name != preconfigured:
		return "", errNotOwned("app %s (%q) is a %s app, not the %s that spec.preconfigured names: correct the annotation or the spec",
			actual.ID, actual.Label, actual.Name, preconfigured)
	case !adopt.requested:
		return "", errNotOwned(`app %s (%q) was not made by the operator: to manage it (its sign-on settings become the spec's), also set the annotation %s: "true"`,
			actual.ID, actual.Label, ssov1.AdoptAnnotation)
	}
	return ssov1.OriginAdopted, nil
}

// attachIdP decides whether the IdP an ID annotation names may be managed.
// Okta keeps nowhere to write an IdP's owner, so an IdP this object does not
// already hold in status is adopted only on request, SAML 2.0 only.
func attachIdP(actual okta.IdentityProvider, adopt adoptRequest) error {
	switch {
	case actual.Type() != "SAML2":
		return errNotOwned("identity provider %s (%q) is of type %s, not SAML2: only a SAML 2.0 IdP can be adopted; remove the %s annotation",
			actual.ID(), actual.Name(), actual.Type(), ssov1.IdPIDAnnotation)
	case !adopt.requested:
		return errNotOwned(`identity provider %s (%q) is not recorded as this object's (Okta keeps no owner on an IdP): to manage it (its trust settings become the spec's), also set the annotation %s: "true"`,
			actual.ID(), actual.Name(), ssov1.AdoptAnnotation)
	}
	return nil
}

// keepOnDelete: an adopted object stays in Okta when its Kubernetes object
// goes, unless the adopt annotation asked for it to be deleted.
func keepOnDelete(origin ssov1.Origin, policy ssov1.DeletionPolicy, adopt adoptRequest) bool {
	if policy == ssov1.DeletionPolicyOrphan {
		return true
	}
	return origin == ssov1.OriginAdopted && !adopt.deleteWithObject
}

func adminNote(a *okta.App) string {
	if a == nil || a.Settings.Notes == nil || a.Settings.Notes.Admin == nil {
		return ""
	}
	return *a.Settings.Notes.Admin
}

// ClusterID names this cluster in the owner notes the operator writes: the
// name given (--cluster-id), else the kube-system namespace's UID, which
// lives as long as the cluster and survives a backup restored into it. It
// is read on first use, not at start, so a manager that cannot read it yet
// still starts, and reports it where it matters.
type ClusterID struct {
	Name   string
	Reader client.Reader

	mu sync.Mutex
}

// Resolve reads the kube-system namespace's UID once, unless a name is set.
func (c *ClusterID) Resolve(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Name != "" {
		return nil
	}
	ns := &corev1.Namespace{}
	if err := c.Reader.Get(ctx, client.ObjectKey{Name: metav1.NamespaceSystem}, ns); err != nil {
		return fmt.Errorf("reading the kube-system namespace's UID, which names this cluster in owner notes (or set --cluster-id): %w", err)
	}
	c.Name = string(ns.UID)
	return nil
}

// String is the cluster's name once resolved.
func (c *ClusterID) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Name
}
