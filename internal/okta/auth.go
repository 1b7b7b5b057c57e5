package okta

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// authorizer puts the credential on each request.
type authorizer interface {
	// authorize sets Authorization and, for a DPoP-bound token, a fresh
	// DPoP proof for this very request (every attempt gets its own).
	authorize(ctx context.Context, req *http.Request) error
	// answered reads an answer for what the next request needs (a new
	// DPoP nonce) and tells whether this one should go again at once with
	// it (use_dpop_nonce).
	answered(resp *http.Response) bool
	// invalidate drops a cached credential; it reports whether a new one
	// can be fetched (so a 401 is worth one more try).
	invalidate() bool
}

// ssws is an Okta API token.
type ssws string

func (t ssws) authorize(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "SSWS "+string(t))
	return nil
}

func (ssws) answered(*http.Response) bool { return false }

func (ssws) invalidate() bool { return false }

// OAuthConfig is a service app using the client credentials grant with a
// private_key_jwt client assertion, as Okta recommends for service access.
type OAuthConfig struct {
	ClientID string
	// PrivateKeyPEM is the app's RSA private key (PKCS#1 or PKCS#8).
	PrivateKeyPEM []byte
	// KeyID is the kid of the key registered with the app, if any.
	KeyID string
	// Scopes requested; default okta.apps.manage okta.groups.read okta.users.read okta.idps.manage okta.logs.read.
	Scopes []string
}

// DefaultScopes are what the operator's controllers need.
var DefaultScopes = []string{"okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.idps.manage", "okta.logs.read"}

// oauth fetches access tokens and caches them until a minute before expiry.
type oauth struct {
	c        *Client
	clientID string
	key      *rsa.PrivateKey
	keyID    string
	scopes   string

	mu      sync.Mutex
	token   string
	expires time.Time
	// proofs is set once Okta asked for DPoP (the service app requires
	// it): from then on every token is DPoP-bound and every request
	// carries a proof.
	proofs *dpop
	// granted are the scopes the last token was granted.
	granted []string
}

func newOAuth(c *Client, cfg OAuthConfig) (*oauth, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("OAuth client credentials need a client ID")
	}
	key, err := parsePrivateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, err
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	return &oauth{c: c, clientID: cfg.ClientID, key: key, keyID: cfg.KeyID, scopes: strings.Join(scopes, " ")}, nil
}

// parsePrivateKey reads an RSA key; the error never quotes the key.
func parsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("the private key is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("the private key is neither PKCS#1 nor PKCS#8")
	}
	rsaKey, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the private key must be RSA (Okta signs private_key_jwt with RS256)")
	}
	return rsaKey, nil
}

func (o *oauth) authorize(ctx context.Context, req *http.Request) error {
	token, proofs, err := o.accessToken(ctx)
	if err != nil {
		return err
	}
	if proofs == nil {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	proof, err := proofs.proof(req.Method, req.URL, token)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("DPoP", proof)
	return nil
}

// accessToken is the cached token, or a new one, and the proof key it is
// bound to (nil for a Bearer token).
func (o *oauth) accessToken(ctx context.Context) (string, *dpop, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token != "" && o.c.now().Before(o.expires) {
		return o.token, o.proofs, nil
	}
	token, ttl, granted, err := o.fetch(ctx)
	if err != nil {
		return "", nil, err
	}
	o.token, o.expires, o.granted = token, o.c.now().Add(ttl-time.Minute), granted
	return token, o.proofs, nil
}

func (o *oauth) answered(resp *http.Response) bool {
	o.mu.Lock()
	proofs := o.proofs
	o.mu.Unlock()
	return proofs != nil && proofs.observe(resp)
}

// GrantedScopes are the scopes of the client's last OAuth token (none for
// an API token).
func (c *Client) GrantedScopes() []string {
	o, ok := c.auth.(*oauth)
	if !ok {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.granted)
}

// UsesDPoP tells whether the client's token is DPoP-bound (the service
// app requires it).
func (c *Client) UsesDPoP() bool {
	o, ok := c.auth.(*oauth)
	if !ok {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.proofs != nil
}

func (o *oauth) invalidate() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.token = ""
	return true
}

// fetch asks the org's token endpoint for an access token. A service app
// that requires DPoP says so (invalid_dpop_proof): DPoP is turned on and
// the request made again with a proof; a proof without the server's nonce
// is answered use_dpop_nonce with one: the request is made again with it.
// Callers hold o.mu.
func (o *oauth) fetch(ctx context.Context) (string, time.Duration, []string, error) {
	for try := 0; ; try++ {
		token, ttl, granted, err := o.requestToken(ctx)
		var te *TokenError
		if try < 3 && errors.As(err, &te) && te.StatusCode == http.StatusBadRequest {
			switch {
			case te.Code == "invalid_dpop_proof" && o.proofs == nil:
				if o.proofs, err = newDPoP(o.c.now); err != nil {
					return "", 0, nil, err
				}
				continue
			case te.Code == "use_dpop_nonce" && o.proofs != nil:
				continue // observe kept the nonce
			}
		}
		return token, ttl, granted, err
	}
}

// requestToken is one token request.
func (o *oauth) requestToken(ctx context.Context) (string, time.Duration, []string, error) {
	endpoint := o.c.base.String() + "/oauth2/v1/token"
	assertion, err := o.assertion(endpoint)
	if err != nil {
		return "", 0, nil, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {o.scopes},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	const bucket = "/oauth2/v1/token"
	if err := o.c.budget.reserve(bucket, Share{Weight: 1}); err != nil {
		return "", 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.proofs != nil {
		proof, err := o.proofs.proof(http.MethodPost, req.URL, "")
		if err != nil {
			return "", 0, nil, err
		}
		req.Header.Set("DPoP", proof)
	}
	start := o.c.now()
	resp, err := o.c.http.Do(req)
	if err != nil {
		recordRequest(o.c.org, "", bucket, http.MethodPost, "error", o.c.now().Sub(start))
		return "", 0, nil, &transportError{method: http.MethodPost, path: "/oauth2/v1/token", err: err}
	}
	defer resp.Body.Close()
	recordRequest(o.c.org, "", bucket, http.MethodPost, fmt.Sprint(resp.StatusCode), o.c.now().Sub(start))
	reset := o.c.budget.observe(bucket, resp.StatusCode, resp.Header)
	if o.proofs != nil {
		o.proofs.observe(resp)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusTooManyRequests {
		return "", 0, nil, &RateLimitedError{Bucket: bucket, RetryAt: reset}
	}
	var ok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ok) != nil || ok.AccessToken == "" {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		return "", 0, nil, &TokenError{StatusCode: resp.StatusCode, Code: e.Error, Description: e.Description}
	}
	if (o.proofs != nil) != strings.EqualFold(ok.TokenType, "DPoP") {
		return "", 0, nil, &TokenError{StatusCode: resp.StatusCode, Code: "unexpected_token_type",
			Description: fmt.Sprintf("the token endpoint answered token_type %q to a request %s a DPoP proof", ok.TokenType, map[bool]string{true: "with", false: "without"}[o.proofs != nil])}
	}
	return ok.AccessToken, time.Duration(max(ok.ExpiresIn, 120)) * time.Second, strings.Fields(ok.Scope), nil
}

// assertion makes the RS256 client assertion JWT (RFC 7523).
func (o *oauth) assertion(audience string) (string, error) {
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if o.keyID != "" {
		header["kid"] = o.keyID
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	now := o.c.now()
	claims := map[string]any{
		"iss": o.clientID, "sub": o.clientID, "aud": audience,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
