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
	"strings"
	"sync"
	"time"
)

// authorizer gives the Authorization header of each request.
type authorizer interface {
	authorization(ctx context.Context) (string, error)
	// invalidate drops a cached credential; it reports whether a new one
	// can be fetched (so a 401 is worth one more try).
	invalidate() bool
}

// ssws is an Okta API token.
type ssws string

func (t ssws) authorization(context.Context) (string, error) { return "SSWS " + string(t), nil }

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

func (o *oauth) authorization(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token != "" && o.c.now().Before(o.expires) {
		return "Bearer " + o.token, nil
	}
	token, ttl, err := o.fetch(ctx)
	if err != nil {
		return "", err
	}
	o.token, o.expires = token, o.c.now().Add(ttl-time.Minute)
	return "Bearer " + token, nil
}

func (o *oauth) invalidate() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.token = ""
	return true
}

// fetch asks the org's token endpoint for an access token.
func (o *oauth) fetch(ctx context.Context) (string, time.Duration, error) {
	endpoint := o.c.base.String() + "/oauth2/v1/token"
	assertion, err := o.assertion(endpoint)
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {o.scopes},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	const bucket = "/oauth2/v1/token"
	if err := o.c.budget.reserve(bucket); err != nil {
		return "", 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := o.c.now()
	resp, err := o.c.http.Do(req)
	if err != nil {
		recordRequest(o.c.org, bucket, http.MethodPost, "error", o.c.now().Sub(start))
		return "", 0, &transportError{method: http.MethodPost, path: "/oauth2/v1/token", err: err}
	}
	defer resp.Body.Close()
	recordRequest(o.c.org, bucket, http.MethodPost, fmt.Sprint(resp.StatusCode), o.c.now().Sub(start))
	reset := o.c.budget.observe(bucket, resp.StatusCode, resp.Header)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusTooManyRequests {
		return "", 0, &RateLimitedError{Bucket: bucket, RetryAt: reset}
	}
	var ok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ok) != nil || ok.AccessToken == "" {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		return "", 0, &TokenError{StatusCode: resp.StatusCode, Code: e.Error, Description: e.Description}
	}
	return ok.AccessToken, time.Duration(max(ok.ExpiresIn, 120)) * time.Second, nil
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
