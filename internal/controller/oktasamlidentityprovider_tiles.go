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
// the hub sees the tile. The operator owns these apps: it corrects them and
// deletes those no longer listed.

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
	org, err := r.Orgs.Get(ctx, p.Namespace, string(spoke.app.Spec.OrgRef.SecretName))
	if err != nil {
		return err
	}
	groups, err := org.Client.ListAppGroups(ctx, spoke.app.Status.AppID)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, shared := range p.Spec.SharedApps {
		name := string(shared.Name)
		listed[name] = true
		want, err := r.tile(ctx, p, shared, spoke)
		if err != nil {
			return err
		}
		id, err := ensureBookmark(ctx, org.Client, tiles[name].BookmarkAppID, want, groups)
		if err != nil {
			return err
		}
		tiles[name] = ssov1.SharedAppStatus{Name: name, BookmarkAppID: id, URL: want.Settings.App["url"].(string)}
	}
	for name, t := range tiles { // no longer listed: its tile goes
		if listed[name] {
			continue
		}
		if err := deleteApp(ctx, org.Client, t.BookmarkAppID); err != nil {
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
		Settings: okta.AppSettings{App: map[string]any{"url": spoke.ssoURL + "?RelayState=" + url.QueryEscape(string(values[0])), "requestIntegration": false}}}, nil
}

// ensureBookmark finds the tile (by the ID in status, else by label and
// URL: a run that stopped after creating it), creates or corrects it, and
// assigns it to exactly the Org2Org app's groups.
func ensureBookmark(ctx context.Context, c okta.API, id string, want *okta.App, groups []okta.AppGroupAssignment) (string, error) {
	current, err := findBookmark(ctx, c, id, want)
	if err != nil {
		return "", err
	}
	if current == nil {
		if current, err = c.CreateApp(ctx, want, true); err != nil {
			return "", err
		}
	} else if current.Label != want.Label || current.Settings.App["url"] != want.Settings.App["url"] {
		current.Label, current.Settings.App = want.Label, want.Settings.App
		if current, err = c.UpdateApp(ctx, current); err != nil {
			return "", err
		}
	}
	return current.ID, assignSameGroups(ctx, c, current.ID, groups)
}

func findBookmark(ctx context.Context, c okta.API, id string, want *okta.App) (*okta.App, error) {
	if id != "" {
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
		if found[i].Name == "bookmark" && found[i].Label == want.Label && found[i].Settings.App["url"] == want.Settings.App["url"] {
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
		org, err = r.Orgs.Get(ctx, p.Namespace, string(spokeApp.Spec.OrgRef.SecretName))
	}
	if err != nil {
		r.Recorder.Event(p, corev1.EventTypeWarning, "LeftInOkta", fmt.Sprintf("%d tiles were not deleted in the spoke org, which cannot be reached: %v", len(p.Status.SharedApps), err))
		p.Status.SharedApps = nil
		return nil
	}
	for len(p.Status.SharedApps) > 0 {
		if err := deleteApp(ctx, org.Client, p.Status.SharedApps[0].BookmarkAppID); err != nil {
			return err
		}
		p.Status.SharedApps = p.Status.SharedApps[1:]
	}
	return nil
}
