package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// blobServer serves content for any blob request, whatever the digest.
func blobServer(t *testing.T, content string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/base/app/blobs/") {
			w.Write([]byte(content))
			return
		}
		if r.URL.Path != "/v2/" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestDownloadBlob(t *testing.T) {
	const content = "layer bytes\n"
	sum := sha256.Sum256([]byte(content))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	host := blobServer(t, content)
	cfg := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" for success
	}{
		{"ok", []string{"--registry", host, "--digest", digest}, ""},
		{"mirror fallback", []string{"--registry", "127.0.0.1:1", "--registry", host, "--digest", digest}, ""},
		{"digest mismatch", []string{"--registry", host, "--digest", "sha256:" + strings.Repeat("0", 64)},
			"registry " + host + " repository base/app: blob sha256:" + strings.Repeat("0", 64) + ": content has digest " + digest},
		{"bad digest", []string{"--registry", host, "--digest", "abc"}, `download blob "abc"`},
		{"no registry", []string{"--digest", digest}, "--registry is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "blob")
			args := append([]string{"download-blob", "--repository", "base/app", "--docker-config", cfg, "--output", out}, tc.args...)
			code, stderr := runImg(t, args...)
			if tc.wantErr == "" {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if data, err := os.ReadFile(out); err != nil || string(data) != content {
					t.Errorf("output = %q, %v; want %q", data, err, content)
				}
				return
			}
			if code == 0 || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want an error containing %q", code, stderr, tc.wantErr)
			}
			if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
				t.Errorf("left behind after an error: %v", entries)
			}
		})
	}
}
