package okta

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LogQuery asks for one page of the System Log: from Cursor, the next link
// of the page before (which carries the filter), or, without one, from
// Since with Filter.
type LogQuery struct {
	Since  time.Time
	Filter string
	// Limit is the page size, up to Okta's 1,000; 0 is Okta's 100.
	Limit  int
	Cursor string
}

// LogPage is a page of events, oldest first, and the cursor to poll from
// next: a polling query's next link, which Okta always gives.
type LogPage struct {
	Events []LogEvent
	Next   string
}

// LogEvent is what the operator reads of Okta's LogEvent.
type LogEvent struct {
	UUID      string      `json:"uuid"`
	Published time.Time   `json:"published"`
	EventType string      `json:"eventType"`
	Target    []LogTarget `json:"target"`
	// Transaction is the request that caused the event: its ID is the
	// request's X-Okta-Request-Id.
	Transaction struct {
		ID string `json:"id"`
	} `json:"transaction"`
}

// LogTarget is an event's target: a User, UserGroup, AppInstance, AppUser.
type LogTarget struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
}

// TargetOf returns the event's first target of the type.
func (e LogEvent) TargetOf(kind string) (LogTarget, bool) {
	for _, t := range e.Target {
		if t.Type == kind {
			return t, true
		}
	}
	return LogTarget{}, false
}

// LogEvents reads one page of the System Log (a polling query: no until).
func (c *Client) LogEvents(ctx context.Context, q LogQuery) (LogPage, error) {
	cl := call{method: http.MethodGet, path: "/api/v1/logs", idempotent: true}
	if q.Cursor != "" {
		cl.path, cl.link = q.Cursor, true
	} else {
		cl.query = url.Values{"since": {q.Since.UTC().Format(time.RFC3339Nano)}, "sortOrder": {"ASCENDING"}}
		if q.Filter != "" {
			cl.query.Set("filter", q.Filter)
		}
		if q.Limit > 0 {
			cl.query.Set("limit", strconv.Itoa(q.Limit))
		}
	}
	var page LogPage
	resp, err := c.do(ctx, cl, &page.Events)
	if err != nil {
		return LogPage{}, err
	}
	for _, v := range resp.header.Values("Link") {
		if m := nextLink.FindStringSubmatch(v); m != nil {
			page.Next = m[1]
		}
	}
	return page, nil
}

// LogCursor is a place in the System Log: after the events published at
// Published whose IDs are in IDs (events of one millisecond share a time).
type LogCursor struct {
	Published time.Time
	IDs       map[string]bool
}

// Precedes tells whether the event comes after the cursor.
func (c LogCursor) Precedes(e LogEvent) bool {
	return e.Published.After(c.Published) || (e.Published.Equal(c.Published) && !c.IDs[e.UUID])
}

// Advance moves the cursor to just after the event.
func (c *LogCursor) Advance(e LogEvent) {
	if !e.Published.Equal(c.Published) {
		c.Published, c.IDs = e.Published, map[string]bool{}
	}
	if c.IDs == nil {
		c.IDs = map[string]bool{}
	}
	c.IDs[e.UUID] = true
}

// SortedIDs are the cursor's event IDs in order, for status.
func (c LogCursor) SortedIDs() []string {
	ids := make([]string, 0, len(c.IDs))
	for id := range c.IDs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// EventTypeFilter is the System Log filter for any of the event types.
func EventTypeFilter(types ...string) string {
	terms := make([]string, len(types))
	for i, t := range types {
		terms[i] = "eventType eq " + strconv.Quote(t)
	}
	return strings.Join(terms, " or ")
}
