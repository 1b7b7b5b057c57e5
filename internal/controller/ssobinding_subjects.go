package controller

import (
	"context"
	"strings"
	"sync"
	"time"

	ssov1 "github.com/oktaop/okta-sso-operator/api/v1alpha1"
	"github.com/oktaop/okta-sso-operator/internal/assign"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// subjectResolver turns group names and user logins into Okta IDs. Found
// IDs are cached per org for the binding interval, so an idle pass over an
// app with many bindings does not look each subject up again; a name not
// found is looked up again on the next pass, so a group created in Okta is
// picked up on its own.
type subjectResolver struct {
	mu  sync.Mutex
	ids map[string]resolvedID // org URL + kind + name
}

type resolvedID struct {
	id      string
	expires time.Time
}

// unresolved is a subject that cannot be assigned, and why.
type unresolved struct {
	subject ssov1.Subject
	why     string // "not found", "deactivated in Okta" ...
}

func (u unresolved) String() string {
	return string(u.subject.Kind) + " " + u.subject.Name + " (" + u.why + ")"
}

func cacheKey(org *Org, s ssov1.Subject) string {
	return org.URL + "\x00" + string(s.Kind) + "\x00" + s.Name
}

// resolve looks up a binding's subjects. A lookup error other than not
// found is returned: a failed read is never taken as an absence.
func (r *subjectResolver) resolve(ctx context.Context, org *Org, subjects []ssov1.Subject, now time.Time, ttl time.Duration) ([]ssov1.ResolvedSubject, []unresolved, error) {
	var found []ssov1.ResolvedSubject
	var missing []unresolved
	for _, s := range subjects {
		id, why, err := r.lookup(ctx, org, s, now, ttl)
		if err != nil {
			return nil, nil, err
		}
		if why != "" {
			missing = append(missing, unresolved{subject: s, why: why})
			continue
		}
		found = append(found, ssov1.ResolvedSubject{Kind: s.Kind, Name: s.Name, ID: id})
	}
	return found, missing, nil
}

func (r *subjectResolver) lookup(ctx context.Context, org *Org, s ssov1.Subject, now time.Time, ttl time.Duration) (id, why string, err error) {
	key := cacheKey(org, s)
	r.mu.Lock()
	cached, ok := r.ids[key]
	r.mu.Unlock()
	if ok && now.Before(cached.expires) {
		return cached.id, "", nil
	}
	switch s.Kind {
	case ssov1.SubjectKindGroup:
		g, err := org.Client.FindGroupByName(ctx, s.Name)
		if okta.IsNotFound(err) {
			return "", "not found", nil
		} else if err != nil {
			return "", "", err
		}
		id = g.ID
	default:
		u, err := org.Client.FindUserByLogin(ctx, s.Name)
		if okta.IsNotFound(err) {
			return "", "not found", nil
		} else if err != nil {
			return "", "", err
		}
		if okta.UserLeft(u.Status) {
			return "", "user is " + strings.ToLower(u.Status) + " in Okta", nil
		}
		id = u.ID
	}
	r.mu.Lock()
	if r.ids == nil {
		r.ids = map[string]resolvedID{}
	}
	r.ids[key] = resolvedID{id: id, expires: now.Add(ttl)}
	r.mu.Unlock()
	return id, "", nil
}

// forget drops a cached ID Okta no longer knows (a group or user deleted in
// Okta), so the next pass looks the name up again.
func (r *subjectResolver) forget(org *Org, s ssov1.Subject) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.ids, cacheKey(org, s))
}

func refOf(s ssov1.ResolvedSubject) assign.Ref {
	if s.Kind == ssov1.SubjectKindGroup {
		return assign.Ref{Kind: assign.Group, ID: s.ID}
	}
	return assign.Ref{Kind: assign.User, ID: s.ID}
}
