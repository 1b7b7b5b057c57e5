package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
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
			"--seed", seed, "--rate-limit", "/api/v1/users/{id}=42")
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
}
