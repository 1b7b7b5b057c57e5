package okta

import (
	"sync"
	"time"
)

// ownWrites remembers the X-Okta-Request-Id of every change the operator
// made in one org, for as long as the System Log may take to show it:
// Okta writes a request's ID as the transaction.id of the events it
// caused, so a follower of the log can tell the operator's own changes
// from everyone else's and not wake an object for its own write.
type ownWrites struct {
	mu  sync.Mutex
	ids map[string]time.Time // request ID → when answered
}

// ownWritesKept is how long a request ID is remembered: far longer than a
// poll of the log takes to read an event, short enough to stay small (a
// few thousand writes an hour in a busy org).
const ownWritesKept = time.Hour

// orgWrites holds one ownWrites per org URL, so every client of an org
// shares it, as they share the budget.
var orgWrites sync.Map

func ownWritesFor(orgURL string) *ownWrites {
	w, _ := orgWrites.LoadOrStore(orgURL, &ownWrites{ids: map[string]time.Time{}})
	return w.(*ownWrites)
}

func (w *ownWrites) add(id string, now time.Time) {
	if id == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids[id] = now
	if len(w.ids)%1024 == 0 { // prune now and then, not on every write
		for k, at := range w.ids {
			if now.Sub(at) > ownWritesKept {
				delete(w.ids, k)
			}
		}
	}
}

func (w *ownWrites) has(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.ids[id]
	return ok
}

// MadeChange tells whether a change with this request ID (an event's
// transaction.id) was made by the operator in this org.
func (c *Client) MadeChange(requestID string) bool { return c.writes.has(requestID) }
