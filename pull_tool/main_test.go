package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, 2, "Usage: pull_tool COMMAND"},
		{"unknown command", []string{"push"}, 2, `unknown command "push"`},
		{"pull without registry", []string{"pull", "--repository", "r", "--tag", "v1", "--output", "o"}, 1, "--registry is required"},
		{"pull without tag or digest", []string{"pull", "--registry", "h", "--repository", "r", "--output", "o"}, 1, "--tag or --digest is required"},
		{"pull without output", []string{"pull", "--registry", "h", "--repository", "r", "--tag", "v1"}, 1, "--output is required"},
		{"pull bad layer handling", []string{"pull", "--registry", "h", "--repository", "r", "--tag", "v1", "--output", t.TempDir() + "/o", "--layer-handling", "x"}, 1, `layer handling "x"`},
		{"pull stray argument", []string{"pull", "extra"}, 1, `unexpected arguments ["extra"]`},
		{"download-blob without digest", []string{"download-blob", "--registry", "h", "--repository", "r", "--output", "o"}, 1, "--digest and --output are required"},
		{"help", []string{"pull", "-h"}, 0, "Usage: pull_tool pull"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.wantCode, tc.wantErr)
			}
		})
	}
}

func TestDownloadBlobMode(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	content := []byte("#!/bin/sh\necho blob\n")
	layer := static.NewLayer(content, types.OCILayer)
	ref, err := name.NewRepository(host+"/tools/blob", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(ref, layer); err != nil {
		t.Fatal(err)
	}
	d, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	missing := "sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name     string
		digest   string
		extra    []string
		wantMode os.FileMode
		wantErr  string
	}{
		{"plain", d.String(), nil, 0o644, ""},
		{"executable", d.String(), []string{"--executable"}, 0o755, ""},
		{"missing blob", missing, []string{"--executable"}, 0, missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "blob")
			args := append([]string{"download-blob", "--registry", host, "--repository", "tools/blob", "--digest", tc.digest, "--output", out}, tc.extra...)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if tc.wantErr != "" {
				if code == 0 || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Fatalf("run() = %d, stderr %q; want an error naming %s", code, stderr.String(), tc.wantErr)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("%s exists after an error", out)
				}
				return
			}
			if code != 0 {
				t.Fatalf("run() = %d, stderr %q", code, stderr.String())
			}
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tc.wantMode {
				t.Errorf("mode %v, want %v", got, tc.wantMode)
			}
			got, err := os.ReadFile(out)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("content %q (%v), want %q", got, err, content)
			}
		})
	}
}
