package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	content := "layer bytes"
	sum := sha256.Sum256([]byte(content))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		name    string
		data    string
		digest  string
		size    int64
		wantErr string
	}{
		{"matches", content, digest, int64(len(content)), ""},
		{"too long", content + "x", digest, int64(len(content)), "longer than the 11 bytes"},
		{"too short", content[:5], digest, int64(len(content)), "5 bytes, want 11"},
		{"other content", strings.ToUpper(content), digest, int64(len(content)), "content is sha256:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(io.NopCloser(strings.NewReader(tc.data)), "blob", tc.digest, tc.size)
			got, err := io.ReadAll(r)
			if tc.wantErr == "" {
				if err != nil || string(got) != tc.data {
					t.Fatalf("ReadAll() = %q, %v; want %q, nil", got, err, tc.data)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "blob") {
				t.Fatalf("ReadAll() error = %v, want one naming the blob and containing %q", err, tc.wantErr)
			}
		})
	}
}
