package jsondoc

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestBlobWrite(t *testing.T) {
	good, err := New(specv1.MediaTypeImageConfig, map[string]string{"b": "2", "a": "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(good.Data) != `{"a":"1","b":"2"}` {
		t.Fatalf("data = %s", good.Data)
	}
	badDigest := good
	badDigest.Descriptor.Digest = ocispec.Digest(digest.FromString("other"))
	badSize := good
	badSize.Descriptor.Size++
	for _, tc := range []struct {
		name    string
		blob    Blob
		wantErr bool
	}{
		{"good", good, false},
		{"digest mismatch", badDigest, true},
		{"size mismatch", badSize, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data, desc, dg := filepath.Join(dir, "data"), filepath.Join(dir, "desc"), filepath.Join(dir, "digest")
			err := tc.blob.Write(data, desc, dg)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), data) {
					t.Fatalf("Write() = %v, want an error naming %s", err, data)
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("files left after the error: %v", ents)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(data)
			if fmt.Sprintf("sha256:%x", sha256.Sum256(b)) != string(good.Descriptor.Digest) {
				t.Errorf("data file does not match the descriptor")
			}
			b, _ = os.ReadFile(dg)
			if string(b) != string(good.Descriptor.Digest) {
				t.Errorf("digest file = %q", b)
			}
			var d specv1.Descriptor
			b, _ = os.ReadFile(desc)
			if err := json.Unmarshal(b, &d); err != nil || string(d.Digest) != string(good.Descriptor.Digest) || d.Size != good.Descriptor.Size || d.MediaType != specv1.MediaTypeImageConfig {
				t.Errorf("descriptor file = %s (%v)", b, err)
			}
		})
	}
}
