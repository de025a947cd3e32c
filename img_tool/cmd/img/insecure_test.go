package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestDownloadBlobInsecure: download-blob reaches a registry with a
// self-signed certificate only with --insecure, given to the command or
// before it (img --insecure download-blob ...).
func TestDownloadBlobInsecure(t *testing.T) {
	s := httptest.NewUnstartedServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	host := strings.TrimPrefix(s.URL, "https://")
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/app:v1")
	skip := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if err := remote.Write(ref, img, remote.WithTransport(skip)); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	digest, _ := layers[0].Digest()
	t.Setenv("IMG_INSECURE", "")
	for _, tc := range []struct {
		name   string
		before []string
		after  []string
		ok     bool
	}{
		{"verified", nil, nil, false},
		{"command flag", nil, []string{"--insecure"}, true},
		{"global flag", []string{"--insecure"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "blob")
			args := append(append([]string{}, tc.before...), "download-blob", "--registry", host, "--repository", "app",
				"--digest", digest.String(), "--output", out, "--docker-config", filepath.Join(t.TempDir(), "none.json"))
			args = append(args, tc.after...)
			var stderr bytes.Buffer
			code := run(context.Background(), args, io.Discard, &stderr)
			if (code == 0) != tc.ok {
				t.Errorf("img %s: exit %d, want success %v; stderr: %s", strings.Join(args, " "), code, tc.ok, stderr.String())
			}
		})
	}
}
