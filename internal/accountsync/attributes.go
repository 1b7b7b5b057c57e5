package accountsync

import (
	"sort"

	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// Attributes are an Okta profile or a SCIM account cut to what a run reads,
// held as a short list sorted by name instead of a map: a run holds one per
// user and one per account, and at 100,000 of each a map of four entries
// costs about three times the list (measured by make bench).
type Attributes []Attribute

// Attribute is one named value as JSON decoded it.
type Attribute struct {
	Name  string
	Value any
}

// Keep copies the attributes of m named in keep (all of them when keep is
// nil).
func Keep(m map[string]any, keep map[string]bool) Attributes {
	size := len(m)
	if keep != nil {
		size = min(size, len(keep))
	}
	out := make(Attributes, 0, size)
	for name, v := range m {
		if keep == nil || keep[name] {
			out = append(out, Attribute{Name: name, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get is the value of the named attribute; nil when there is none.
func (a Attributes) Get(name string) any {
	i := sort.Search(len(a), func(i int) bool { return a[i].Name >= name })
	if i < len(a) && a[i].Name == name {
		return a[i].Value
	}
	return nil
}

// Map is the attributes as JSON holds them: what CEL reads and SCIM sends.
func (a Attributes) Map() map[string]any {
	m := make(map[string]any, len(a))
	for _, attr := range a {
		m[attr.Name] = attr.Value
	}
	return m
}

func (a Attributes) str(name string) string {
	s, _ := a.Get(name).(string)
	return s
}

// ID is the account's id in the service provider.
func (a Attributes) ID() string { return a.str("id") }

// ExternalID is the account's externalId: the Okta user ID once linked.
func (a Attributes) ExternalID() string { return a.str("externalId") }

// UserName is the account's userName.
func (a Attributes) UserName() string { return a.str("userName") }

// Active is the account's active flag, read as scim.Resource reads it.
func (a Attributes) Active() bool { return scim.ActiveValue(a.Get("active")) }
