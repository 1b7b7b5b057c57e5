package okta

// DPoP (RFC 9449), as Okta specifies it for API service apps: a proof JWT,
// signed with a key the client holds and carrying its public JWK, on the
// token request and on every API request (with the token's hash), each
// with a unique jti, and the server's latest nonce when it gave one.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// dpop holds the proof key of one client and the server's latest nonce.
type dpop struct {
	signer jose.Signer
	now    func() time.Time

	mu    sync.Mutex
	nonce string
}

func newDPoP(now func() time.Time) (*dpop, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, err
	}
	return &dpop{signer: signer, now: now}, nil
}

// proof is a fresh proof for one request: htm, htu (the URL without query
// or fragment), iat, a unique jti, the nonce if the server gave one, and,
// for an API request, ath (the access token's SHA-256).
func (d *dpop) proof(method string, target *url.URL, accessToken string) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	htu := *target
	htu.RawQuery, htu.Fragment = "", ""
	claims := map[string]any{
		"htm": method, "htu": htu.String(), "iat": d.now().Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti),
	}
	if n := d.currentNonce(); n != "" {
		claims["nonce"] = n
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	signed, err := jwt.Signed(d.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing the DPoP proof: %w", err)
	}
	return signed, nil
}

func (d *dpop) currentNonce() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nonce
}

// observe keeps a nonce the server sent, and tells whether the answer asks
// for the request again with it (use_dpop_nonce).
func (d *dpop) observe(resp *http.Response) bool {
	if n := resp.Header.Get("DPoP-Nonce"); n != "" {
		d.mu.Lock()
		d.nonce = n
		d.mu.Unlock()
	}
	return resp.StatusCode == http.StatusUnauthorized && strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce")
}
