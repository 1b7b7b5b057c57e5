package controller

// The OktaSAMLApp's app in Okta: found (by ID, or by its owner note after a
// crash), created without duplicates, kept as the spec says, deleted.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// appChange says what ensureApp did, for the Secret and the events.
type appChange struct{ created, updated bool }

// ensureApp finds the app this object owns (the ID it recorded, an app it
// may attach as attachApp decides, or its owner note after a crash),
// creates it if there is none, puts back what drifted, and sets ACTIVE or
// INACTIVE. Nothing is written to an app before it is owned. A no-op check
// is one GET. existing is the connection Secret, if there is one yet.
func (r *OktaSAMLAppReconciler) ensureApp(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, desired *okta.App, existing *corev1.Secret) (*okta.App, appChange, error) {
	var change appChange
	actual, origin, err := r.findApp(ctx, c, app)
	if err != nil {
		return nil, change, err
	}
	if actual == nil {
		desired.Settings.Notes = &okta.AppNotes{Admin: ptrTo(r.owner(app, ssov1.OriginCreated).line())}
		created, err := r.createApp(ctx, c, app, desired)
		return created, appChange{created: true}, err
	}
	app.Status.AppID, app.Status.Origin = actual.ID, origin
	_, rest, _ := parseOwner(adminNote(actual)) // a person's own note stays after the owner line
	desired.Settings.Notes = &okta.AppNotes{Admin: ptrTo(withOwner(r.owner(app, origin), rest))}
	if !inSync(desired, actual) {
		// The Secret (read uncached) says which generation was applied: a
		// drift from an applied spec is a hand edit. Status could say so
		// too, but a cached copy may not have caught up with it yet.
		handEdit := existing != nil && existing.Annotations[renderedGenAnnotation] == fmt.Sprint(app.Generation)
		if actual, err = c.UpdateApp(ctx, applyDesired(actual, desired)); err != nil {
			return nil, change, fmt.Errorf("updating app %s: %w", app.Status.AppID, err)
		}
		change.updated = true
		if handEdit {
			r.Recorder.Event(app, corev1.EventTypeWarning, ssov1.DriftCorrectedReason, "A change made in Okta by hand was put back to the spec")
		}
	}
	if want := wantStatus(app); actual.Status != want {
		if err := setAppStatus(ctx, c, actual.ID, want); err != nil {
			return nil, change, err
		}
		actual.Status = want
	}
	return actual, change, nil
}

// owner is this object as an app's owner note names it.
func (r *OktaSAMLAppReconciler) owner(app *ssov1.OktaSAMLApp, origin ssov1.Origin) owner {
	return owner{kind: "OktaSAMLApp", namespace: app.Namespace, name: app.Name, cluster: r.Cluster.String(), origin: origin}
}

func wantStatus(app *ssov1.OktaSAMLApp) string {
	if app.IsActive() {
		return okta.StatusActive
	}
	return okta.StatusInactive
}

func setAppStatus(ctx context.Context, c okta.API, id, status string) error {
	if status == okta.StatusActive {
		return c.ActivateApp(ctx, id)
	}
	return c.DeactivateApp(ctx, id)
}

// findApp returns the app this object owns and how it came to: the one in
// status; else the one the annotation names, if attachApp allows it; else,
// with a create pending, the one whose owner note names this object (a
// crash between create and recording the ID). An owned app deleted by hand
// is reported as none (it will be created again); an ID that was never
// owned and is not in the org is refused, and nothing is created.
func (r *OktaSAMLAppReconciler) findApp(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp) (*okta.App, ssov1.Origin, error) {
	// The annotation, or, if a person removed it, the ID status records.
	if id := cmp.Or(app.Annotations[ssov1.AppIDAnnotation], app.Status.AppID); id != "" {
		owned := id == app.Status.AppID
		if !owned {
			if err := r.refuseClaimedApp(ctx, app, id); err != nil {
				return nil, "", err
			}
		}
		actual, err := c.GetApp(ctx, id)
		switch {
		case okta.IsNotFound(err) && owned:
			r.Recorder.Event(app, corev1.EventTypeWarning, ssov1.RecreatedReason, "App "+id+" was deleted in Okta by hand; creating it again")
			return nil, "", nil
		case okta.IsNotFound(err):
			return nil, "", &errInvalidSpec{fmt.Sprintf("app %s, named by the %s annotation, is not in the org of Secret %s: check the ID and spec.orgRef (nothing was created)",
				id, ssov1.AppIDAnnotation, app.Spec.OrgRef.SecretName)}
		case err != nil:
			return nil, "", err
		case owned && app.Annotations[ssov1.AppIDAnnotation] == "":
			// Recorded in status but not on the object (a write that failed,
			// or removed): the annotation is what survives a backup.
			return actual, cmp.Or(app.Status.Origin, ssov1.OriginCreated), r.recordAppID(ctx, app, id)
		case owned:
			return actual, cmp.Or(app.Status.Origin, ssov1.OriginCreated), nil
		}
		adopt, err := readAdoptRequest(app.Annotations)
		if err != nil {
			return nil, "", err
		}
		origin, err := attachApp(actual, r.owner(app, ""), adopt, app.Spec.Preconfigured)
		if err != nil {
			return nil, "", err
		}
		if origin == ssov1.OriginAdopted && app.Status.Origin != ssov1.OriginAdopted {
			r.Recorder.Event(app, corev1.EventTypeNormal, "Adopted", fmt.Sprintf("Adopted app %s (%q), made by hand, as the %s annotation asks", id, actual.Label, ssov1.AdoptAnnotation))
		}
		return actual, origin, nil
	}
	if _, pending := app.Annotations[ssov1.CreatePendingAnnotation]; !pending {
		return nil, "", nil
	}
	candidates, err := c.ListApps(ctx, okta.AppQuery{Q: app.Spec.Label})
	if err != nil {
		return nil, "", err
	}
	me := r.owner(app, ssov1.OriginCreated)
	for i := range candidates {
		if noted, _, ok := parseOwner(adminNote(&candidates[i])); ok && sameObject(noted, me) {
			if err := r.recordAppID(ctx, app, candidates[i].ID); err != nil {
				return nil, "", err
			}
			return &candidates[i], ssov1.OriginCreated, nil
		}
	}
	return nil, "", nil
}

// appIDIndex indexes OktaSAMLApps by the Okta app ID their annotation names.
const appIDIndex = ".metadata.annotations.app-id"

func annotatedAppID(o client.Object) []string {
	if id := o.GetAnnotations()[ssov1.AppIDAnnotation]; id != "" {
		return []string{id}
	}
	return nil
}

// othersNaming lists the OktaSAMLApps, in any namespace, but the one with
// uid, whose annotation names the Okta app id.
func (r *OktaSAMLAppReconciler) othersNaming(ctx context.Context, id string, uid types.UID) ([]ssov1.OktaSAMLApp, error) {
	var list ssov1.OktaSAMLAppList
	if err := r.List(ctx, &list, client.MatchingFields{appIDIndex: id}); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list.Items, func(o ssov1.OktaSAMLApp) bool { return o.UID == uid }), nil
}

// claimedBy names another OktaSAMLApp whose annotation names the app, or ""
// when none does.
func (r *OktaSAMLAppReconciler) claimedBy(ctx context.Context, app *ssov1.OktaSAMLApp, id string) (string, error) {
	others, err := r.othersNaming(ctx, id, app.UID)
	if err != nil || len(others) == 0 {
		return "", err
	}
	return others[0].Namespace + "/" + others[0].Name, nil
}

// refuseClaimedApp refuses to adopt an app another object manages: the two
// would undo each other's changes, and deleting one would delete the other's app.
func (r *OktaSAMLAppReconciler) refuseClaimedApp(ctx context.Context, app *ssov1.OktaSAMLApp, id string) error {
	other, err := r.claimedBy(ctx, app, id)
	if err != nil || other == "" {
		return err
	}
	return errNotOwned("app %s is already managed by OktaSAMLApp %s: remove the %s annotation, or delete that object first (deletionPolicy: Orphan releases the app)",
		id, other, ssov1.AppIDAnnotation)
}

// createThrottled stops a reconcile that would create an app while the
// org's create budget is spent, before it reads anything: with hundreds of
// apps applied at once, those waiting for a window cost nothing.
func createThrottled(ctx context.Context, org *Org, app *ssov1.OktaSAMLApp) error {
	_, pending := app.Annotations[ssov1.CreatePendingAnnotation]
	if app.Annotations[ssov1.AppIDAnnotation] != "" || pending {
		return nil
	}
	if until, throttled := org.Client.Throttled(ctx, okta.BucketApps); throttled {
		return &okta.RateLimitedError{Bucket: okta.BucketApps, RetryAt: until, Local: true}
	}
	return nil
}

// createApp marks the create as pending, creates, and records the ID.
func (r *OktaSAMLAppReconciler) createApp(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, desired *okta.App) (*okta.App, error) {
	if err := patchAnnotations(ctx, r.Client, app, map[string]*string{ssov1.CreatePendingAnnotation: ptrTo(r.Now().UTC().Format(time.RFC3339))}); err != nil {
		return nil, err
	}
	created, err := c.CreateApp(ctx, desired, app.IsActive())
	if okta.IsNotSent(err) {
		// Nothing reached Okta, so there is nothing to look for next time:
		// a search would cost a call from the same scarce bucket.
		if unmark := patchAnnotations(ctx, r.Client, app, map[string]*string{ssov1.CreatePendingAnnotation: nil}); unmark != nil {
			return nil, unmark
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating the app in Okta: %w", err)
	}
	if err := r.recordAppID(ctx, app, created.ID); err != nil {
		return nil, err
	}
	r.Recorder.Event(app, corev1.EventTypeNormal, "Created", "Created app "+created.ID+" in Okta")
	return created, nil
}

// recordAppID records the app this object created: on the object (the
// annotation, which survives a backup), then in status.
func (r *OktaSAMLAppReconciler) recordAppID(ctx context.Context, app *ssov1.OktaSAMLApp, id string) error {
	if err := patchAnnotations(ctx, r.Client, app, map[string]*string{ssov1.AppIDAnnotation: &id, ssov1.CreatePendingAnnotation: nil}); err != nil {
		return err
	}
	app.Status.AppID, app.Status.Origin = id, cmp.Or(app.Status.Origin, ssov1.OriginCreated)
	return nil
}

func ptrTo[T any](v T) *T { return &v }

func deleteApp(ctx context.Context, c okta.API, id string) error {
	if err := c.DeactivateApp(ctx, id); err != nil && !okta.IsNotFound(err) {
		return err
	}
	return c.DeleteApp(ctx, id)
}
