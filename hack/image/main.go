// Command image builds the operator's container image without a Docker
// engine or a registry: one layer (the static manager binary, the local
// Okta org's binary for users' CI, the CA roots, a nonroot user) on an empty
// base, configured to run as that user,
// written as an image tarball that docker load, podman load and crane push
// read. `make image` runs it; the Dockerfile builds the same image where
// there is a Docker engine.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonroot is distroless's: uid and gid 65532.
const nonroot = 65532

type options struct {
	binary, emulator, caCerts, out, tag, version, revision string
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "bin/manager-linux-amd64", "The static manager binary (CGO_ENABLED=0, linux/amd64).")
	flag.StringVar(&o.emulator, "emulator", "bin/okta-emulator-linux-amd64", "The static okta-emulator binary, /okta-emulator in the image.")
	flag.StringVar(&o.caCerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "The CA roots the manager trusts for Okta and SCIM endpoints.")
	flag.StringVar(&o.out, "out", "bin/okta-sso-operator-image.tar", "Where to write the image tarball.")
	flag.StringVar(&o.tag, "tag", "okta-sso-operator:dev", "The image's name and tag inside the tarball.")
	flag.StringVar(&o.version, "version", "dev", "The operator's version (a label).")
	flag.StringVar(&o.revision, "revision", "", "The source revision (a label).")
	flag.Parse()
	if err := build(o); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Println("image: wrote", o.tag, "to", o.out)
}

func build(o options) error {
	binary, err := os.ReadFile(o.binary)
	if err != nil {
		return err
	}
	emulator, err := os.ReadFile(o.emulator)
	if err != nil {
		return err
	}
	roots, err := os.ReadFile(o.caCerts)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootFS(binary, emulator, roots))), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
		Entrypoint: []string{"/manager"},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":       "okta-sso-operator",
			"org.opencontainers.image.description": "Declarative Okta SAML single sign-on for Kubernetes",
			"org.opencontainers.image.version":     o.version,
			"org.opencontainers.image.revision":    o.revision,
			"org.opencontainers.image.source":      "https://github.com/oktaop/okta-sso-operator",
			"org.opencontainers.image.licenses":    "Apache-2.0",
		},
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(o.tag)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(o.out, ref, img)
}

// rootFS is the layer: /manager, /okta-emulator, the CA roots where Go
// looks for them, and the nonroot user in /etc/passwd and /etc/group (as
// distroless has it), with a fixed time so the same inputs give the same
// image.
func rootFS(binary, emulator, roots []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dir := func(path string) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: path, Mode: 0o755, ModTime: epoch})
	}
	file := func(path string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path, Mode: mode, Size: int64(len(data)), ModTime: epoch})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"etc/", "etc/ssl/", "etc/ssl/certs/"} {
		dir(d)
	}
	file("etc/passwd", 0o644, []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonroot, nonroot)))
	file("etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonroot)))
	file("etc/ssl/certs/ca-certificates.crt", 0o644, roots)
	file("manager", 0o755, binary)
	file("okta-emulator", 0o755, emulator)
	_ = tw.Close()
	return buf.Bytes()
}
