package load

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testLayer is a gzip layer of one file.
type testLayer struct {
	data   []byte
	diffID digest.Digest
}

// newTestLayer returns a layer with the file /name holding content.
func newTestLayer(t *testing.T, name, content string) testLayer {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return testLayer{data: gz.Bytes(), diffID: digest.FromBytes(raw.Bytes())}
}

func descFor(mediaType string, data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

// newTestManifest writes the layers into dir and returns an OCI manifest
// of them for the platform ("" for a config without os and architecture).
func newTestManifest(t *testing.T, dir string, platform string, layers ...testLayer) Manifest {
	t.Helper()
	var p ocispec.Platform
	if platform != "" {
		var err error
		if p, err = parsePlatform(platform); err != nil {
			t.Fatal(err)
		}
	}
	cfg := ocispec.Image{Platform: p, RootFS: ocispec.RootFS{Type: "layers"}}
	m := Manifest{}
	om := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.diffID)
		d := descFor(ocispec.MediaTypeImageLayerGzip, l.data)
		path := filepath.Join(dir, d.Digest.Encoded())
		if err := os.WriteFile(path, l.data, 0o644); err != nil {
			t.Fatal(err)
		}
		om.Layers = append(om.Layers, d)
		m.Layers = append(m.Layers, Layer{Descriptor: d, Path: path})
	}
	m.Config = mustJSON(t, cfg)
	om.Config = descFor(ocispec.MediaTypeImageConfig, m.Config)
	m.Data = mustJSON(t, om)
	m.Descriptor = descFor(ocispec.MediaTypeImageManifest, m.Data)
	return m
}

// parsePlatform parses "os/arch[/variant]" without normalizing.
func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return ocispec.Platform{}, fmt.Errorf("platform %q", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// singleImage is an image whose root is the manifest.
func singleImage(m Manifest) *Image {
	return &Image{Root: m.Descriptor, Manifests: []Manifest{m}}
}

// indexImage is an image whose root is an index of the manifests, each
// entry with the platform of its config.
func indexImage(t *testing.T, ms ...Manifest) *Image {
	t.Helper()
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for _, m := range ms {
		var c ocispec.Image
		if err := json.Unmarshal(m.Config, &c); err != nil {
			t.Fatal(err)
		}
		e := m.Descriptor
		if c.OS != "" {
			p := c.Platform
			e.Platform = &p
		}
		idx.Manifests = append(idx.Manifests, e)
	}
	data := mustJSON(t, idx)
	return &Image{Root: descFor(ocispec.MediaTypeImageIndex, data), Index: data, Manifests: ms}
}

// mapFetcher serves blobs from memory and counts the opens.
type mapFetcher struct {
	mu    sync.Mutex
	blobs map[digest.Digest][]byte
	opens int
	// cut, if set, makes readers fail after that many bytes.
	cut int
}

func (f *mapFetcher) Open(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	data, ok := f.blobs[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("blob %s: not found", desc.Digest)
	}
	if f.cut > 0 {
		return io.NopCloser(io.MultiReader(bytes.NewReader(data[:f.cut]), errReader{})), nil
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("connection reset by the test") }

// withoutPath makes layer j of manifest m a missing blob served by f. The
// manifests of other images that share the layer keep its file.
func withoutPath(t *testing.T, img *Image, f *mapFetcher, m, j int) {
	t.Helper()
	img.Manifests[m].Layers = append([]Layer(nil), img.Manifests[m].Layers...)
	l := &img.Manifests[m].Layers[j]
	data, err := os.ReadFile(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	if f.blobs == nil {
		f.blobs = map[digest.Digest][]byte{}
	}
	f.blobs[l.Descriptor.Digest] = data
	l.Path = ""
	img.Fetcher = f
}
