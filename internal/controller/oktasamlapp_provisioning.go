package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/okta"
	oktaorg "github.com/oktaop/okta-sso-operator/internal/org"
)

// The Org2Org app's provisioning into the hub, in the order Okta allows
// it: the connection (Okta tests it and enables it only when the hub
// answers), then the USER_PROVISIONING feature, then the group pushes.
// An idle pass reads the connection only; the features and pushes are
// applied again when the spec or the hub's credential changes.

// ensureProvisioning applies spec.provisioning, or turns off what an
// earlier one set up.
func (r *OktaSAMLAppReconciler) ensureProvisioning(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, oktaApp *okta.App) error {
	p := app.Spec.Provisioning
	if p == nil {
		return r.removeProvisioning(ctx, c, app)
	}
	hub, err := r.hub(ctx, app, oktaApp)
	if err != nil {
		return err
	}
	st := app.Status.Provisioning
	if st == nil || st.Hub != hub.URL {
		st = &ssov1.ProvisioningStatus{Hub: hub.URL}
		app.Status.Provisioning = st
	}
	conn, err := c.ProvisioningConnection(ctx, oktaApp.ID)
	if err != nil {
		return provisioningFailed("reading the provisioning connection", err)
	}
	if conn.Status != okta.ConnectionEnabled || st.CredentialVersion != hub.Version {
		if _, err := c.SetProvisioningToken(ctx, oktaApp.ID, hub.Token, true); err != nil {
			st.Connection = conn.Status
			return provisioningFailed("Okta did not enable the provisioning connection to "+hub.URL+" (it tests the connection with the hub's token first)", err)
		}
		st.CredentialVersion, st.AppliedGeneration = hub.Version, 0 // a new connection: the rest again
	}
	st.Connection = okta.ConnectionEnabled
	if st.AppliedGeneration == app.Generation {
		return nil
	}
	if _, err := c.SetUserProvisioning(ctx, oktaApp.ID, capabilitiesOf(p.ToApp)); err != nil {
		return provisioningFailed("setting To App (create, update, deactivate, password)", err)
	}
	if err := mapAttributes(ctx, c, oktaApp.ID, p.Attributes, st); err != nil {
		return err
	}
	if err := r.pushGroups(ctx, c, app, oktaApp.ID, st); err != nil {
		return err
	}
	st.AppliedGeneration = app.Generation
	return nil
}

// hub is the org the connection names, which must be the one the app
// signs in to (its baseUrl): a connection elsewhere would provision an
// org the app does not sign anyone in to.
func (r *OktaSAMLAppReconciler) hub(ctx context.Context, app *ssov1.OktaSAMLApp, oktaApp *okta.App) (*oktaorg.Hub, error) {
	baseURL, _ := oktaApp.Settings.App["baseUrl"].(string)
	conn := app.Spec.Provisioning.Connection
	if conn.OrgRef == nil {
		u, err := okta.CanonicalOrgURL(baseURL)
		if err != nil {
			return nil, &errInvalidSpec{"provisioning: the app has no hub baseUrl to provision (appSettings.baseUrl, or serviceProvider.fromIdentityProviderRef)"}
		}
		// The token goes to the spoke's Okta, which sends it to the baseUrl the
		// spec chose: never an org object's credential (orgRef names those,
		// and checks the hub is the app's).
		token, version, err := oktaorg.OutboundSecretVersion(ctx, r, r.Orgs, app.Namespace, *conn.TokenSecretRef, "provisioning.connection.tokenSecretRef")
		if err != nil {
			return nil, err
		}
		return &oktaorg.Hub{URL: u.String(), Token: strings.TrimSpace(string(token)), Version: version}, nil
	}
	hub, err := r.Orgs.HubByOrg(ctx, app.Namespace, *conn.OrgRef)
	if err != nil {
		return nil, err
	}
	// Spoke users pushed into a hub group get what the hub grants that
	// group: the hub's rule decides which groups a namespace may fill.
	if err := hub.Tenant.CheckGroups("provisioning.groupPush[].hubGroup", pushedGroups(app.Spec.Provisioning, true)); err != nil {
		return nil, err
	}
	if u, err := okta.CanonicalOrgURL(baseURL); err != nil || u.String() != hub.URL {
		return nil, &errInvalidSpec{fmt.Sprintf("provisioning.connection.orgRef names the org at %s, but the app signs in to %q (its baseUrl): provision the org the app signs in to", hub.URL, baseURL)}
	}
	return hub, nil
}

// capabilitiesOf is To App as Okta's USER_PROVISIONING capabilities.
func capabilitiesOf(t ssov1.ToAppProvisioning) okta.ProvisioningCapabilities {
	on := func(b *bool) bool { return b == nil || *b }
	var caps okta.ProvisioningCapabilities
	caps.Create.LifecycleCreate = okta.Enabled(on(t.Create))
	caps.Update.Profile = okta.Enabled(on(t.Update))
	caps.Update.LifecycleDeactivate = okta.Enabled(on(t.Deactivate))
	caps.Update.Password = okta.PasswordSetting{Status: "DISABLED", Seed: "RANDOM", Change: "KEEP_EXISTING"}
	switch t.Password {
	case "Random":
		caps.Update.Password = okta.PasswordSetting{Status: "ENABLED", Seed: "RANDOM", Change: "KEEP_EXISTING"}
	case "Okta":
		caps.Update.Password = okta.PasswordSetting{Status: "ENABLED", Seed: "OKTA", Change: "CHANGE"}
	}
	return caps
}

// mapAttributes maps the spec's attributes in the app's profile mapping,
// and unmaps the ones it mapped before that are no longer listed (never
// one it did not map). One read, and one write when something differs.
func mapAttributes(ctx context.Context, c okta.API, appID string, attrs []ssov1.ProvisioningAttribute, st *ssov1.ProvisioningStatus) error {
	if len(attrs) == 0 && len(st.Attributes) == 0 {
		return nil
	}
	mapping, err := c.AppProfileMapping(ctx, appID)
	if err != nil {
		return provisioningFailed("reading the app's profile mapping", err)
	}
	change := map[string]*okta.MappingProperty{}
	names := make([]string, 0, len(attrs))
	for _, a := range attrs {
		names = append(names, a.Name)
		if cur := mapping.Properties[a.Name]; cur == nil || cur.Expression != a.Expression || cur.PushStatus != "PUSH" {
			change[a.Name] = &okta.MappingProperty{Expression: a.Expression, PushStatus: "PUSH"}
		}
	}
	for _, old := range st.Attributes {
		if !slices.Contains(names, old) {
			change[old] = nil
		}
	}
	if len(change) > 0 {
		if _, err := c.UpdateProfileMapping(ctx, mapping.ID, change); err != nil {
			return provisioningFailed("mapping the attributes pushed to the hub", err)
		}
	}
	slices.Sort(names)
	st.Attributes = names
	return nil
}

// pushGroups keeps one ACTIVE mapping per listed spoke group (found by its
// source group first, so a restart makes no second one) and removes the
// mappings of groups no longer listed, which this app's status recorded:
// never a mapping someone else made.
func (r *OktaSAMLAppReconciler) pushGroups(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp, appID string, st *ssov1.ProvisioningStatus) error {
	mappings, err := c.ListGroupPushMappings(ctx, appID)
	if err != nil {
		return provisioningFailed("listing the group pushes", err)
	}
	bySource := map[string]okta.GroupPushMapping{}
	for _, m := range mappings {
		bySource[m.SourceGroupID] = m
	}
	var statuses []ssov1.GroupPushStatus
	for _, rule := range app.Spec.Provisioning.GroupPush {
		s, err := pushGroup(ctx, c, appID, rule, bySource)
		if err != nil {
			return err
		}
		statuses = append(statuses, s)
	}
	for _, old := range st.GroupPush {
		listed := slices.ContainsFunc(app.Spec.Provisioning.GroupPush, func(g ssov1.GroupPushRule) bool { return g.Group == old.Group })
		if listed || old.MappingID == "" {
			continue
		}
		if err := removeMapping(ctx, c, appID, old.MappingID, app.Spec.Provisioning.RemovedGroups == "Delete"); err != nil {
			return provisioningFailed("removing the group push of "+old.Group, err)
		}
	}
	st.GroupPush = statuses
	return nil
}

func pushGroup(ctx context.Context, c okta.API, appID string, rule ssov1.GroupPushRule, bySource map[string]okta.GroupPushMapping) (ssov1.GroupPushStatus, error) {
	hubGroup := orDefault(rule.HubGroup, rule.Group)
	s := ssov1.GroupPushStatus{Group: rule.Group, HubGroup: hubGroup}
	group, err := c.FindGroupByName(ctx, rule.Group)
	if okta.IsNotFound(err) {
		s.Status, s.Message = "Pending", "no group "+rule.Group+" in the app's org yet"
		return s, nil
	}
	if err != nil {
		return s, err
	}
	m, ok := bySource[group.ID]
	if !ok {
		made, err := c.CreateGroupPushMapping(ctx, appID, okta.NewGroupPushMapping{SourceGroupID: group.ID, TargetGroupName: hubGroup, Status: "ACTIVE"})
		if err != nil {
			return s, provisioningFailed("pushing group "+rule.Group, err)
		}
		m = *made
	} else if m.Status != "ACTIVE" {
		updated, err := c.SetGroupPushMappingStatus(ctx, appID, m.ID, "ACTIVE")
		if err != nil {
			return s, provisioningFailed("activating the push of group "+rule.Group, err)
		}
		m = *updated
	}
	s.MappingID, s.Status, s.Message = m.ID, m.Status, m.ErrorSummary
	return s, nil
}

// removeMapping stops a push and deletes its mapping (Okta deletes only an
// INACTIVE one), and the hub group with it when asked.
func removeMapping(ctx context.Context, c okta.API, appID, mappingID string, deleteHubGroup bool) error {
	if _, err := c.SetGroupPushMappingStatus(ctx, appID, mappingID, "INACTIVE"); err != nil && !okta.IsNotFound(err) {
		return err
	}
	return c.DeleteGroupPushMapping(ctx, appID, mappingID, deleteHubGroup)
}

// removeProvisioning turns off a connection an earlier spec set up, and
// removes the group pushes it made (keeping the hub groups): the hub's
// users stay as they are.
func (r *OktaSAMLAppReconciler) removeProvisioning(ctx context.Context, c okta.API, app *ssov1.OktaSAMLApp) error {
	st := app.Status.Provisioning
	if st == nil {
		return nil
	}
	for _, g := range st.GroupPush {
		if g.MappingID != "" {
			if err := removeMapping(ctx, c, app.Status.AppID, g.MappingID, false); err != nil {
				return provisioningFailed("removing the group push of "+g.Group, err)
			}
		}
	}
	if err := c.SetProvisioningConnectionActive(ctx, app.Status.AppID, false); err != nil && !okta.IsNotFound(err) {
		return provisioningFailed("turning off the provisioning connection", err)
	}
	app.Status.Provisioning = nil
	return nil
}

// provisioningFailed is a refused provisioning step, with Okta's words; a
// rate limit stays a rate limit.
func provisioningFailed(step string, err error) error {
	if _, limited := okta.IsRateLimited(err); limited || okta.IsAuth(err) {
		return err
	}
	return &errCondition{reason: ssov1.ProvisioningFailedReason, transient: true, msg: "Provisioning into the hub: " + step + ": " + err.Error()}
}
