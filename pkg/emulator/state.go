package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// org is the emulated org's state; Server.mu guards it.
type org struct {
	id      string
	apps    ordered[*app]
	groups  ordered[*group]
	users   ordered[*user]
	members map[string]map[string]bool // group ID → user IDs
	// logins indexes users by lower-cased login, so a lookup by login does
	// not scan an org of 100,000 users.
	logins     map[string]string
	idps       ordered[*idp]
	idpKeys    ordered[*jwk]
	appCounter int
	// tokenKid is the key OIDC apps sign tokens with.
	tokenKid string
	policies ordered[*policy]
	// deletedOAuthApps are OIDC apps deleted since start, which Okta
	// names OAuth2AppInstance when they are asked for again.
	deletedOAuthApps map[string]bool
	// defaultAccessPolicy is the system access policy new apps get.
	defaultAccessPolicy string
	// log is the System Log, oldest first.
	log []*logEvent
}

func newOrg(s *Server) *org {
	return &org{
		id:               "00o" + s.randomString(17),
		apps:             newOrdered[*app](),
		groups:           newOrdered[*group](),
		users:            newOrdered[*user](),
		logins:           map[string]string{},
		members:          map[string]map[string]bool{},
		idps:             newOrdered[*idp](),
		idpKeys:          newOrdered[*jwk](),
		policies:         newOrdered[*policy](),
		deletedOAuthApps: map[string]bool{},
		// 43 characters, as a base64url SHA-256 key ID.
		tokenKid: s.randomString(43),
	}
}

// ordered is a map that lists in insertion order, as Okta lists objects.
type ordered[T any] struct {
	byID  map[string]T
	order []string
}

func newOrdered[T any]() ordered[T] { return ordered[T]{byID: map[string]T{}} }

func (o *ordered[T]) put(id string, v T) {
	if _, ok := o.byID[id]; !ok {
		o.order = append(o.order, id)
	}
	o.byID[id] = v
}

func (o *ordered[T]) get(id string) (T, bool) {
	v, ok := o.byID[id]
	return v, ok
}

func (o *ordered[T]) remove(id string) {
	if _, ok := o.byID[id]; !ok {
		return
	}
	delete(o.byID, id)
	for i, x := range o.order {
		if x == id {
			o.order = append(o.order[:i], o.order[i+1:]...)
			break
		}
	}
}

func (o *ordered[T]) list() []T {
	out := make([]T, 0, len(o.order))
	for _, id := range o.order {
		out = append(out, o.byID[id])
	}
	return out
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomString returns n characters of Okta's ID alphabet. Callers hold s.mu
// or are setting up the server.
func (s *Server) randomString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[s.rand.IntN(len(idAlphabet))]
	}
	return string(b)
}

// newID makes an Okta ID: a 3-character type prefix and 17 characters.
func (s *Server) newID(prefix string) string { return prefix + s.randomString(17) }

// timestamp renders a time the way Okta does: UTC, milliseconds always .000.
func timestamp(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05.000Z")
}

// link is one entry of _links.
func link(href string) map[string]any { return map[string]any{"href": href} }

// decodeBody reads a JSON request body into v, answering 400 when it is not
// JSON. It reports whether the handler may go on.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		s.writeError(w, http.StatusBadRequest, errBadJSON)
		return false
	}
	return true
}

// pageQuery is the paging part of a list request.
type pageQuery struct {
	limit int
	after string
}

// parsePage reads limit and after, clamping limit to Okta's range for the
// collection.
func parsePage(r *http.Request, defaultLimit, maxLimit int) pageQuery {
	q := pageQuery{limit: defaultLimit, after: r.URL.Query().Get("after")}
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		q.limit = min(n, maxLimit)
	}
	return q
}

// paginate returns the page of items after the cursor and, when more remain,
// the cursor of the next page (the last returned item's ID).
func paginate[T any](items []T, q pageQuery, idOf func(T) string) ([]T, string) {
	start := 0
	if q.after != "" {
		for i, it := range items {
			if idOf(it) == q.after {
				start = i + 1
				break
			}
		}
	}
	end := min(start+q.limit, len(items))
	page := items[start:end]
	if end < len(items) && len(page) > 0 {
		return page, idOf(page[len(page)-1])
	}
	return page, ""
}

// writeList answers one page of items, rendered, with Okta's Link headers.
func writeList[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T, defaultLimit, maxLimit int,
	idOf func(T) string, render func(T) map[string]any) {
	page := parsePage(r, defaultLimit, maxLimit)
	items, next := paginate(items, page, idOf)
	body := make([]any, 0, len(items))
	for _, it := range items {
		body = append(body, render(it))
	}
	s.writePage(w, r, page, next, body)
}

// writePage answers a list with Okta's Link headers: rel="self" always, and
// rel="next" with the after cursor while more results exist.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, q pageQuery, next string, body any) {
	w.Header().Add("Link", fmt.Sprintf("<%s>; rel=\"self\"", s.pageURL(r, q.after, q.limit)))
	if next != "" {
		w.Header().Add("Link", fmt.Sprintf("<%s>; rel=\"next\"", s.pageURL(r, next, q.limit)))
	}
	writeJSON(w, http.StatusOK, body)
}

// pageURL is the request's URL with the given cursor and limit, in the order
// Okta writes them: after, limit, then the other parameters.
func (s *Server) pageURL(r *http.Request, after string, limit int) string {
	var parts []string
	if after != "" {
		parts = append(parts, "after="+url.QueryEscape(after))
	}
	parts = append(parts, "limit="+strconv.Itoa(limit))
	query := r.URL.Query()
	for _, k := range sortedKeys(query) {
		if k == "after" || k == "limit" {
			continue
		}
		for _, v := range query[k] {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return s.baseURL + r.URL.Path + "?" + strings.Join(parts, "&")
}
