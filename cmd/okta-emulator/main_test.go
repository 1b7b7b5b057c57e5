package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinary builds okta-emulator and runs it as documented.
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "okta-emulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	t.Run("refuses to start without a token", func(t *testing.T) {
		out, err := exec.Command(bin).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--api-token is required") {
			t.Errorf("got %v: %s", err, out)
		}
	})

	t.Run("refuses a bucket Okta does not have", func(t *testing.T) {
		out, err := exec.Command(bin, "--api-token", "tok", "--rate-limit", "default=5").CombinedOutput()
		if err == nil || !strings.Contains(string(out), `unknown bucket "default"`) || !strings.Contains(string(out), "/api/v1/apps/{id}") {
			t.Errorf("got %v: %s", err, out)
		}
	})

	t.Run("refuses a rate-limit window out of range", func(t *testing.T) {
		out, err := exec.Command(bin, "--api-token", "tok", "--rate-limit-window", "10ms").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--rate-limit-window must be between 1s and 1h") {
			t.Errorf("got %v: %s", err, out)
		}
	})

	t.Run("serves HTTPS and stops cleanly", func(t *testing.T) {
		caFile := filepath.Join(t.TempDir(), "ca.pem")
		seed := filepath.Join(t.TempDir(), "seed.yaml")
		if err := os.WriteFile(seed, []byte("users:\n  - login: alice@example.com\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--api-token", "tok", "--tls", "--tls-ca-file", caFile,
			"--seed", seed, "--rate-limit", "/api/v1/users/{idOrLogin}=42")
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill() //nolint:errcheck // already stopped when the test passes
		base, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.HasPrefix(base, "https://127.0.0.1:") {
			t.Fatalf("first line %q, %v", base, err)
		}
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemBytes)
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		req, _ := http.NewRequest(http.MethodGet, strings.TrimSpace(base)+"/api/v1/users/alice@example.com", nil)
		req.Header.Set("Authorization", "SSWS tok")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Rate-Limit-Limit") != "42" {
			t.Errorf("seeded user: %d, limit %s", resp.StatusCode, resp.Header.Get("X-Rate-Limit-Limit"))
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("did not stop within 10s of SIGTERM")
		}
	})

	t.Run("serves the certificate it is given, under the URL it is told", func(t *testing.T) {
		dir := t.TempDir()
		certPEM := writeCertificate(t, dir, "okta-emulator.ci.svc")
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--addr", addr, "--api-token", "tok", "--base-url", "https://okta-emulator.ci.svc",
			"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-key-file", filepath.Join(dir, "tls.key"))
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill() //nolint:errcheck // the test is over
		base, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || strings.TrimSpace(base) != "https://okta-emulator.ci.svc" {
			t.Fatalf("first line %q, %v", base, err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(certPEM)
		// A client that knows the Service name, reaching the pod's address.
		transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "okta-emulator.ci.svc", MinVersion: tls.VersionTLS12}}
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api/v1/groups?q=Everyone", nil)
		req.Header.Set("Authorization", "SSWS tok")
		resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: transport}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"href":"https://okta-emulator.ci.svc/api/v1/groups/`) {
			t.Errorf("%d %s: want links under the URL it was told", resp.StatusCode, body)
		}
	})

	t.Run("refuses a certificate without its key", func(t *testing.T) {
		out, err := exec.Command(bin, "--api-token", "tok", "--tls-cert-file", "/nonexistent.crt").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--tls-cert-file and --tls-key-file go together") {
			t.Errorf("got %v: %s", err, out)
		}
	})
}

// writeCertificate writes a self-signed certificate for host and loopback
// as tls.crt and tls.key, as openssl in a CI job would, and returns it.
func writeCertificate(t *testing.T, dir, host string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{host}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
