package scimtest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
)

// store holds one resource type's resources in creation order.
type store struct {
	mu    sync.Mutex
	order []string
	byID  map[string]map[string]any
	extID map[string]string
	// unique indexes userName (Users) or displayName (Groups), lower-cased,
	// so a create checks uniqueness without a scan (benchmarks hold 100,000).
	unique map[string]string
}

func newStore() *store {
	return &store{byID: map[string]map[string]any{}, extID: map[string]string{}, unique: map[string]string{}}
}

// index records (or, for a removed id, forgets) a resource's unique key.
func (st *store) index(id string, attrs map[string]any) {
	for key, owner := range st.unique {
		if owner == id {
			delete(st.unique, key)
		}
	}
	if attrs != nil {
		if _, v := uniqueKey(attrs); v != "" {
			st.unique[v] = id
		}
	}
}

func (st *store) add(attrs map[string]any, externalID string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	id := newID()
	st.byID[id] = clone(attrs)
	st.extID[id] = externalID
	st.order = append(st.order, id)
	if _, v := uniqueKey(attrs); v != "" {
		st.unique[v] = id
	}
	return id
}

func (st *store) snapshot() map[string]map[string]any {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]map[string]any{}
	for id, attrs := range st.byID {
		a := clone(attrs)
		if ext := st.extID[id]; ext != "" {
			a["externalId"] = ext
		}
		out[id] = a
	}
	return out
}

func (st *store) resource(id string) scim.Resource {
	r := scim.Resource{ID: id, Attributes: clone(st.byID[id])}
	if ext := st.extID[id]; ext != "" {
		r.ExternalID = optional.NewString(ext)
	}
	return r
}

// handler serves one resource type from a store. Uniqueness of userName
// (Users) and displayName (Groups) is enforced, as real service providers do.
type handler struct {
	s     *Server
	store *store
}

func uniqueKey(attrs map[string]any) (string, string) {
	if v, ok := attrs["userName"].(string); ok {
		return "userName", strings.ToLower(v)
	}
	v, _ := attrs["displayName"].(string)
	return "displayName", strings.ToLower(v)
}

func (h *handler) taken(attrs map[string]any, except string) bool {
	_, value := uniqueKey(attrs)
	owner, ok := h.store.unique[value]
	return ok && value != "" && owner != except
}

func (h *handler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	if h.taken(attrs, "") {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	ext, _ := attrs["externalId"].(string)
	delete(attrs, "externalId")
	id := newID()
	h.store.byID[id], h.store.extID[id] = clone(attrs), ext
	h.store.order = append(h.store.order, id)
	if _, v := uniqueKey(attrs); v != "" {
		h.store.unique[v] = id
	}
	return h.store.resource(id), nil
}

func (h *handler) Get(r *http.Request, id string) (scim.Resource, error) {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	if _, ok := h.store.byID[id]; !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return h.store.resource(id), nil
}

func (h *handler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	// Only the page is copied: a listing of 100,000 in pages must not copy
	// every resource for every page.
	matched := h.store.order
	if params.FilterValidator != nil {
		matched = nil
		for _, id := range h.store.order {
			view := make(map[string]any, len(h.store.byID[id])+2)
			for k, v := range h.store.byID[id] {
				view[k] = v
			}
			view["id"] = id
			if ext := h.store.extID[id]; ext != "" {
				view["externalId"] = ext
			}
			if params.FilterValidator.PassesFilter(view) == nil {
				matched = append(matched, id)
			}
		}
	}
	page := scim.Page{TotalResults: len(matched)}
	start := max(params.StartIndex, 1) - 1
	if start < len(matched) {
		for _, id := range matched[start:min(start+params.Count, len(matched))] {
			page.Resources = append(page.Resources, h.store.resource(id))
		}
	}
	return page, nil
}

func (h *handler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	if _, ok := h.store.byID[id]; !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	if h.taken(attrs, id) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	if ext, ok := attrs["externalId"].(string); ok {
		h.store.extID[id] = ext
		delete(attrs, "externalId")
	}
	h.store.byID[id] = clone(attrs)
	h.store.index(id, attrs)
	return h.store.resource(id), nil
}

// Delete is served (the library asks for it), so a test can prove that
// AccountSync never calls it: the request log shows every DELETE.
func (h *handler) Delete(r *http.Request, id string) error {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	if _, ok := h.store.byID[id]; !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	delete(h.store.byID, id)
	h.store.index(id, nil)
	for i, x := range h.store.order {
		if x == id {
			h.store.order = append(h.store.order[:i], h.store.order[i+1:]...)
			break
		}
	}
	return nil
}

// Patch applies add, replace and remove: attribute paths (active,
// name.givenName), a value map with no path, and members added or removed
// by value (members[value eq "id"]).
func (h *handler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	attrs, ok := h.store.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	for _, op := range ops {
		switch {
		case op.Path == nil:
			values, _ := op.Value.(map[string]any)
			for k, v := range values {
				setPath(attrs, k, v)
			}
		case op.Path.AttributePath.AttributeName == "members":
			patchMembers(attrs, strings.ToLower(op.Op), op)
		case strings.EqualFold(op.Op, "remove"):
			deletePath(attrs, op.Path.String())
		default:
			setPath(attrs, op.Path.String(), op.Value)
		}
	}
	if ext, ok := attrs["externalId"].(string); ok { // externalId is kept apart, as Create keeps it
		h.store.extID[id] = ext
		delete(attrs, "externalId")
	}
	if path := patchedPaths(ops); path["userName"] || path["displayName"] {
		h.store.index(id, attrs)
	}
	return h.store.resource(id), nil
}

// patchedPaths are the top-level attributes the operations touch.
func patchedPaths(ops []scim.PatchOperation) map[string]bool {
	out := map[string]bool{}
	for _, op := range ops {
		if op.Path != nil {
			out[op.Path.AttributePath.AttributeName] = true
			continue
		}
		values, _ := op.Value.(map[string]any)
		for k := range values {
			out[k] = true
		}
	}
	return out
}

func patchMembers(attrs map[string]any, op string, p scim.PatchOperation) {
	members, _ := attrs["members"].([]any)
	switch op {
	case "add":
		added, _ := p.Value.([]any)
		members = append(members, added...)
	case "remove":
		target := ""
		if p.Path.ValueExpression != nil {
			if e, ok := p.Path.ValueExpression.(interface{ String() string }); ok {
				target = e.String()
			}
		}
		kept := members[:0]
		for _, m := range members {
			value, _ := m.(map[string]any)["value"].(string)
			if target == "" || !strings.Contains(target, `"`+value+`"`) {
				kept = append(kept, m)
			}
		}
		members = kept
	}
	attrs["members"] = members
}

func setPath(attrs map[string]any, path string, v any) {
	if parent, child, nested := strings.Cut(path, "."); nested {
		m, _ := attrs[parent].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		m[child] = v
		attrs[parent] = m
		return
	}
	attrs[path] = v
}

func deletePath(attrs map[string]any, path string) {
	if parent, child, nested := strings.Cut(path, "."); nested {
		if m, ok := attrs[parent].(map[string]any); ok {
			delete(m, child)
		}
		return
	}
	delete(attrs, path)
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// SortedIDs lists ids in order, for stable test output.
func SortedIDs(m map[string]map[string]any) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
