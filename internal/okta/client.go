// Package okta is the operator's only door to Okta: a small client shaped
// like the domain (apps, keys, assignments, groups, users, identity
// providers), with typed errors, one shared rate-limit budget per org,
// retries with backoff for idempotent calls, and metrics. It never caches
// reads: a controller must see Okta as it is.
package okta

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config says how to reach one Okta org.
type Config struct {
	// OrgURL is the org's base URL, such as https://acme.okta.com.
	OrgURL string
	// APIToken is an SSWS API token. Either it or OAuth must be set.
	APIToken string
	// OAuth is a service app using client credentials with private_key_jwt.
	OAuth *OAuthConfig
	// CABundle is PEM certificates to trust instead of the system's.
	CABundle []byte
	// MaxAPICapacityPercent is the share of each rate-limit bucket the
	// operator may use; 0 means DefaultCapacityPercent.
	MaxAPICapacityPercent int
	// RequestTimeout bounds each attempt; default 30s.
	RequestTimeout time.Duration
	// MaxRetries is how often an idempotent call is retried after a 5xx or
	// a timeout; default 3.
	MaxRetries int
	// RetryBaseDelay is the first backoff; it doubles each retry (with
	// jitter), capped at 5s. Default 250ms.
	RetryBaseDelay time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Budget overrides the org's shared rate-limit budget (tests).
	Budget *Budget
	// Dial makes the connections, when the org's URL is one a namespace
	// chose: it checks where they go (internal/org's egress check). Such a
	// client uses no proxy, so that the check sees the real address.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Client talks to one Okta org. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	auth    authorizer
	budget  *Budget
	writes  *ownWrites
	now     func() time.Time
	timeout time.Duration
	retries int
	backoff time.Duration
	org     string
}

// CanonicalOrgURL is an org URL's one spelling, the org's identity: scheme
// and host in lower case, no default port, no trailing slash. So
// https://ACME.okta.com and https://acme.okta.com:443/ share one budget.
func CanonicalOrgURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("org URL %q: want https://<org>.okta.com (plain http only on loopback)", raw)
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if port := u.Port(); (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		u.Host = u.Hostname()
		if strings.Contains(u.Host, ":") { // an IPv6 literal keeps its brackets
			u.Host = "[" + u.Host + "]"
		}
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("org URL %q: want https://<org>.okta.com (plain http only on loopback)", raw)
	}
	return u, nil
}

// New makes a client for an org.
func New(cfg Config) (*Client, error) {
	base, err := CanonicalOrgURL(cfg.OrgURL)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if len(cfg.CABundle) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CABundle) {
				return nil, errors.New("the CA bundle holds no PEM certificate")
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		if cfg.Dial != nil {
			t.DialContext, t.Proxy = cfg.Dial, nil
		}
		transport = t
	}
	c := &Client{
		base:    base,
		http:    &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		budget:  cfg.Budget,
		now:     cfg.Now,
		timeout: orDefault(cfg.RequestTimeout, 30*time.Second),
		retries: cfg.MaxRetries,
		backoff: orDefault(cfg.RetryBaseDelay, 250*time.Millisecond),
		org:     base.Host,
	}
	if cfg.MaxRetries == 0 {
		c.retries = 3
	}
	if c.budget == nil {
		c.budget = BudgetFor(base.String(), cfg.MaxAPICapacityPercent, cfg.Now)
	}
	c.writes = ownWritesFor(base.String())
	switch {
	case cfg.APIToken != "" && cfg.OAuth != nil:
		return nil, errors.New("set an API token or OAuth client credentials, not both")
	case cfg.APIToken != "":
		c.auth = ssws(cfg.APIToken)
	case cfg.OAuth != nil:
		if c.auth, err = newOAuth(c, *cfg.OAuth); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("no credentials: set an API token or OAuth client credentials")
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// OrgURL returns the org's base URL.
func (c *Client) OrgURL() string { return c.base.String() }

// Budget returns the org's rate-limit budget.
func (c *Client) Budget() *Budget { return c.budget }

// call is one API request.
type call struct {
	method string
	path   string // /api/v1/...; or, with link, a next link the org answered
	query  url.Values
	link   bool
	body   any
	accept string
	// idempotent calls are retried after a 5xx or timeout.
	idempotent bool
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a call with auth, budget, retries and metrics, and decodes a
// successful JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, cl call, out any) (*response, error) {
	resp, err := c.send(ctx, cl)
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.body) > 0 {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return nil, fmt.Errorf("okta %s %s: decoding the answer: %w", cl.method, cl.path, err)
		}
	}
	return resp, nil
}

func (c *Client) send(ctx context.Context, cl call) (*response, error) {
	target, err := c.resolve(cl)
	if err != nil {
		return nil, err
	}
	var payload []byte
	if cl.body != nil {
		if payload, err = json.Marshal(cl.body); err != nil {
			return nil, fmt.Errorf("okta %s %s: encoding the request: %w", cl.method, target.Path, err)
		}
	}
	bucket := BucketOf(cl.method, target.Path)
	reauthorized, renonced := false, false
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(ctx, cl, target, bucket, payload)
		switch {
		case err == nil:
			return resp, nil
		case errors.Is(err, errNewNonce) && !renonced:
			// Okta wants the DPoP proof to carry its new nonce: once more
			// at once, with a fresh proof.
			renonced = true
			continue
		case isUnauthorized(err) && !reauthorized && c.auth.invalidate():
			// An expired or revoked access token: fetch a new one once.
			reauthorized = true
			continue
		case cl.idempotent && attempt < c.retries && retryable(err):
			if werr := c.wait(ctx, attempt); werr != nil {
				return nil, err
			}
			continue
		}
		return nil, err
	}
}

// errNewNonce is an answer asking for the request again with the DPoP
// nonce it carried.
var errNewNonce = errors.New("okta asked for the request again with its new DPoP nonce")

// resolve turns a call's path into a URL of this org; a next link from
// another host is refused so that the credential never leaves the org.
func (c *Client) resolve(cl call) (*url.URL, error) {
	if !cl.link {
		u := *c.base
		u.Path = c.base.Path + cl.path
		u.RawQuery = cl.query.Encode()
		return &u, nil
	}
	// A link the org answered (a next page): absolute, or relative to the
	// org, and never to another host.
	link, err := url.Parse(cl.path)
	if err != nil {
		return nil, fmt.Errorf("okta: refusing a link that is not a URL: %.200s", cl.path)
	}
	u := c.base.ResolveReference(link)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, fmt.Errorf("okta: refusing to follow a link outside the org: %.200s", cl.path)
	}
	return u, nil
}

func (c *Client) attempt(ctx context.Context, cl call, target *url.URL, bucket string, payload []byte) (*response, error) {
	share := ShareOf(ctx)
	if err := c.budget.reserve(bucket, share); err != nil {
		recordRefusal(c.org, share.Namespace, bucket)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, cl.method, target.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	accept := cl.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "okta-sso-operator")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.auth.authorize(ctx, req); err != nil {
		return nil, err
	}

	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		recordRequest(c.org, share.Namespace, bucket, cl.method, "error", c.now().Sub(start))
		return nil, &transportError{method: cl.method, path: target.Path, err: err}
	}
	defer resp.Body.Close()
	body, tooLarge, err := readCapped(resp)
	recordRequest(c.org, share.Namespace, bucket, cl.method, fmt.Sprint(resp.StatusCode), c.now().Sub(start))
	reset := c.budget.observe(bucket, resp.StatusCode, resp.Header)
	if cl.method != http.MethodGet && resp.StatusCode < 300 {
		c.writes.add(resp.Header.Get("X-Okta-Request-Id"), c.now())
	}
	if c.auth.answered(resp) {
		return nil, errNewNonce
	}
	if remaining, ok := c.budget.Remaining(bucket); ok {
		recordRemaining(c.org, bucket, remaining)
	}
	if err != nil {
		return nil, &transportError{method: cl.method, path: target.Path, err: err}
	}
	if tooLarge {
		return nil, fmt.Errorf("okta %s %s: the answer is over %d MiB (Okta's largest pages are a few); nothing more was read", cl.method, target.Path, maxAnswerBytes>>20)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
	}
	apiErr := parseAPIError(cl.method, target.Path, resp.StatusCode, body)
	if resp.StatusCode == http.StatusTooManyRequests {
		apiErr.RetryAt = reset
	}
	return nil, apiErr
}

// maxAnswerBytes bounds an answer: Okta's largest pages (200 apps, 1,000
// log events) are a few MiB, and an org URL may be a team's choice.
const maxAnswerBytes = 8 << 20

// readCapped reads an answer of at most maxAnswerBytes; one its
// Content-Length says is larger is not read at all. The buffer doubles as
// it grows, so it holds at most twice the cap on the way.
func readCapped(resp *http.Response) (body []byte, tooLarge bool, err error) {
	if resp.ContentLength > maxAnswerBytes {
		return nil, true, nil
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswerBytes+1))
	return buf.Bytes(), buf.Len() > maxAnswerBytes, err
}

// maxSummary bounds what of an error's summaries is kept.
const maxSummary = 200

// parseAPIError reads Okta's error body; a body that is not Okta's still
// gives a typed error with the status. Only Okta's summaries are kept, cut
// to maxSummary characters: nothing else of the body is ever copied.
func parseAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{StatusCode: status, Method: method, Path: path}
	var raw struct {
		ErrorCode    string `json:"errorCode"`
		ErrorSummary string `json:"errorSummary"`
		ErrorID      string `json:"errorId"`
		ErrorCauses  []struct {
			ErrorSummary string `json:"errorSummary"`
		} `json:"errorCauses"`
	}
	if json.Unmarshal(body, &raw) == nil {
		e.ErrorCode, e.ErrorSummary, e.ErrorID = cut(raw.ErrorCode), cut(raw.ErrorSummary), cut(raw.ErrorID)
		for _, c := range raw.ErrorCauses[:min(len(raw.ErrorCauses), 10)] {
			e.ErrorCauses = append(e.ErrorCauses, cut(c.ErrorSummary))
		}
	}
	if e.ErrorSummary == "" {
		e.ErrorSummary = http.StatusText(status)
	}
	return e
}

// transportError is a request that got no answer (connection refused,
// timeout). It names the request, never its headers.
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("okta %s %s: %v", e.method, e.path, errors.Unwrap(e.err))
}

func (e *transportError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var refused interface{ Refused() bool }
	if errors.As(err, &refused) && refused.Refused() {
		return false // a connection the egress check refused goes nowhere the next time either
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var e *APIError
	return errors.As(err, &e) && e.StatusCode >= 500
}

func isUnauthorized(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized
}

// wait sleeps the backoff for a retry: base * 2^attempt with full jitter,
// capped at 5 seconds.
func (c *Client) wait(ctx context.Context, attempt int) error {
	d := min(c.backoff<<attempt, 5*time.Second)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var nextLink = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// maxPages bounds a listing: 100,000 users in pages of 500 is 200 pages;
// an answer that names a next page forever is a broken org or a proxy.
const maxPages = 10000

// listAll follows Okta's Link rel="next" pages, decoding each into a page of
// T and handing it to the caller. A next link already followed, or more
// than maxPages, ends the listing with an error instead of going round.
func listAll[T any](ctx context.Context, c *Client, cl call, each func([]T) error) error {
	cl.method, cl.idempotent = http.MethodGet, true
	followed := map[string]bool{}
	for pages := 1; ; pages++ {
		var page []T
		resp, err := c.do(ctx, cl, &page)
		if err != nil {
			return err
		}
		if err := each(page); err != nil {
			return err
		}
		next := ""
		for _, v := range resp.header.Values("Link") {
			if m := nextLink.FindStringSubmatch(v); m != nil {
				next = m[1]
			}
		}
		if next == "" {
			return nil
		}
		if followed[next] || pages >= maxPages {
			return fmt.Errorf("okta: the listing does not end: page %d names %.200s, which was listed already or is past %d pages", pages, next, maxPages)
		}
		followed[next] = true
		cl.path, cl.query, cl.link = next, nil, true
	}
}

// collect lists every item of a paged collection.
func collect[T any](ctx context.Context, c *Client, cl call) ([]T, error) {
	var all []T
	err := listAll(ctx, c, cl, func(page []T) error {
		all = append(all, page...)
		return nil
	})
	return all, err
}

// cut keeps the first maxSummary characters of s.
func cut(s string) string {
	if r := []rune(s); len(r) > maxSummary {
		return string(r[:maxSummary]) + "…"
	}
	return s
}
