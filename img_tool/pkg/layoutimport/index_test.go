package layoutimport

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// twoPlatforms writes a layout as `crane pull --platform=all
// --format=oci` does for an index: index.json names one image index, which
// names an amd64 image (two layers) and an arm64 image without a variant
// (one layer each, so that a request may use the same media types).
func twoPlatforms(t *testing.T) (fixture, ispec.Descriptor, []ispec.Descriptor) {
	f := newLayout(t)
	amd, _ := f.image("linux", "amd64", "", "amd64 layer")
	arm, _ := f.image("linux", "arm64", "", "arm64 layer")
	idx := ispec.Index{Versioned: versioned, MediaType: ispec.MediaTypeImageIndex, Manifests: []ispec.Descriptor{amd, arm},
		Annotations: map[string]string{"org.example": "kept"}}
	raw, _ := json.Marshal(idx)
	d := f.blob(ispec.MediaTypeImageIndex, raw)
	f.index(d)
	return f, d, []ispec.Descriptor{amd, arm}
}

func TestImportIndex(t *testing.T) {
	for _, tc := range []struct {
		name      string
		platforms []string
		setup     func(f fixture, entries []ispec.Descriptor)
		keep      bool // the source index's bytes are kept
		wantErr   error
		wantText  string
	}{
		{name: "all platforms keep the index", platforms: []string{"linux/amd64", "linux/arm64/v8"}, keep: true},
		{name: "one platform makes a new index", platforms: []string{"linux/arm64"}},
		{name: "another order makes a new index", platforms: []string{"linux/arm64", "linux/amd64"}},
		{name: "index.json itself", platforms: []string{"linux/amd64", "linux/arm64"}, setup: func(f fixture, entries []ispec.Descriptor) {
			f.index(entries...)
		}},
		{name: "same platform twice", platforms: []string{"linux/amd64", "linux/amd64"}, wantErr: ErrInvalidArgument, wantText: "select the same manifest"},
		{name: "missing platform", platforms: []string{"linux/amd64", "linux/riscv64"}, wantErr: ErrNoMatch, wantText: "no manifest for linux/riscv64 (it has: linux/amd64, linux/arm64)"},
		{name: "corrupt arm64 layer", platforms: []string{"linux/amd64", "linux/arm64"}, setup: func(f fixture, entries []ispec.Descriptor) {
			raw, _ := os.ReadFile(f.path(entries[1]))
			var m ispec.Manifest
			json.Unmarshal(raw, &m)
			b, _ := os.ReadFile(f.path(m.Layers[0]))
			b[20] ^= 1
			os.WriteFile(f.path(m.Layers[0]), b, 0o644)
		}, wantErr: ErrMismatch, wantText: "layer 0 of manifest for linux/arm64"},
		{name: "corrupt nested index", platforms: []string{"linux/amd64"}, setup: func(f fixture, entries []ispec.Descriptor) {
			var idx ispec.Index
			b, _ := os.ReadFile(filepath.Join(f.dir, "index.json"))
			json.Unmarshal(b, &idx)
			nested, _ := os.ReadFile(f.path(idx.Manifests[0]))
			os.WriteFile(f.path(idx.Manifests[0]), []byte(strings.Replace(string(nested), "kept", "kepT", 1)), 0o644)
		}, wantErr: ErrMismatch, wantText: "image index sha256:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, src, entries := twoPlatforms(t)
			if tc.setup != nil {
				tc.setup(f, entries)
			}
			var reqs []ManifestRequest
			for _, p := range tc.platforms {
				reqs = append(reqs, request(t, p, 1))
			}
			out := t.TempDir()
			io := IndexOutputs{Index: filepath.Join(out, "index.json"), Descriptor: filepath.Join(out, "descriptor.json"), Digest: filepath.Join(out, "digest")}
			l, err := Open(f.dir)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := l.ImportIndex(context.Background(), reqs, io)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ImportIndex() = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				t.Log(err)
				if !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), f.dir) {
					t.Errorf("error %q does not mention %q and the layout", err, tc.wantText)
				}
				if _, serr := os.Stat(io.Index); serr == nil {
					t.Error("index written after an error")
				}
				return
			}
			raw, _ := os.ReadFile(io.Index)
			if got, _ := os.ReadFile(io.Digest); string(got) != sum(raw) || string(desc.Digest) != sum(raw) {
				t.Errorf("digest file %s, index %s, returned %s", got, sum(raw), desc.Digest)
			}
			if (sum(raw) == string(src.Digest)) != tc.keep {
				t.Errorf("index digest %s, source %s: keep = %v", sum(raw), src.Digest, tc.keep)
			}
			var idx ispec.Index
			if err := json.Unmarshal(raw, &idx); err != nil {
				t.Fatal(err)
			}
			if len(idx.Manifests) != len(reqs) {
				t.Fatalf("index has %d manifests, want %d", len(idx.Manifests), len(reqs))
			}
			for i, r := range reqs {
				m, _ := os.ReadFile(r.Manifest)
				p := idx.Manifests[i].Platform
				if string(idx.Manifests[i].Digest) != sum(m) || p == nil || !r.Platform.matches(p) {
					t.Errorf("index entry %d (%s, %v) is not the manifest for %s (%s)", i, idx.Manifests[i].Digest, p, r.Platform, sum(m))
				}
				checkImage(t, r, idx.Manifests[i])
			}
			if tc.setup == nil && idx.Annotations["org.example"] != "kept" {
				t.Errorf("index annotations %v: the source index's are lost", idx.Annotations)
			}
		})
	}
}

// A FIFO in place of a blob fails at once instead of blocking the reader.
func TestFIFOBlob(t *testing.T) {
	f := newLayout(t)
	d, m := f.image("linux", "amd64", "", "x")
	f.index(d)
	os.Remove(f.path(m.Layers[0]))
	if err := mkfifo(f.path(m.Layers[0])); err != nil {
		t.Skip(err)
	}
	l, err := Open(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.ImportManifest(context.Background(), request(t, "linux/amd64", 1))
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("ImportManifest() = %v, want a not-a-regular-file error", err)
	}
}

// A single image is found in the index that index.json points to, too.
func TestImportManifestFromNestedIndex(t *testing.T) {
	f, _, entries := twoPlatforms(t)
	l, err := Open(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	r := request(t, "linux/arm64", 1)
	if _, err := l.ImportManifest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	checkImage(t, r, entries[1])
}
