// Package keys generates key pairs and certificates and decides, as pure
// policy with an injected clock, when a certificate must be issued again and
// where an IdP signing key rotation stands. Nothing here talks to a cluster
// or to Okta.
package keys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Secret keys of a kubernetes.io/tls Secret.
const (
	CertKey = "tls.crt"
	KeyKey  = "tls.key"
)

// Reasons a certificate must be issued; the first failing check names it.
const (
	ReasonSecretMissing = "SecretMissing"
	ReasonDataMissing   = "DataMissing"
	ReasonKeyMismatch   = "KeyMismatch"
	ReasonExpired       = "Expired"
	ReasonNearingExpiry = "NearingExpiry"
)

// CertRequest is what a certificate policy looks at.
type CertRequest struct {
	// Data is the Secret's data, nil when the Secret does not exist.
	Data map[string][]byte
	// Now is the injected clock's time.
	Now time.Time
	// RenewBefore is how long before expiry a new certificate is made.
	RenewBefore time.Duration
}

// Policy checks one thing; it returns a reason when a certificate must be
// issued.
type Policy func(CertRequest) (reason string, issue bool)

// SPCertificatePolicies are checked in order, like cert-manager's chain:
// the Secret exists, holds both keys, the key matches the certificate, and
// the certificate is not expired or near expiry.
var SPCertificatePolicies = []Policy{secretMissing, dataMissing, keyMismatch, expired, nearingExpiry}

// NeedsIssuing runs the policies; the first that fails names the reason.
func NeedsIssuing(req CertRequest, policies []Policy) (string, bool) {
	for _, p := range policies {
		if reason, issue := p(req); issue {
			return reason, true
		}
	}
	return "", false
}

func secretMissing(r CertRequest) (string, bool) { return ReasonSecretMissing, r.Data == nil }

func dataMissing(r CertRequest) (string, bool) {
	return ReasonDataMissing, len(r.Data[CertKey]) == 0 || len(r.Data[KeyKey]) == 0
}

func keyMismatch(r CertRequest) (string, bool) {
	_, err := tls.X509KeyPair(r.Data[CertKey], r.Data[KeyKey])
	return ReasonKeyMismatch, err != nil
}

func expired(r CertRequest) (string, bool) {
	cert, err := ParseCertificatePEM(r.Data[CertKey])
	return ReasonExpired, err != nil || !r.Now.Before(cert.NotAfter)
}

func nearingExpiry(r CertRequest) (string, bool) {
	cert, err := ParseCertificatePEM(r.Data[CertKey])
	return ReasonNearingExpiry, err != nil || !r.Now.Add(r.RenewBefore).Before(cert.NotAfter)
}

// ParseCertificatePEM reads the first certificate of a PEM bundle.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// SelfSigned makes an RSA key pair of bits and a self-signed certificate for
// commonName valid from now for validity, returning PEM certificate and key.
func SelfSigned(commonName string, bits int, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"okta-sso-operator"}},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}
