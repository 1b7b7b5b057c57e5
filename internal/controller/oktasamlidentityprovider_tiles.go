package controller

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// Tiles for hub apps in the spoke: the Org2Org guide's bookmark apps. Each
// spec.sharedApps entry is a bookmark app in the spoke org whose URL is the
// spoke app's SSO URL with the hub app's embed link as RelayState, assigned
// to the groups the spoke's Org2Org app is assigned to, so whoever may go to
// the hub sees the tile. The operator owns these apps, and each carries its
// owner note naming this IdP object: it corrects them and deletes those no
// longer listed, and never a bookmark app without that note.

// shareApps keeps the spoke's tiles. Status always holds every tile that
// exists, whatever step failed, so none is forgotten (and left behind).
func (r *OktaSAMLIdentityProviderReconciler) shareApps(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider, spoke spokeTrust) error {
	if spoke.app == nil || (len(p.Spec.SharedApps) == 0 && len(p.Status.SharedApps) == 0) {
		return nil
	}
	tiles := map[string]ssov1.SharedAppStatus{}
	for _, t := range p.Status.SharedApps {
		tiles[t.Name] = t
	}
	defer func() {
		p.Status.SharedApps = nil
		for _, t := range tiles {
			p.Status.SharedApps = append(p.Status.SharedApps, t)
		}
		slices.SortFunc(p.Status.SharedApps, func(a, b ssov1.SharedAppStatus) int { return strings.Compare(a.Name, b.Name) })
	}()
	org, err := r.Orgs.Get(ctx, p.Namespace, spoke.app.Spec.OrgRef)
	if err != nil {
		return err
	}
	ctx = org.Scope(ctx, p.Namespace)
	wants := make([]*okta.App, len(p.Spec.SharedApps))
	for i, shared := range p.Spec.SharedApps { // every tile allowed before the first is written
		if wants[i], err = r.tile(ctx, p, shared, spoke); err != nil {
			return err
		}
		if err := org.Tenant.CheckLabel(wants[i].Label); err != nil {
			return err
		}
	}
	groups, err := org.Client.ListAppGroups(ctx, spoke.app.Status.AppID)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for i, shared := range p.Spec.SharedApps {
		name := string(shared.Name)
		listed[name] = true
		want := wants[i]
		id, err := ensureBookmark(ctx, org.Client, tiles[name].BookmarkAppID, want, r.tileOwner(p), groups)
		if err != nil {
			return err
		}
		tiles[name] = ssov1.SharedAppStatus{Name: name, BookmarkAppID: id, URL: want.Settings.App["url"].(string)}
	}
	for name, t := range tiles { // no longer listed: its tile goes
		if listed[name] {
			continue
		}
		if err := r.deleteTile(ctx, org.Client, p, t.BookmarkAppID); err != nil {
			return err
		}
		delete(tiles, name)
	}
	return nil
}

// tile is the bookmark app a shared hub app gets in the spoke.
func (r *OktaSAMLIdentityProviderReconciler) tile(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider, shared ssov1.SharedApp, spoke spokeTrust) (*okta.App, error) {
	hubApp := &ssov1.OktaSAMLApp{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: string(shared.Name)}, hubApp); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, &errDependency{fmt.Sprintf("sharedApps: OktaSAMLApp %s/%s not found", p.Namespace, shared.Name)}
		}
		return nil, err
	}
	if hubApp.Status.ConnectionSecretName == "" {
		return nil, &errDependency{fmt.Sprintf("sharedApps: OktaSAMLApp %s/%s has no app in the hub yet", p.Namespace, shared.Name)}
	}
	values, err := secretValues(ctx, r.APIReader, p.Namespace, hubApp.Status.ConnectionSecretName, keyIDPInitiated)
	if err != nil {
		return nil, &errDependency{fmt.Sprintf("sharedApps: the hub app %s has not published its embed link yet: %v", shared.Name, err)}
	}
	return &okta.App{Name: "bookmark", Label: orDefault(shared.Label, hubApp.Spec.Label), SignOnMode: okta.SignOnModeBookmark,
		Settings: okta.AppSettings{App: map[string]any{"url": spoke.ssoURL + "?RelayState=" + url.QueryEscape(string(values[0])), "requestIntegration": false},
			Notes: &okta.AppNotes{Admin: ptrTo(r.tileOwner(p).line())}}}, nil
}

// tileOwner is this IdP object as its tiles' owner note names it.
func (r *OktaSAMLIdentityProviderReconciler) tileOwner(p *ssov1.OktaSAMLIdentityProvider) owner {
	return owner{kind: "OktaSAMLIdentityProvider", namespace: p.Namespace, name: p.Name, cluster: r.Cluster.String(), origin: ssov1.OriginCreated}
}

// deleteTile deletes a tile whose owner note names this IdP object; one
// without it (the note removed, the ID reused by hand) is left alone.
func (r *OktaSAMLIdentityProviderReconciler) deleteTile(ctx context.Context, c okta.API, p *ssov1.OktaSAMLIdentityProvider, id string) error {
	tile, err := c.GetApp(ctx, id)
	if okta.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if noted, _, ok := parseOwner(adminNote(tile)); !ok || !sameObject(noted, r.tileOwner(p)) {
		r.Recorder.Event(p, corev1.EventTypeWarning, "LeftInOkta", "Bookmark app "+id+" does not carry this object's owner note; it was left in the spoke org")
		return nil
	}
	return deleteApp(ctx, c, id)
}

// ensureBookmark finds the tile (by the ID in status, else by label, URL and
// owner note: a run that stopped after creating it), creates or corrects
// it, and assigns it to exactly the Org2Org app's groups.
func ensureBookmark(ctx context.Context, c okta.API, id string, want *okta.App, me owner, groups []okta.AppGroupAssignment) (string, error) {
	current, err := findBookmark(ctx, c, id, want, me)
	if err != nil {
		return "", err
	}
	if current == nil {
		if current, err = c.CreateApp(ctx, want, true); err != nil {
			return "", err
		}
	} else if current.Label != want.Label || current.Settings.App["url"] != want.Settings.App["url"] || adminNote(current) != adminNote(want) {
		current.Label, current.Settings.App, current.Settings.Notes = want.Label, want.Settings.App, want.Settings.Notes
		if current, err = c.UpdateApp(ctx, current); err != nil {
			return "", err
		}
	}
	return current.ID, assignSameGroups(ctx, c, current.ID, groups)
}

func findBookmark(ctx context.Context, c okta.API, id string, want *okta.App, me owner) (*okta.App, error) {
	if id != "" { // recorded in status: only the operator writes it
		app, err := c.GetApp(ctx, id)
		if err == nil || !okta.IsNotFound(err) {
			return app, err
		}
	}
	found, err := c.ListApps(ctx, okta.AppQuery{Q: want.Label})
	if err != nil {
		return nil, err
	}
	for i := range found {
		noted, _, ours := parseOwner(adminNote(&found[i]))
		if ours && sameObject(noted, me) && found[i].Name == "bookmark" && found[i].Label == want.Label && found[i].Settings.App["url"] == want.Settings.App["url"] {
			return &found[i], nil
		}
	}
	return nil, nil
}

func assignSameGroups(ctx context.Context, c okta.API, appID string, groups []okta.AppGroupAssignment) error {
	have, err := c.ListAppGroups(ctx, appID)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, g := range groups {
		want[g.ID] = true
	}
	for _, g := range have {
		if !want[g.ID] {
			if err := c.UnassignGroup(ctx, appID, g.ID); err != nil {
				return err
			}
		}
		delete(want, g.ID)
	}
	for id := range want {
		if _, err := c.AssignGroup(ctx, appID, id, okta.AppGroupAssignment{}); err != nil {
			return err
		}
	}
	return nil
}

// removeTiles deletes every tile in status. With the spoke app gone first,
// the spoke org cannot be named any more: the tiles are left, with a warning.
func (r *OktaSAMLIdentityProviderReconciler) removeTiles(ctx context.Context, p *ssov1.OktaSAMLIdentityProvider) error {
	spokeApp := &ssov1.OktaSAMLApp{}
	err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: string(p.Spec.SpokeAppRef.Name)}, spokeApp)
	if client.IgnoreNotFound(err) != nil {
		return err
	}
	var org *Org
	if err == nil {
		org, err = r.Orgs.Get(ctx, p.Namespace, spokeApp.Spec.OrgRef)
	}
	if err != nil {
		r.Recorder.Event(p, corev1.EventTypeWarning, "LeftInOkta", fmt.Sprintf("%d tiles were not deleted in the spoke org, which cannot be reached: %v", len(p.Status.SharedApps), err))
		p.Status.SharedApps = nil
		return nil
	}
	for len(p.Status.SharedApps) > 0 {
		if err := r.deleteTile(ctx, org.Client, p, p.Status.SharedApps[0].BookmarkAppID); err != nil {
			return err
		}
		p.Status.SharedApps = p.Status.SharedApps[1:]
	}
	return nil
}
