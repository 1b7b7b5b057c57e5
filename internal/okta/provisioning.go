package okta

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Provisioning to another org: an app's API connection
// (/connections/default), its USER_PROVISIONING feature, and its group push
// mappings. Okta's public API sets these up for Org2Org (and a few catalog
// apps); other apps answer the connection as UNKNOWN.

// ProvisioningConnection is an app's default provisioning connection. The
// token is never answered.
type ProvisioningConnection struct {
	AuthScheme string `json:"authScheme,omitempty"`
	// Status is ENABLED, DISABLED or UNKNOWN (the app cannot provision).
	Status  string `json:"status"`
	Profile struct {
		AuthScheme string `json:"authScheme"`
	} `json:"profile"`
}

// Connection statuses.
const (
	ConnectionEnabled  = "ENABLED"
	ConnectionDisabled = "DISABLED"
	ConnectionUnknown  = "UNKNOWN"
)

// ProvisioningCapabilities are USER_PROVISIONING's settings: To App's
// create, update (profile push), deactivate, and password sync.
type ProvisioningCapabilities struct {
	Create struct {
		LifecycleCreate EnabledSetting `json:"lifecycleCreate"`
	} `json:"create"`
	Update struct {
		LifecycleDeactivate EnabledSetting  `json:"lifecycleDeactivate"`
		Profile             EnabledSetting  `json:"profile"`
		Password            PasswordSetting `json:"password"`
	} `json:"update"`
}

// EnabledSetting is a capability's status: ENABLED or DISABLED.
type EnabledSetting struct {
	Status string `json:"status"`
}

// Enabled is an EnabledSetting's status for b.
func Enabled(b bool) EnabledSetting {
	if b {
		return EnabledSetting{Status: "ENABLED"}
	}
	return EnabledSetting{Status: "DISABLED"}
}

// PasswordSetting is password sync: Seed RANDOM or OKTA, Change
// KEEP_EXISTING or CHANGE.
type PasswordSetting struct {
	Status string `json:"status"`
	Seed   string `json:"seed,omitempty"`
	Change string `json:"change,omitempty"`
}

// ProvisioningFeature is the USER_PROVISIONING feature of an app.
type ProvisioningFeature struct {
	Name         string                   `json:"name"`
	Status       string                   `json:"status"`
	Capabilities ProvisioningCapabilities `json:"capabilities"`
}

// GroupPushMapping pushes a group of the app's org to a group of the org
// it provisions.
type GroupPushMapping struct {
	ID            string `json:"id,omitempty"`
	SourceGroupID string `json:"sourceGroupId"`
	TargetGroupID string `json:"targetGroupId,omitempty"`
	// Status is ACTIVE, INACTIVE or ERROR (with ErrorSummary).
	Status       string `json:"status,omitempty"`
	ErrorSummary string `json:"errorSummary,omitempty"`
}

// NewGroupPushMapping asks for a mapping to a hub group by ID, or by name
// (linked to the hub group of that name, or made by the first push).
type NewGroupPushMapping struct {
	SourceGroupID   string `json:"sourceGroupId"`
	TargetGroupID   string `json:"targetGroupId,omitempty"`
	TargetGroupName string `json:"targetGroupName,omitempty"`
	Status          string `json:"status,omitempty"`
}

func appPath(appID, rest string) string { return "/api/v1/apps/" + url.PathEscape(appID) + rest }

// ProvisioningConnection reads the app's default provisioning connection.
func (c *Client) ProvisioningConnection(ctx context.Context, appID string) (*ProvisioningConnection, error) {
	var out ProvisioningConnection
	_, err := c.do(ctx, call{method: http.MethodGet, path: appPath(appID, "/connections/default"), idempotent: true}, &out)
	return &out, err
}

// SetProvisioningToken sets the connection's token; with activate, Okta
// tests the connection and enables it only when the other side answers.
func (c *Client) SetProvisioningToken(ctx context.Context, appID, token string, activate bool) (*ProvisioningConnection, error) {
	body := map[string]any{"profile": map[string]any{"authScheme": "TOKEN", "token": token}}
	var out ProvisioningConnection
	_, err := c.do(ctx, call{method: http.MethodPost, path: appPath(appID, "/connections/default"),
		query: url.Values{"activate": {strconv.FormatBool(activate)}}, body: body, idempotent: true}, &out)
	return &out, err
}

// SetProvisioningConnectionActive activates (after Okta tests it) or
// deactivates the connection.
func (c *Client) SetProvisioningConnectionActive(ctx context.Context, appID string, active bool) error {
	op := "/connections/default/lifecycle/deactivate"
	if active {
		op = "/connections/default/lifecycle/activate"
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: appPath(appID, op), idempotent: true}, nil)
	return err
}

// ListAppFeatures lists the app's features; Okta refuses it (400) while
// the app has no enabled provisioning connection.
func (c *Client) ListAppFeatures(ctx context.Context, appID string) ([]ProvisioningFeature, error) {
	var out []ProvisioningFeature
	_, err := c.do(ctx, call{method: http.MethodGet, path: appPath(appID, "/features"), idempotent: true}, &out)
	return out, err
}

// UserProvisioning reads the app's USER_PROVISIONING feature.
func (c *Client) UserProvisioning(ctx context.Context, appID string) (*ProvisioningFeature, error) {
	var out ProvisioningFeature
	_, err := c.do(ctx, call{method: http.MethodGet, path: appPath(appID, "/features/USER_PROVISIONING"), idempotent: true}, &out)
	return &out, err
}

// SetUserProvisioning replaces the feature's capabilities.
func (c *Client) SetUserProvisioning(ctx context.Context, appID string, caps ProvisioningCapabilities) (*ProvisioningFeature, error) {
	var out ProvisioningFeature
	_, err := c.do(ctx, call{method: http.MethodPut, path: appPath(appID, "/features/USER_PROVISIONING"), body: caps, idempotent: true}, &out)
	return &out, err
}

// ListGroupPushMappings lists the app's group push mappings.
func (c *Client) ListGroupPushMappings(ctx context.Context, appID string) ([]GroupPushMapping, error) {
	return collect[GroupPushMapping](ctx, c, call{path: appPath(appID, "/group-push/mappings"), query: url.Values{"limit": {"1000"}}})
}

// CreateGroupPushMapping pushes a group (not repeated on failure: a lost
// answer could mean the mapping exists; list before trying again).
func (c *Client) CreateGroupPushMapping(ctx context.Context, appID string, m NewGroupPushMapping) (*GroupPushMapping, error) {
	var out GroupPushMapping
	_, err := c.do(ctx, call{method: http.MethodPost, path: appPath(appID, "/group-push/mappings"), body: m}, &out)
	return &out, err
}

// GetGroupPushMapping reads one mapping.
func (c *Client) GetGroupPushMapping(ctx context.Context, appID, mappingID string) (*GroupPushMapping, error) {
	var out GroupPushMapping
	_, err := c.do(ctx, call{method: http.MethodGet, path: appPath(appID, "/group-push/mappings/"+url.PathEscape(mappingID)), idempotent: true}, &out)
	return &out, err
}

// SetGroupPushMappingStatus makes a mapping ACTIVE (a full push follows) or
// INACTIVE.
func (c *Client) SetGroupPushMappingStatus(ctx context.Context, appID, mappingID, status string) (*GroupPushMapping, error) {
	var out GroupPushMapping
	_, err := c.do(ctx, call{method: http.MethodPatch, path: appPath(appID, "/group-push/mappings/"+url.PathEscape(mappingID)),
		body: map[string]string{"status": status}, idempotent: true}, &out)
	return &out, err
}

// DeleteGroupPushMapping deletes an INACTIVE mapping, and the hub group too
// when deleteTarget.
func (c *Client) DeleteGroupPushMapping(ctx context.Context, appID, mappingID string, deleteTarget bool) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: appPath(appID, "/group-push/mappings/"+url.PathEscape(mappingID)),
		query: url.Values{"deleteTargetGroup": {strconv.FormatBool(deleteTarget)}}, idempotent: true}, nil)
	return ignoreNotFound(err)
}

// ProfileMapping maps Okta user attributes to an app's user attributes
// (Okta's Profile Mappings API): for Org2Org, what is pushed to the hub.
type ProfileMapping struct {
	ID         string                      `json:"id"`
	Properties map[string]*MappingProperty `json:"properties,omitempty"`
}

// MappingProperty is one mapped attribute: an Okta expression, pushed on
// create and update (PUSH) or on create only (DONT_PUSH).
type MappingProperty struct {
	Expression string `json:"expression"`
	PushStatus string `json:"pushStatus"`
}

// AppProfileMapping reads the mapping from Okta users to the app's users.
func (c *Client) AppProfileMapping(ctx context.Context, appID string) (*ProfileMapping, error) {
	var list []ProfileMapping
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/mappings", query: url.Values{"targetId": {appID}}, idempotent: true}, &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, &APIError{StatusCode: http.StatusNotFound, Method: http.MethodGet, Path: "/api/v1/mappings", ErrorSummary: "no profile mapping to app " + appID}
	}
	var out ProfileMapping
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/mappings/" + url.PathEscape(list[0].ID), idempotent: true}, &out)
	return &out, err
}

// UpdateProfileMapping sets the properties given; a nil one is removed.
func (c *Client) UpdateProfileMapping(ctx context.Context, mappingID string, properties map[string]*MappingProperty) (*ProfileMapping, error) {
	var out ProfileMapping
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/mappings/" + url.PathEscape(mappingID),
		body: map[string]any{"properties": properties}, idempotent: true}, &out)
	return &out, err
}
