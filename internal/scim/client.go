// Package scim is a SCIM 2.0 client (RFC 7643, RFC 7644) for AccountSync:
// the service provider's Users and Groups, listed in pages, created, patched
// and deactivated (never deleted: the client has no delete).
//
// Its contract, like the Okta client's: errors are typed (IsNotFound,
// IsUniqueness, IsAuth, IsRateLimited, IsInvalid with the scimType), reads
// and PATCH/PUT are retried after a 5xx or a 429 (honouring Retry-After), a
// POST is never retried (a lost answer could mean the account exists: the
// caller looks it up again first), every request has a timeout, and no
// credential ever appears in an error, a log or a metric.
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Schema URNs.
const (
	UserSchema   = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema  = "urn:ietf:params:scim:schemas:core:2.0:Group"
	listSchema   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	patchSchema  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	errorSchema  = "urn:ietf:params:scim:api:messages:2.0:Error"
	contentType  = "application/scim+json"
	defaultCount = 100
	// maxAnswerBytes bounds what one answer may cost the manager: a page of
	// defaultCount accounts is some 100 KiB; a target answering more is
	// refused, and nothing more of it is read.
	maxAnswerBytes = 2 << 20
	// maxDetailChars is as much of a SCIM error's detail as is kept: the
	// target is a team's, and what it says reaches status, events and logs.
	maxDetailChars = 200
	// maxListed is the most resources a listing reads, whatever the
	// target's totalResults says.
	maxListed = 1_000_000
)

// Auth types, as spec.target.scim.authType names them.
const (
	AuthBearer = "Bearer"
	AuthBasic  = "Basic"
)

// Config is how to reach one SCIM service provider.
type Config struct {
	// BaseURL is the SCIM root, e.g. https://backup.example.com/scim/v2.
	BaseURL string
	// AuthType is Bearer (Token is the bearer token) or Basic (Token is
	// user:password).
	AuthType, Token string
	// Timeout per request; 30 s when zero.
	Timeout time.Duration
	// Retries after a 5xx or 429 for requests that may be repeated; 3 when
	// zero, none when negative.
	Retries int
	// RetryBaseDelay starts the exponential backoff; 250 ms when zero.
	RetryBaseDelay time.Duration
	// Dial makes the connections: the operator's egress check, so that a
	// target reaches only what the namespace's org allows. No proxy is used
	// with it, so that the check sees the real address.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Transport overrides the HTTP transport (tests count requests).
	Transport http.RoundTripper
}

// Client talks to one SCIM service provider.
type Client struct {
	base    *url.URL
	auth    string
	http    *http.Client
	retries int
	delay   time.Duration
	target  string // host, for metrics
}

// New checks the configuration and returns a client.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "https" && !(base.Scheme == "http" && isLoopback(base.Hostname()))) {
		return nil, fmt.Errorf("scim: %q is not an https URL (plain http only for loopback)", cfg.BaseURL)
	}
	if cfg.Token == "" {
		return nil, errors.New("scim: no credential")
	}
	var auth string
	switch cfg.AuthType {
	case AuthBearer, "":
		auth = "Bearer " + cfg.Token
	case AuthBasic:
		if !strings.Contains(cfg.Token, ":") {
			return nil, errors.New("scim: a Basic credential is user:password")
		}
		auth = "Basic " + basicAuth(cfg.Token)
	default:
		return nil, fmt.Errorf("scim: auth type %q: want Bearer or Basic", cfg.AuthType)
	}
	c := &Client{base: base, auth: auth, retries: cfg.Retries, delay: cfg.RetryBaseDelay, target: base.Host}
	if c.retries == 0 {
		c.retries = 3
	} else if c.retries < 0 {
		c.retries = 0
	}
	if c.delay == 0 {
		c.delay = 250 * time.Millisecond
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	transport := cfg.Transport
	if transport == nil && cfg.Dial != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext, t.Proxy = cfg.Dial, nil
		transport = t
	} else if transport == nil {
		transport = http.DefaultTransport
	}
	c.http = &http.Client{Transport: transport, Timeout: timeout,
		// A redirect could carry the credential to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c, nil
}

// request is one SCIM call: op names it for metrics and errors.
type request struct {
	op, method, path string
	query            url.Values
	body             any
	// repeatable requests are retried after a 5xx or a 429.
	repeatable bool
}

// do sends the request, retrying as allowed, and decodes the answer into out.
func (c *Client) do(ctx context.Context, req request, out any) error {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return fmt.Errorf("scim %s: encoding the request: %w", req.op, err)
		}
	}
	for attempt := 0; ; attempt++ {
		body, err := c.attempt(ctx, req, payload)
		if err == nil {
			if out != nil && len(body) > 0 {
				if jerr := json.Unmarshal(body, out); jerr != nil {
					return &Error{Op: req.op, Status: http.StatusOK, Detail: "the answer is not SCIM JSON: " + jerr.Error(), invalidResponse: true}
				}
			}
			return nil
		}
		var e *Error
		if !req.repeatable || attempt >= c.retries || !errors.As(err, &e) || !e.retryable() {
			return err
		}
		wait := backoff(c.delay, attempt)
		if e.RetryAfter > 0 {
			wait = e.RetryAfter
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func (c *Client) attempt(ctx context.Context, req request, payload []byte) ([]byte, error) {
	u := *c.base
	u.Path = c.base.Path + req.path
	u.RawQuery = req.query.Encode()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Authorization", c.auth)
	hr.Header.Set("Accept", contentType)
	if payload != nil {
		hr.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := c.http.Do(hr)
	if err != nil {
		observe(c.target, req.op, "error", start)
		if refused := refusal(err); refused != nil {
			return nil, &Error{Op: req.op, Detail: refused.Error(), refused: refused}
		}
		return nil, &Error{Op: req.op, Detail: noAnswer(err), unavailable: true}
	}
	defer resp.Body.Close()
	observe(c.target, req.op, strconv.Itoa(resp.StatusCode), start)
	tooLarge := &Error{Op: req.op, Status: resp.StatusCode, Detail: fmt.Sprintf("the answer is over %d MiB; nothing more was read", maxAnswerBytes>>20), invalidResponse: true}
	if resp.ContentLength > maxAnswerBytes {
		return nil, tooLarge // said so up front: nothing is read
	}
	// A buffer that doubles holds at most twice the cap on the way; reading
	// all with append's smaller steps costs several times it.
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswerBytes+1)); err != nil {
		return nil, &Error{Op: req.op, Status: resp.StatusCode, Detail: "the answer broke off", unavailable: true}
	}
	if buf.Len() > maxAnswerBytes {
		return nil, tooLarge
	}
	data := buf.Bytes()
	if resp.StatusCode >= 300 {
		return nil, errorFrom(req.op, resp, data)
	}
	return data, nil
}

// backoff is exponential with full jitter, capped at 10 s.
func backoff(base time.Duration, attempt int) time.Duration {
	d := min(base<<attempt, 10*time.Second)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// refusal finds the egress check's refusal in a transport error, or nil.
func refusal(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if r, ok := e.(interface{ Refused() bool }); ok && r.Refused() {
			return e
		}
	}
	return nil
}

// noAnswer says why no answer came without the transport's words: they
// name addresses, ports and certificates of the network the manager sits
// in, which a team pointing its target anywhere could read as a scan.
func noAnswer(err error) string {
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		return "no answer within the timeout"
	}
	return "no answer: the connection could not be made or broke off"
}
