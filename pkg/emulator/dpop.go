package emulator

// DPoP (RFC 9449) as Okta enforces it for API service apps that require it
// (the default for new service apps, and here): the token request needs a
// proof with the server's nonce (use_dpop_nonce hands it out), the token is
// bound to the proof key, and each API request presents it as
// "Authorization: DPoP <token>" with a fresh proof for that request
// (htm, htu, iat, a jti never seen before, ath, and the current nonce).

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// dpopProofLifetime is how far a proof's iat may be from now.
const dpopProofLifetime = 5 * time.Minute

// proofClaims are a DPoP proof's claims.
type proofClaims struct {
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	JTI   string `json:"jti"`
	Nonce string `json:"nonce"`
	ATH   string `json:"ath"`
}

// dpopFault is what is wrong with a proof: Okta's error code and text, and
// whether the fix is the current nonce.
type dpopFault struct {
	code, description string
}

func (f *dpopFault) useNonce() bool { return f != nil && f.code == "use_dpop_nonce" }

// verifyProof checks a proof for the request and returns the thumbprint of
// its key. accessToken is empty at the token endpoint. Callers hold s.mu.
func (s *Server) verifyProof(proof, method, htu, accessToken string) (string, *dpopFault) {
	if proof == "" {
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof JWT header is missing."}
	}
	parsed, err := jwt.ParseSigned(proof, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil || len(parsed.Headers) != 1 || parsed.Headers[0].JSONWebKey == nil || !parsed.Headers[0].JSONWebKey.IsPublic() {
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof is not a JWT signed with the public key in its jwk header."}
	}
	header := parsed.Headers[0]
	if typ, _ := header.ExtraHeaders["typ"].(string); typ != "dpop+jwt" {
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof's typ must be dpop+jwt."}
	}
	var claims proofClaims
	if err := parsed.Claims(header.JSONWebKey.Key, &claims); err != nil {
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof's signature is invalid."}
	}
	now := s.now()
	switch {
	case claims.HTM != method || claims.HTU != htu:
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof's htm or htu does not match the request."}
	case claims.JTI == "":
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof needs a jti."}
	case now.Sub(time.Unix(claims.IAT, 0)).Abs() > dpopProofLifetime:
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof is stale (iat too far from now)."}
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if claims.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof's ath does not match the access token."}
		}
	}
	if claims.Nonce != s.dpopNonce {
		return "", &dpopFault{"use_dpop_nonce", "The server requires the current nonce in the DPoP proof."}
	}
	if _, used := s.usedJTIs["dpop:"+claims.JTI]; used {
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof was already used (jti replayed)."}
	}
	s.usedJTIs["dpop:"+claims.JTI] = now.Add(dpopProofLifetime)
	thumb, err := header.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", &dpopFault{"invalid_dpop_proof", "The DPoP proof's jwk has no thumbprint."}
	}
	return base64.RawURLEncoding.EncodeToString(thumb), nil
}

// RotateDPoPNonce gives out a new DPoP nonce, as Okta does from time to
// time: proofs with the old one are answered use_dpop_nonce.
func (s *Server) RotateDPoPNonce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dpopNonce = s.randomString(32)
}

// SetDPoPRequired says whether a service app's tokens must be DPoP-bound
// (Okta's "Require DPoP header in token requests"; on by default here, as
// for Okta's new service apps).
func (s *Server) SetDPoPRequired(clientID string, required bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.oauthClients[clientID]; ok {
		c.dpop = required
		s.oauthClients[clientID] = c
	}
}

// writeDPoPFault answers a proof fault at the token endpoint (400, with the
// nonce when that is the fix).
func (s *Server) writeDPoPFault(w http.ResponseWriter, f *dpopFault) {
	if f.useNonce() {
		w.Header().Set("DPoP-Nonce", s.dpopNonce)
	}
	writeJSON(w, http.StatusBadRequest, oauthError{f.code, f.description})
}
