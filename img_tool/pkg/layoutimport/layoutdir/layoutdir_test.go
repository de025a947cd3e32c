package layoutdir_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/layoutimport/layoutdir"
)

// newLayout writes a layout whose index.json lists one blob; it returns
// the layout and the blob's descriptor.
func newLayout(t *testing.T, blob []byte) (string, ispec.Descriptor) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := ispec.Descriptor{MediaType: ispec.MediaTypeImageManifest, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	idx, _ := json.Marshal(ispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ispec.MediaTypeImageIndex, Manifests: []ispec.Descriptor{d}})
	for name, data := range map[string][]byte{
		"oci-layout":                         []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json":                         idx,
		"blobs/sha256/" + d.Digest.Encoded(): blob,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, d
}

// readAll opens the layout and reads the blob of d through OpenBlob and
// through ReadBlob; both must agree.
func readAll(dir string, d ispec.Descriptor) ([]byte, error) {
	l, err := layoutdir.Open(dir)
	if err != nil {
		return nil, err
	}
	if _, err := l.RootIndex(); err != nil {
		return nil, err
	}
	r, err := l.OpenBlob("blob", d)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	streamed, err := io.ReadAll(r)
	if err != nil {
		if _, again := r.Read(make([]byte, 1)); again != err {
			return nil, fmt.Errorf("error not sticky: %v, then %v", err, again)
		}
		return nil, err
	}
	whole, err := l.ReadBlob("blob", d, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("OpenBlob read the blob, ReadBlob: %w", err)
	}
	if string(whole) != string(streamed) {
		return nil, errors.New("OpenBlob and ReadBlob read different bytes")
	}
	return whole, nil
}

func TestRead(t *testing.T) {
	content := []byte(`{"schemaVersion":2}`)
	for _, tc := range []struct {
		name string
		// spoil changes the layout; it returns the descriptor to read.
		spoil   func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor
		wantErr error
		// wantText is named by the error, besides the layout.
		wantText string
	}{{
		name:  "plain",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor { return d },
	}, {
		name: "symlink inside the layout",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			p := filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
			move(t, p, filepath.Join(dir, "elsewhere"))
			symlink(t, "../../elsewhere", p)
			return d
		},
	}, {
		name: "absolute symlink",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			p := filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
			outside := filepath.Join(filepath.Dir(dir), "staged")
			move(t, p, outside)
			symlink(t, outside, p)
			return d
		},
	}, {
		name: "relative symlink leaving the layout",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			p := filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
			move(t, p, filepath.Join(filepath.Dir(dir), "outside"))
			symlink(t, "../../../outside", p)
			return d
		},
		wantErr:  layoutdir.ErrEscape,
		wantText: "symlink blobs/sha256/",
	}, {
		name: "symlinked blobs directory leaving the layout",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			move(t, filepath.Join(dir, "blobs"), filepath.Join(filepath.Dir(dir), "blobs"))
			symlink(t, "../blobs", filepath.Join(dir, "blobs"))
			return d
		},
		wantErr:  layoutdir.ErrEscape,
		wantText: "symlink blobs -> ../blobs",
	}, {
		name: "digest mismatch",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			p := filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
			if err := os.WriteFile(p, []byte(strings.ToUpper(string(content))), 0o644); err != nil {
				t.Fatal(err)
			}
			return d
		},
		wantErr:  layoutdir.ErrMismatch,
		wantText: "with digest sha256:",
	}, {
		name: "size mismatch",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			d.Size--
			return d
		},
		wantErr:  layoutdir.ErrMismatch,
		wantText: fmt.Sprintf("has %d bytes, the descriptor says %d", len(content), len(content)-1),
	}, {
		name: "missing blob",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			d.Digest = digest.FromString("other")
			return d
		},
		wantErr:  layoutdir.ErrMissingBlob,
		wantText: "is missing",
	}, {
		name: "digest that is not sha256",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			d.Digest = "sha256:../../index.json"
			return d
		},
		wantErr:  layoutdir.ErrInvalidArgument,
		wantText: "is not a sha256 digest",
	}, {
		name: "FIFO",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			p := filepath.Join(dir, "blobs", "sha256", d.Digest.Encoded())
			os.Remove(p)
			if err := mkfifo(p); err != nil {
				t.Skip(err)
			}
			return d
		},
		wantErr:  layoutdir.ErrInvalidArgument,
		wantText: "not a regular file",
	}, {
		name: "index.json that is not an index",
		spoil: func(t *testing.T, dir string, d ispec.Descriptor) ispec.Descriptor {
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":1}`), 0o644); err != nil {
				t.Fatal(err)
			}
			return d
		},
		wantErr:  layoutdir.ErrInvalidArgument,
		wantText: "index.json: schemaVersion 1",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir, d := newLayout(t, content)
			d = tc.spoil(t, dir, d)
			got, err := readAll(dir, d)
			if tc.wantErr == nil {
				if err != nil || string(got) != string(content) {
					t.Fatalf("read %q, %v; want %q", got, err, content)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("read: %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "layout "+dir+": ") || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not name the layout and %q", err, tc.wantText)
			}
		})
	}
}

// A JSON document above its bound is refused before it is read.
func TestBounds(t *testing.T) {
	dir, d := newLayout(t, []byte(`{"schemaVersion":2}`))
	l, err := layoutdir.Open(dir, layoutdir.WithMaxJSONSize(8))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.RootIndex(); !errors.Is(err, layoutdir.ErrTooLarge) || !strings.Contains(err.Error(), "index.json") {
		t.Errorf("RootIndex() = %v, want index.json too large", err)
	}
	if _, err := l.ReadBlob("manifest", d, d.Size-1); !errors.Is(err, layoutdir.ErrTooLarge) || !strings.Contains(err.Error(), "manifest "+string(d.Digest)) {
		t.Errorf("ReadBlob() = %v, want the manifest too large", err)
	}
	if _, err := layoutdir.Open(dir, layoutdir.WithMaxJSONSize(0)); !errors.Is(err, layoutdir.ErrInvalidArgument) {
		t.Errorf("Open(WithMaxJSONSize(0)) = %v", err)
	}
	if _, err := layoutdir.Open(filepath.Join(dir, "blobs")); !errors.Is(err, layoutdir.ErrMissingBlob) || !strings.Contains(err.Error(), "oci-layout") {
		t.Errorf("Open(not a layout) = %v", err)
	}
}

func move(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
