// Command okta-emulator runs a local Okta org: the management API the
// operator uses, per-bucket rate limits, fault injection, request counters
// and a SAML 2.0 IdP for every app. It prints its base URL as the first line
// of stdout once it is ready. See docs/emulator.md.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oktaop/okta-sso-operator/pkg/emulator"
)

// limitFlags collects repeated --rate-limit bucket=perMinute flags.
type limitFlags map[string]int

func (l limitFlags) String() string { return fmt.Sprint(map[string]int(l)) }

func (l limitFlags) Set(v string) error {
	bucket, n, ok := strings.Cut(v, "=")
	limit, err := strconv.Atoi(n)
	if !ok || err != nil || limit < 1 {
		return fmt.Errorf("want BUCKET=REQUESTS_PER_MINUTE, such as /api/v1/apps=100")
	}
	if _, known := emulator.DefaultRateLimits[bucket]; !known {
		return fmt.Errorf("unknown bucket %q; Okta's buckets are %s", bucket, strings.Join(slices.Sorted(maps.Keys(emulator.DefaultRateLimits)), ", "))
	}
	l[bucket] = limit
	return nil
}

func main() {
	limits := limitFlags{}
	addr := flag.String("addr", "127.0.0.1:0", "Address to listen on; port 0 picks a free one.")
	token := flag.String("api-token", "", "The SSWS API token clients must send (required).")
	seedFile := flag.String("seed", "", "YAML file of users, groups and OAuth service apps to start with.")
	useTLS := flag.Bool("tls", false, "Serve HTTPS with a self-signed certificate for localhost and 127.0.0.1.")
	caOut := flag.String("tls-ca-file", "", "With --tls, write the certificate (PEM) here so clients can trust it.")
	certFile := flag.String("tls-cert-file", "", "Serve HTTPS with this certificate (PEM), such as one for a Service's DNS name; needs --tls-key-file.")
	keyFile := flag.String("tls-key-file", "", "The private key (PEM) of --tls-cert-file.")
	baseURL := flag.String("base-url", "", "The org URL clients use, which links and SAML endpoints carry, such as https://okta-emulator.ci.svc; defaults to the listen address.")
	orgName := flag.String("org-name", "emulator", "The org subdomain (Okta's company ID).")
	classic := flag.Bool("classic", false, "Answer like a Classic Engine org instead of Identity Engine: app links without access policies, and the Classic sign-in widget's form instead of the identifier-first one.")
	idle := flag.Duration("session-idle-timeout", 2*time.Hour, "How long a person's org session lasts unused (Okta's default global session policy: 2h).")
	errorRate := flag.Float64("error-rate", 0, "Share of API requests, 0 to 1, answered with 500.")
	throttleRate := flag.Float64("throttle-rate", 0, "Share of API requests, 0 to 1, that find their bucket spent by the org's other clients: 429 for it and the rest of the bucket's window.")
	latency := flag.Duration("latency", 0, "Latency added to every API request.")
	flag.Var(limits, "rate-limit", "Limit of a bucket per rate-limit window, BUCKET=N; repeatable (see docs/emulator.md).")
	window := flag.Duration("rate-limit-window", time.Minute, "Length of a rate-limit window: Okta's minute, or shorter so tests go through many windows in real time.")
	release := flag.String("release", "", "The Okta release, YYYY.MM, whose answer shapes to give; empty for the newest.")
	flag.Parse()

	cfg := emulator.Config{APIToken: *token, OrgName: *orgName, Classic: *classic, SessionIdleTimeout: *idle, RateLimits: limits, RateLimitWindow: *window, Release: *release,
		Faults: emulator.Faults{ErrorRate: *errorRate, ThrottleRate: *throttleRate, Latency: emulator.Duration(*latency)}}
	if err := run(*addr, *seedFile, *baseURL, tlsOptions{selfSigned: *useTLS, caOut: *caOut, certFile: *certFile, keyFile: *keyFile}, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "okta-emulator:", err)
		os.Exit(1)
	}
}

// tlsOptions say how the org serves HTTPS: with a self-signed certificate
// for loopback (written to caOut), or with a certificate it is given.
type tlsOptions struct {
	selfSigned        bool
	caOut             string
	certFile, keyFile string
}

func (o tlsOptions) certificate() (*tls.Certificate, error) {
	switch {
	case o.certFile != "" || o.keyFile != "":
		if o.certFile == "" || o.keyFile == "" {
			return nil, errors.New("--tls-cert-file and --tls-key-file go together")
		}
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		return &cert, err
	case o.selfSigned:
		cert, certPEM, err := selfSigned()
		if err != nil {
			return nil, err
		}
		if o.caOut != "" {
			if err := os.WriteFile(o.caOut, certPEM, 0o644); err != nil {
				return nil, err
			}
		}
		return &cert, nil
	}
	return nil, nil
}

func run(addr, seedFile, baseURL string, tlsOpts tlsOptions, cfg emulator.Config) error {
	if cfg.APIToken == "" {
		return errors.New("--api-token is required")
	}
	if cfg.Faults.ErrorRate < 0 || cfg.Faults.ErrorRate > 1 {
		return errors.New("--error-rate must be between 0 and 1")
	}
	if cfg.RateLimitWindow < time.Second || cfg.RateLimitWindow > time.Hour {
		return errors.New("--rate-limit-window must be between 1s and 1h")
	}
	if seedFile != "" {
		seed, err := emulator.LoadSeed(seedFile)
		if err != nil {
			return err
		}
		cfg.Seed = seed
	}
	srv, err := emulator.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	scheme := "http"
	cert, err := tlsOpts.certificate()
	if err != nil {
		return err
	}
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	base := scheme + "://" + ln.Addr().String()
	if baseURL != "" {
		base = strings.TrimSuffix(baseURL, "/")
	}
	srv.SetBaseURL(base)
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	fmt.Println(base)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return httpSrv.Shutdown(shutdown)
}

// selfSigned makes a certificate for localhost and the loopback addresses.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "okta-emulator"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
