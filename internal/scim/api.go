package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Resource is a SCIM resource (a User or a Group) as JSON holds it; the
// accessors read the attributes every resource has.
type Resource map[string]any

// ID is the service provider's id.
func (r Resource) ID() string { return r.str("id") }

// ExternalID is the client's id for it; AccountSync sets the Okta user ID.
func (r Resource) ExternalID() string { return r.str("externalId") }

// UserName is a User's userName.
func (r Resource) UserName() string { return r.str("userName") }

// DisplayName is a Group's displayName.
func (r Resource) DisplayName() string { return r.str("displayName") }

// Active is a User's active flag; a service provider that leaves it out
// means active.
func (r Resource) Active() bool { return ActiveValue(r["active"]) }

// ActiveValue reads an active attribute as decoded from JSON: a boolean, or
// a string some service providers send; missing means active.
func ActiveValue(active any) bool {
	switch v := active.(type) {
	case bool:
		return v
	case string:
		return !strings.EqualFold(v, "false")
	}
	return true
}

func (r Resource) str(key string) string {
	s, _ := r[key].(string)
	return s
}

// ServiceProviderConfig is what the service provider says it supports.
type ServiceProviderConfig struct {
	Patch, Filter bool
	// MaxResults is the most a list or filter answers at once; 0 if unsaid.
	MaxResults int
}

// ServiceProviderConfig reads /ServiceProviderConfig.
func (c *Client) ServiceProviderConfig(ctx context.Context) (ServiceProviderConfig, error) {
	var raw struct {
		Patch  struct{ Supported bool } `json:"patch"`
		Filter struct {
			Supported  bool `json:"supported"`
			MaxResults int  `json:"maxResults"`
		} `json:"filter"`
	}
	err := c.do(ctx, request{op: "get-config", method: http.MethodGet, path: "/ServiceProviderConfig", repeatable: true}, &raw)
	return ServiceProviderConfig{Patch: raw.Patch.Supported, Filter: raw.Filter.Supported, MaxResults: raw.Filter.MaxResults}, err
}

// ListUsers lists every User matching filter ("" for all) in pages of count
// (100 when zero). See list for how a page is trusted.
func (c *Client) ListUsers(ctx context.Context, filter string, count int) ([]Resource, error) {
	return collect(func(page func([]Resource) error) error {
		return c.list(ctx, "list-users", "/Users", filter, count, page)
	})
}

// ListUserPages lists like ListUsers but hands each page to page as it is
// read, so a caller can keep what it needs of 100,000 accounts without the
// listing being held whole. An error from page stops the listing.
func (c *Client) ListUserPages(ctx context.Context, filter string, count int, page func([]Resource) error) error {
	return c.list(ctx, "list-users", "/Users", filter, count, page)
}

// ListGroups lists every Group matching filter, like ListUsers.
func (c *Client) ListGroups(ctx context.Context, filter string, count int) ([]Resource, error) {
	return collect(func(page func([]Resource) error) error {
		return c.list(ctx, "list-groups", "/Groups", filter, count, page)
	})
}

func collect(list func(page func([]Resource) error) error) ([]Resource, error) {
	var all []Resource
	err := list(func(page []Resource) error {
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// list pages by totalResults, startIndex and the number of Resources each
// page returned (some servers report itemsPerPage wrongly). A listing that
// is cut short (an empty page before totalResults), whose total changes
// while paging, or that repeats a resource is an invalid response, never a
// shorter list: a caller must not take a failed read for an absence.
func (c *Client) list(ctx context.Context, op, path, filter string, count int, handle func([]Resource) error) error {
	if count <= 0 {
		count = defaultCount
	}
	seen := map[string]bool{}
	read, total := 0, -1
	for start := 1; ; {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(count)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		var page struct {
			TotalResults int        `json:"totalResults"`
			Resources    []Resource `json:"Resources"`
		}
		if err := c.do(ctx, request{op: op, method: http.MethodGet, path: path, query: q, repeatable: true}, &page); err != nil {
			return err
		}
		if total >= 0 && page.TotalResults != total {
			return inconsistent(op, "totalResults changed from %d to %d while paging", total, page.TotalResults)
		}
		total = page.TotalResults
		if total > maxListed {
			return inconsistent(op, "totalResults is %d, over the %d a listing reads", total, maxListed)
		}
		for _, r := range page.Resources {
			if seen[r.ID()] {
				return inconsistent(op, "resource %s came twice while paging", r.ID())
			}
			seen[r.ID()] = true
		}
		read += len(page.Resources)
		if read > total {
			return inconsistent(op, "%d resources for a totalResults of %d", read, total)
		}
		if len(page.Resources) == 0 && read < total {
			return inconsistent(op, "the page at startIndex %d was empty with %d of %d resources read", start, read, total)
		}
		if err := handle(page.Resources); err != nil {
			return err
		}
		if read == total {
			return nil
		}
		start += len(page.Resources)
	}
}

func inconsistent(op, format string, args ...any) error {
	return &Error{Op: op, Status: http.StatusOK, Detail: fmt.Sprintf(format, args...), invalidResponse: true}
}

// GetUser reads one User by id.
func (c *Client) GetUser(ctx context.Context, id string) (Resource, error) {
	var out Resource
	err := c.do(ctx, request{op: "get-user", method: http.MethodGet, path: "/Users/" + url.PathEscape(id), repeatable: true}, &out)
	return out, err
}

// CreateUser creates a User. It is never retried: after a lost answer the
// account may exist, so the caller looks it up again before another try.
func (c *Client) CreateUser(ctx context.Context, user Resource) (Resource, error) {
	return c.create(ctx, "create-user", "/Users", UserSchema, user)
}

// CreateGroup creates a Group; never retried, as CreateUser.
func (c *Client) CreateGroup(ctx context.Context, group Resource) (Resource, error) {
	return c.create(ctx, "create-group", "/Groups", GroupSchema, group)
}

func (c *Client) create(ctx context.Context, op, path, schema string, r Resource) (Resource, error) {
	body := withSchema(r, schema)
	var out Resource
	err := c.do(ctx, request{op: op, method: http.MethodPost, path: path, body: body}, &out)
	return out, err
}

// Op is one PATCH operation: add, remove or replace.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// PatchUser applies operations to a User (RFC 7644 section 3.5.2).
func (c *Client) PatchUser(ctx context.Context, id string, ops []Op) (Resource, error) {
	return c.patch(ctx, "patch-user", "/Users/"+url.PathEscape(id), ops)
}

// PatchGroup applies operations to a Group: members are added and removed
// one by one, so a large group is not rewritten for one change.
func (c *Client) PatchGroup(ctx context.Context, id string, ops []Op) (Resource, error) {
	return c.patch(ctx, "patch-group", "/Groups/"+url.PathEscape(id), ops)
}

func (c *Client) patch(ctx context.Context, op, path string, ops []Op) (Resource, error) {
	body := map[string]any{"schemas": []string{patchSchema}, "Operations": ops}
	var out Resource
	err := c.do(ctx, request{op: op, method: http.MethodPatch, path: path, body: body, repeatable: true}, &out)
	return out, err
}

// ReplaceUser replaces a User whole (PUT), for a service provider whose
// /ServiceProviderConfig says PATCH is unsupported.
func (c *Client) ReplaceUser(ctx context.Context, id string, user Resource) (Resource, error) {
	var out Resource
	err := c.do(ctx, request{op: "replace-user", method: http.MethodPut, path: "/Users/" + url.PathEscape(id), body: withSchema(user, UserSchema), repeatable: true}, &out)
	return out, err
}

// withSchema returns r with its core schema listed, leaving r unchanged.
func withSchema(r Resource, schema string) Resource {
	out := make(Resource, len(r)+1)
	for k, v := range r {
		out[k] = v
	}
	if _, ok := out["schemas"]; !ok {
		out["schemas"] = []string{schema}
	}
	return out
}

// EqFilter is a SCIM filter `attr eq "value"`, quoted as RFC 7644 asks.
func EqFilter(attr, value string) string {
	return attr + ` eq "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
}
