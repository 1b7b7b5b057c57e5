package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// oauthClient is a service app allowed the client credentials grant with
// private_key_jwt, as Okta recommends for machine access to its API.
type oauthClient struct {
	publicKey *rsa.PublicKey
	scopes    []string
	// dpop: its tokens must be DPoP-bound (the default, as for Okta's new
	// service apps).
	dpop bool
}

// AddOAuthClient registers a service app's public key and granted scopes;
// it requires DPoP unless SetDPoPRequired says otherwise.
func (s *Server) AddOAuthClient(clientID string, pub *rsa.PublicKey, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthClients[clientID] = oauthClient{publicKey: pub, scopes: scopes, dpop: true}
}

// accessToken is what an issued token allows, and until when; jkt is the
// thumbprint of the key a DPoP-bound token is bound to.
type accessToken struct {
	expires time.Time
	scopes  []string
	jkt     string
}

// scopeFor names the scope family of an API path (okta.apps, okta.users …).
func scopeFor(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 3 || parts[0] != "api" {
		return ""
	}
	return "okta." + parts[2]
}

// allows tells whether the token's scopes permit the request: reading needs
// okta.<family>.read or .manage, anything else .manage.
func (t accessToken) allows(method, path string) bool {
	family := scopeFor(path)
	if family == "" {
		return true
	}
	for _, sc := range t.scopes {
		if sc == family+".manage" || (sc == family+".read" && method == http.MethodGet) {
			return true
		}
	}
	return false
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// issueToken is POST /oauth2/v1/token for the client credentials grant with a
// signed client assertion (RFC 7523).
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "The request body is not a form."})
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "Only client_credentials is supported."})
		return
	}
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", "A private_key_jwt client assertion is required."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	client, clientID, err := s.verifyAssertion(f.Get("client_assertion"))
	if err != "" {
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", err})
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_scope", "At least one scope is required."})
		return
	}
	for _, sc := range scopes {
		if !slices.Contains(client.scopes, sc) {
			writeJSON(w, http.StatusBadRequest, oauthError{"invalid_scope", "The scope " + sc + " is not granted to client " + clientID + "."})
			return
		}
	}
	issued, tokenType := accessToken{expires: s.now().Add(time.Hour), scopes: scopes}, "Bearer"
	if client.dpop {
		jkt, fault := s.verifyProof(r.Header.Get("DPoP"), http.MethodPost, s.baseURL+"/oauth2/v1/token", "")
		if fault != nil {
			s.writeDPoPFault(w, fault)
			return
		}
		issued.jkt, tokenType = jkt, "DPoP"
	}
	token := s.randomString(64)
	s.accessTokens[token] = issued
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": tokenType, "expires_in": 3600, "access_token": token, "scope": strings.Join(scopes, " "),
	})
}

// verifyAssertion checks a client assertion JWT (RS256): signature by the
// client's registered key, iss = sub = client ID, aud = this token endpoint,
// not expired, issued for at most an hour, and never replayed. It returns a
// description of what is wrong, or "". Callers hold s.mu.
func (s *Server) verifyAssertion(jwt string) (oauthClient, string, string) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return oauthClient{}, "", "The client assertion is not a JWT."
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss, Sub, Jti string
		Aud           any
		Exp, Iat      int64
	}
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil {
		return oauthClient{}, "", "The client assertion is not a JWT."
	}
	client, ok := s.oauthClients[claims.Iss]
	if !ok || claims.Sub != claims.Iss {
		return oauthClient{}, "", "The client is unknown."
	}
	if header.Alg != "RS256" {
		return oauthClient{}, "", "The client assertion must be signed with RS256."
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(client.publicKey, crypto.SHA256, digest[:], sig) != nil {
		return oauthClient{}, "", "The client assertion signature is invalid."
	}
	if aud, _ := claims.Aud.(string); aud != s.baseURL+"/oauth2/v1/token" {
		return oauthClient{}, "", "The client assertion audience must be " + s.baseURL + "/oauth2/v1/token."
	}
	now := s.now().Unix()
	if claims.Exp <= now || claims.Exp-claims.Iat > 3600 {
		return oauthClient{}, "", "The client assertion is expired or valid for more than an hour."
	}
	if claims.Jti == "" {
		return oauthClient{}, "", "The client assertion needs a jti."
	}
	if _, used := s.usedJTIs[claims.Jti]; used {
		return oauthClient{}, "", "The client assertion was already used."
	}
	s.usedJTIs[claims.Jti] = time.Unix(claims.Exp, 0)
	return client, claims.Iss, ""
}

func decodeSegment(seg string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
