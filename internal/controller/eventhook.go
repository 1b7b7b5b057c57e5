package controller

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/oktaop/okta-sso-operator/internal/accountsync"
	"github.com/oktaop/okta-sso-operator/internal/drift"
	"github.com/oktaop/okta-sso-operator/internal/okta"
)

// EventHook is the optional endpoint Okta's Event Hooks call: it answers
// the one-time verification, and hands each delivery's events to the same
// incremental passes the System Log follower feeds. Okta is configured
// with one hook per org, at /okta/event-hooks/<org host>, sending Header
// with the shared Secret. The follower stays the safety net: a delivery
// moves no cursor, so a lost, repeated or late one changes nothing in the
// end.
type EventHook struct {
	// Addr is where it listens; TLS is the Ingress's, or CertFile/KeyFile.
	Addr              string
	CertFile, KeyFile string
	// Header is the header Okta sends the secret in; Secret its value for
	// the orgs whose objects set no eventHookSecretRef (nil: none).
	Header string
	Secret []byte
	// OrgSecrets gives the secrets the org objects naming a host set; nil
	// when none does (the Secret above applies).
	OrgSecrets func(ctx context.Context, host string) ([][]byte, error)
	// Follower resolves which syncs an org's events concern.
	Follower *LogFollower
	// Elected is closed once this replica leads (nil: always): only the
	// leader's AccountSync controller drains the queue.
	Elected <-chan struct{}

	seen    recentEvents
	secrets hookSecretCache
}

// hookSecretCache keeps each host's secrets for a minute: a delivery, or a
// caller guessing, costs no API read each time. A rotated secret is taken
// within the minute.
type hookSecretCache struct {
	mu     sync.Mutex
	byHost map[string]cachedSecrets
}

type cachedSecrets struct {
	secrets [][]byte
	at      time.Time
}

const (
	hookSecretTTL  = time.Minute
	maxCachedHosts = 1000
)

func (c *hookSecretCache) get(ctx context.Context, host string, read func(context.Context, string) ([][]byte, error)) ([][]byte, error) {
	c.mu.Lock()
	cached, ok := c.byHost[host]
	c.mu.Unlock()
	if ok && time.Since(cached.at) < hookSecretTTL {
		return cached.secrets, nil
	}
	secrets, err := read(ctx, host)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.byHost == nil || len(c.byHost) >= maxCachedHosts {
		c.byHost = map[string]cachedSecrets{}
	}
	c.byHost[host] = cachedSecrets{secrets: secrets, at: time.Now()}
	c.mu.Unlock()
	return secrets, nil
}

// maxDelivery bounds a delivery's body, and maxDeliveryEvents its events:
// Okta sends at most 50 events a delivery, so a larger one is not Okta's
// and is refused whole (400: not retried), before any is acted on.
const (
	maxDelivery       = 4 << 20
	maxDeliveryEvents = 50
)

// recentEvents remembers the IDs of the events deliveries brought for an
// hour (at most maxRecentEvents), so that an event Okta delivers again
// (a retry, a repeat) is acted on once: each costs Okta reads.
type recentEvents struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

const maxRecentEvents = 100_000

// fresh returns the events not acted on in the last hour.
func (r *recentEvents) fresh(events []okta.LogEvent, now time.Time) []okta.LogEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := events[:0:0]
	for _, e := range events {
		if at, ok := r.ids[e.UUID]; !ok || e.UUID == "" || now.Sub(at) >= time.Hour {
			out = append(out, e)
		}
	}
	return out
}

// actedOn remembers events handed over; only then, so that a delivery that
// failed and comes again is acted on.
func (r *recentEvents) actedOn(events []okta.LogEvent, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil || len(r.ids)+len(events) > maxRecentEvents {
		r.ids = map[string]time.Time{} // forgetting costs a repeat's reads, never a lost event
	}
	for _, e := range events {
		r.ids[e.UUID] = now
	}
}

// hookPath is the prefix of the per-org hook URLs.
const hookPath = "/okta/event-hooks/"

// NeedLeaderElection: every replica serves, so the Service always finds
// one; a replica that does not lead answers deliveries 503 (Okta retries
// once), since only the leader's controller drains the queue.
func (h *EventHook) NeedLeaderElection() bool { return false }

func (h *EventHook) leading() bool {
	if h.Elected == nil {
		return true
	}
	select {
	case <-h.Elected:
		return true
	default:
		return false
	}
}

// Start serves until the context ends.
func (h *EventHook) Start(ctx context.Context) error {
	srv := &http.Server{Addr: h.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	var err error
	if h.CertFile != "" {
		err = srv.ListenAndServeTLS(h.CertFile, h.KeyFile)
	} else {
		err = srv.ListenAndServe()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP answers Okta's verification (GET) and deliveries (POST).
func (h *EventHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, ok := strings.CutPrefix(r.URL.Path, hookPath)
	if !ok || host == "" || strings.Contains(host, "/") {
		http.NotFound(w, r)
		return
	}
	if !h.authorized(r, strings.ToLower(host)) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.Method {
	case http.MethodGet:
		challenge := r.Header.Get("X-Okta-Verification-Challenge")
		if challenge == "" {
			http.Error(w, "no X-Okta-Verification-Challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"verification": challenge})
	case http.MethodPost:
		if !h.leading() {
			http.Error(w, "not the leader; try again", http.StatusServiceUnavailable)
			return
		}
		h.deliver(w, r, host)
	default:
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
	}
}

// authorized compares the secret sent with the org's (its objects'
// eventHookSecretRef, or the manager's own) as SHA-256 digests, in
// constant time: comparing the values themselves would tell a caller the
// secret's length by how long a refusal takes.
func (h *EventHook) authorized(r *http.Request, host string) bool {
	secrets := [][]byte{h.Secret}
	if h.OrgSecrets != nil {
		own, err := h.secrets.get(r.Context(), host, h.OrgSecrets)
		if err != nil {
			return false
		}
		if own != nil {
			secrets = own
		}
	}
	sent := sha256.Sum256([]byte(r.Header.Get(h.Header)))
	ok := 0
	for _, s := range secrets {
		want := sha256.Sum256(s)
		ok |= subtle.ConstantTimeCompare(sent[:], want[:]) & boolInt(len(s) > 0)
	}
	return ok == 1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// delivery is what Okta posts: a batch of LogEvents.
type delivery struct {
	Data struct {
		Events []okta.LogEvent `json:"events"`
	} `json:"data"`
}

func (h *EventHook) deliver(w http.ResponseWriter, r *http.Request, host string) {
	var d delivery
	if err := json.NewDecoder(io.LimitReader(r.Body, maxDelivery)).Decode(&d); err != nil {
		http.Error(w, "not an event hook delivery", http.StatusBadRequest)
		return
	}
	if len(d.Data.Events) > maxDeliveryEvents {
		http.Error(w, "more events than Okta sends in one delivery", http.StatusBadRequest)
		return
	}
	events := h.seen.fresh(d.Data.Events, time.Now())
	handed, err := h.Follower.hand(r.Context(), host, events)
	if err != nil {
		logr.FromContextOrDiscard(r.Context()).Info("an event hook delivery could not be handed over; the System Log follower will find its events", "org", host, "error", err.Error())
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	h.seen.actedOn(events, time.Now())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"handed": handed})
}

// hand gives the syncs of the org whose host is host the users the events
// name, and wakes the objects someone else changed in Okta, without moving
// any cursor; it returns how many syncs got work.
func (f *LogFollower) hand(ctx context.Context, host string, events []okta.LogEvent) (int, error) {
	orgs, subs, err := f.subscribers(ctx)
	if err != nil {
		return 0, err
	}
	kept, err := f.keptObjects(ctx, orgs)
	if err != nil {
		return 0, err
	}
	handed := 0
	for orgURL, org := range orgs {
		if u, err := url.Parse(orgURL); err != nil || !strings.EqualFold(u.Host, host) {
			continue
		}
		if k := kept[orgURL]; k != nil {
			touched, _ := drift.Read(events, okta.LogCursor{}, org.Client.MadeChange)
			f.wakeTouched(ctx, k, touched)
		}
		for _, s := range subs[orgURL] {
			followed := accountsync.Follow(events, s.appID, accountsync.Cursor{})
			if len(followed.Users) == 0 {
				continue
			}
			followed.Cursor = f.handedTo(s.key, s.recorded)
			f.Queue.add(s.key, followed)
			handed++
		}
	}
	return handed, nil
}
