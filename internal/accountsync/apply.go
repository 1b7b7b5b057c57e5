package accountsync

import (
	"context"
	"sync"

	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// Target is what applying a plan needs of a SCIM service provider.
type Target interface {
	CreateUser(ctx context.Context, user scim.Resource) (scim.Resource, error)
	PatchUser(ctx context.Context, id string, ops []scim.Op) (scim.Resource, error)
	ReplaceUser(ctx context.Context, id string, user scim.Resource) (scim.Resource, error)
	ListUsers(ctx context.Context, filter string, count int) ([]scim.Resource, error)
}

var _ Target = (*scim.Client)(nil)

// Applied counts what a plan's writes did.
type Applied struct {
	Created, Updated, Deactivated, Reactivated, Failed int
	// Accounts are the accounts this run created or linked, by Okta user ID.
	Accounts map[string]string
	// Err is the failure that stopped the writes (the target down, the
	// credential refused): the rest were not sent.
	Err error
}

// Apply sends the plan's writes, at most concurrency at once: creates,
// updates and reactivations, then deactivations. A write the service
// provider refuses (400) fails that account only; a target that stops
// answering stops the run. Nothing is ever deleted. With no PATCH support
// (per /ServiceProviderConfig), changes are sent as a PUT of the whole
// account as listed.
func Apply(ctx context.Context, t Target, config scim.ServiceProviderConfig, plan Plan, accounts []Attributes, concurrency int) Applied {
	w := &writer{t: t, patch: config.Patch}
	if !w.patch { // a PUT sends the whole account
		w.accounts = make(map[string]Attributes, len(accounts))
		for _, a := range accounts {
			w.accounts[a.ID()] = a
		}
	}
	w.done.Accounts = map[string]string{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var jobs []func(context.Context) (*int, error)
	for _, c := range plan.Create {
		jobs = append(jobs, func(ctx context.Context) (*int, error) { return w.create(ctx, c) })
	}
	for _, u := range plan.Update {
		jobs = append(jobs, func(ctx context.Context) (*int, error) { return &w.done.Updated, w.change(ctx, u.AccountID, u.Ops) })
	}
	for _, c := range plan.Reactivate {
		jobs = append(jobs, func(ctx context.Context) (*int, error) {
			return &w.done.Reactivated, w.setActive(ctx, c.AccountID, true)
		})
	}
	w.run(ctx, cancel, jobs, concurrency)
	if w.done.Err == nil {
		var deactivations []func(context.Context) (*int, error)
		for _, c := range plan.Deactivate {
			deactivations = append(deactivations, func(ctx context.Context) (*int, error) {
				return &w.done.Deactivated, w.setActive(ctx, c.AccountID, false)
			})
		}
		w.run(ctx, cancel, deactivations, concurrency)
	}
	return w.done
}

type writer struct {
	t     Target
	patch bool
	// accounts are the listed accounts by id, whole, for PUTs (no PATCH).
	accounts map[string]Attributes

	mu   sync.Mutex
	done Applied
}

// run runs jobs with bounded concurrency; each returns the counter its
// success adds to.
func (w *writer) run(ctx context.Context, cancel context.CancelFunc, jobs []func(context.Context) (*int, error), concurrency int) {
	slots := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	for _, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			counter, err := job(ctx)
			w.mu.Lock()
			defer w.mu.Unlock()
			switch {
			case err == nil:
				*counter++
			case isRefusal(err):
				w.done.Failed++
			case w.done.Err == nil && ctx.Err() == nil:
				w.done.Err = err
				cancel()
			}
		}()
	}
	wg.Wait()
}

// isRefusal: the service provider refused this one write (400, 404, 409 it
// could not be resolved); the run goes on with the others.
func isRefusal(err error) bool {
	_, invalid := scim.IsInvalid(err)
	return invalid || scim.IsNotFound(err) || scim.IsUniqueness(err)
}

// create creates an account. A uniqueness refusal means the account exists
// (made by someone else, or by a run that stopped after its POST): it is
// looked up by userName and linked to the Okta user instead of failing.
func (w *writer) create(ctx context.Context, c Create) (*int, error) {
	created, err := w.t.CreateUser(ctx, c.Resource())
	if err == nil {
		w.linked(c.UserID, created.ID())
	}
	if !scim.IsUniqueness(err) {
		return &w.done.Created, err
	}
	found, lerr := w.t.ListUsers(ctx, scim.EqFilter("userName", c.Attributes.UserName()), 0)
	if lerr != nil {
		return nil, lerr
	}
	if len(found) != 1 || (found[0].ExternalID() != "" && found[0].ExternalID() != c.UserID) {
		return nil, err // another user's account: a failure, never a guess
	}
	if !w.patch {
		w.mu.Lock()
		w.accounts[found[0].ID()] = Keep(found[0], nil)
		w.mu.Unlock()
	}
	w.linked(c.UserID, found[0].ID())
	return &w.done.Updated, w.change(ctx, found[0].ID(), []scim.Op{{Op: "replace", Path: "externalId", Value: c.UserID}})
}

func (w *writer) linked(userID, accountID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done.Accounts[userID] = accountID
}

func (w *writer) setActive(ctx context.Context, id string, active bool) error {
	return w.change(ctx, id, []scim.Op{{Op: "replace", Path: "active", Value: active}})
}

// change sends replace operations as a PATCH, or as a PUT of the account
// with them applied where PATCH is unsupported.
func (w *writer) change(ctx context.Context, id string, ops []scim.Op) error {
	if w.patch {
		_, err := w.t.PatchUser(ctx, id, ops)
		return err
	}
	w.mu.Lock()
	whole := scim.Resource(w.accounts[id].Map())
	w.mu.Unlock()
	for _, op := range ops {
		setAt(whole, op.Path, op.Value)
	}
	delete(whole, "meta")
	_, err := w.t.ReplaceUser(ctx, id, whole)
	return err
}
