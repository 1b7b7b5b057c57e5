package main

import (
	"archive/tar"
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// staticBinary builds a command as make image does.
func staticBinary(t *testing.T, out, ldflags, pkg string) {
	t.Helper()
	compile := exec.Command("go", "build", "-ldflags", ldflags, "-o", out, pkg)
	compile.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := compile.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, msg)
	}
}

// TestImage builds the image from a freshly built manager and emulator and
// reads it back as a registry or a container runtime would: its config (a
// non-root user, the entrypoint, the labels) and the binaries it holds,
// which run.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	binary := filepath.Join(dir, "manager")
	staticBinary(t, binary, "-s -w -X main.version=9.8.7", "github.com/oktaop/okta-sso-operator/cmd/manager")
	emulatorBinary := filepath.Join(dir, "okta-emulator")
	staticBinary(t, emulatorBinary, "-s -w", "github.com/oktaop/okta-sso-operator/cmd/okta-emulator")
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	if err := build(options{binary: binary, emulator: emulatorBinary, caCerts: roots, out: out, tag: "okta-sso-operator:9.8.7", version: "9.8.7", revision: "abc123"}); err != nil {
		t.Fatal(err)
	}

	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || strings.HasPrefix(cfg.Config.User, "0") {
		t.Errorf("user %q, want the nonroot 65532:65532", cfg.Config.User)
	}
	if strings.Join(cfg.Config.Entrypoint, " ") != "/manager" || cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("entrypoint %v on %s/%s, want /manager on linux/amd64", cfg.Config.Entrypoint, cfg.OS, cfg.Architecture)
	}
	for k, want := range map[string]string{"org.opencontainers.image.version": "9.8.7", "org.opencontainers.image.revision": "abc123",
		"org.opencontainers.image.title": "okta-sso-operator"} {
		if got := cfg.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}

	files := filesOf(t, img)
	for _, path := range []string{"manager", "okta-emulator", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group"} {
		if _, ok := files[path]; !ok {
			t.Errorf("the image has no /%s", path)
		}
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532") {
		t.Errorf("/etc/passwd has no nonroot user:\n%s", files["etc/passwd"])
	}
	extracted := filepath.Join(dir, "from-image")
	if err := os.WriteFile(extracted, files["manager"], 0o755); err != nil {
		t.Fatal(err)
	}
	version, err := exec.Command(extracted, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(version)) != "okta-sso-operator 9.8.7" {
		t.Errorf("the image's manager --version = %q, %v; want okta-sso-operator 9.8.7", version, err)
	}
	servesAnOrg(t, filepath.Join(dir, "emulator-from-image"), files["okta-emulator"])
}

// servesAnOrg runs the image's emulator and asks its org for the Everyone
// group.
func servesAnOrg(t *testing.T, path string, binary []byte) {
	t.Helper()
	if err := os.WriteFile(path, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "--api-token", "t")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the image's okta-emulator printed no URL: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSpace(base)+"/api/v1/groups?q=Everyone", nil)
	req.Header.Set("Authorization", "SSWS t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"Everyone"`) {
		t.Errorf("the image's okta-emulator answered %d: %s", resp.StatusCode, body)
	}
}

// filesOf reads every regular file of the image's flattened filesystem.
func filesOf(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	flat := mutate.Extract(img)
	defer flat.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(flat)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = data
		}
	}
}
