package layoutimport

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
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

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

var versioned = specs.Versioned{SchemaVersion: 2}

func sum(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func digestOf(s string) digest.Digest { return digest.Digest(s) }

// fixture writes OCI layouts by hand.
type fixture struct {
	t   *testing.T
	dir string
}

func newLayout(t *testing.T) fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := fixture{t, dir}
	f.write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	return f
}

func (f fixture) write(name string, data []byte) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// blob stores data and returns its descriptor.
func (f fixture) blob(mediaType string, data []byte) ispec.Descriptor {
	d := sum(data)
	f.write("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), data)
	return ispec.Descriptor{MediaType: mediaType, Digest: digestOf(d), Size: int64(len(data))}
}

func (f fixture) path(d ispec.Descriptor) string {
	return filepath.Join(f.dir, "blobs", "sha256", strings.TrimPrefix(string(d.Digest), "sha256:"))
}

func (f fixture) index(entries ...ispec.Descriptor) {
	data, _ := json.Marshal(ispec.Index{Versioned: versioned, MediaType: ispec.MediaTypeImageIndex, Manifests: entries})
	f.write("index.json", data)
}

// layer is a gzip tar with one file; it returns the blob and the diff_id.
func layer(content string) ([]byte, string) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "f.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
	tw.Write([]byte(content))
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tb.Bytes())
	zw.Close()
	return gz.Bytes(), sum(tb.Bytes())
}

// image stores an image of the given layer contents for os/arch and
// returns its manifest descriptor (with platform, as in an index).
func (f fixture) image(os, arch, variant string, contents ...string) (ispec.Descriptor, ispec.Manifest) {
	var layers []ispec.Descriptor
	var diffIDs []string
	for _, c := range contents {
		b, id := layer(c)
		layers = append(layers, f.blob(ispec.MediaTypeImageLayerGzip, b))
		diffIDs = append(diffIDs, id)
	}
	cfg, _ := json.Marshal(map[string]any{
		"os": os, "architecture": arch, "variant": variant,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
		"config": map[string]any{"Env": []string{"A=1"}},
	})
	m := ispec.Manifest{Versioned: versioned, MediaType: ispec.MediaTypeImageManifest, Config: f.blob(ispec.MediaTypeImageConfig, cfg), Layers: layers}
	raw, _ := json.Marshal(m)
	d := f.blob(ispec.MediaTypeImageManifest, raw)
	d.Platform = &ispec.Platform{OS: os, Architecture: arch, Variant: variant}
	return d, m
}

// request names outputs in a fresh directory for n gzip layers.
func request(t *testing.T, platform string, n int) ManifestRequest {
	t.Helper()
	out := t.TempDir()
	p, err := ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	r := ManifestRequest{
		Platform:   p,
		Manifest:   filepath.Join(out, "manifest.json"),
		Config:     filepath.Join(out, "config.json"),
		Descriptor: filepath.Join(out, "descriptor.json"),
		Digest:     filepath.Join(out, "digest"),
	}
	for i := range n {
		r.LayerMediaTypes = append(r.LayerMediaTypes, ispec.MediaTypeImageLayerGzip)
		r.Layers = append(r.Layers, LayerOutput{Blob: filepath.Join(out, fmt.Sprintf("layer%d.tgz", i)), Metadata: filepath.Join(out, fmt.Sprintf("layer%d.json", i))})
	}
	return r
}

// checkImage recomputes what the outputs of r claim: the manifest's digest
// is the digest file's and the source's, the descriptor describes it, the
// config matches the manifest, and every layer blob has the digest and
// size of its metadata, which match the manifest and the config's diff_ids.
func checkImage(t *testing.T, r ManifestRequest, want ispec.Descriptor) {
	t.Helper()
	raw, err := os.ReadFile(r.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(r.Digest); string(got) != sum(raw) || sum(raw) != string(want.Digest) {
		t.Errorf("digest file %q, manifest %s, source %s", got, sum(raw), want.Digest)
	}
	var desc ispec.Descriptor
	data, _ := os.ReadFile(r.Descriptor)
	if err := json.Unmarshal(data, &desc); err != nil {
		t.Fatal(err)
	}
	if string(desc.Digest) != sum(raw) || desc.Size != int64(len(raw)) || desc.MediaType != ispec.MediaTypeImageManifest ||
		desc.Platform == nil || desc.Platform.OS != r.Platform.OS || desc.Platform.Architecture != r.Platform.Architecture {
		t.Errorf("descriptor %s does not describe the manifest for %s", data, r.Platform)
	}
	var m ispec.Manifest
	json.Unmarshal(raw, &m)
	cfg, _ := os.ReadFile(r.Config)
	if sum(cfg) != string(m.Config.Digest) {
		t.Errorf("config %s, manifest names %s", sum(cfg), m.Config.Digest)
	}
	var c imageConfig
	json.Unmarshal(cfg, &c)
	for i, l := range r.Layers {
		md, err := metadata.Read(l.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		blob, _ := os.ReadFile(l.Blob)
		if sum(blob) != md.Digest || int64(len(blob)) != md.Size || md.Digest != string(m.Layers[i].Digest) || md.DiffID != c.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: blob %s (%d bytes), metadata %+v, manifest %s, diff_id %s", i, sum(blob), len(blob), md, m.Layers[i].Digest, c.RootFS.DiffIDs[i])
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if sum(plain) != md.DiffID {
			t.Errorf("layer %d: diff_id %s, metadata says %s", i, sum(plain), md.DiffID)
		}
	}
}

// noOutputs checks that a failed import left no output of r behind.
func noOutputs(t *testing.T, r ManifestRequest) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Dir(r.Manifest))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	for _, p := range []string{r.Manifest, r.Config, r.Descriptor, r.Digest} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written after an error", p)
		}
	}
}

func TestImportManifest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		platform string
		layers   int
		opts     []Option
		setup    func(f fixture, d ispec.Descriptor, m ispec.Manifest)
		wantErr  error
		wantText []string
	}{
		{name: "good", platform: "linux/amd64", layers: 2},
		{name: "arm64 is arm64/v8", platform: "linux/arm64/v8", layers: 1, setup: func(f fixture, _ ispec.Descriptor, _ ispec.Manifest) {
			d, _ := f.image("linux", "arm64", "", "arm")
			f.index(d)
		}},
		{name: "single image without platform", platform: "linux/amd64", layers: 2, setup: func(f fixture, d ispec.Descriptor, _ ispec.Manifest) {
			d.Platform = nil
			f.index(d)
		}},
		{name: "absolute symlink followed", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, m ispec.Manifest) {
			moved := filepath.Join(filepath.Dir(f.dir), "elsewhere")
			os.Rename(f.path(m.Layers[0]), moved)
			os.Symlink(moved, f.path(m.Layers[0]))
		}},
		{name: "relative symlink inside", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, m ispec.Manifest) {
			os.Rename(f.path(m.Layers[0]), filepath.Join(f.dir, "kept"))
			os.Symlink("../../kept", f.path(m.Layers[0]))
		}},
		{name: "missing blob", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, m ispec.Manifest) {
			os.Remove(f.path(m.Layers[1]))
		}, wantErr: ErrMissingBlob, wantText: []string{"layer 1 of manifest for linux/amd64", "is missing"}},
		{name: "digest mismatch", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, m ispec.Manifest) {
			b, _ := os.ReadFile(f.path(m.Layers[0]))
			b[len(b)/2] ^= 0xff
			os.WriteFile(f.path(m.Layers[0]), b, 0o644)
		}, wantErr: ErrMismatch, wantText: []string{"layer 0 of manifest for linux/amd64"}},
		{name: "size mismatch", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, m ispec.Manifest) {
			os.Truncate(f.path(m.Layers[1]), 10)
		}, wantErr: ErrMismatch, wantText: []string{"has 10 bytes"}},
		{name: "config digest mismatch", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, m ispec.Manifest) {
			b, _ := os.ReadFile(f.path(m.Config))
			os.WriteFile(f.path(m.Config), bytes.Replace(b, []byte("A=1"), []byte("A=2"), 1), 0o644)
		}, wantErr: ErrMismatch, wantText: []string{"config of manifest for linux/amd64"}},
		{name: "symlink escape", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, m ispec.Manifest) {
			// Same bytes, so only the symlink policy can refuse it.
			outside := filepath.Join(filepath.Dir(f.dir), "outside")
			os.Rename(f.path(m.Layers[0]), outside)
			os.Symlink("../../../outside", f.path(m.Layers[0]))
		}, wantErr: ErrEscape, wantText: []string{"-> ../../../outside", "blobs/sha256/"}},
		{name: "escaping directory symlink", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, _ ispec.Manifest) {
			os.Rename(filepath.Join(f.dir, "blobs"), filepath.Join(filepath.Dir(f.dir), "blobs"))
			os.Symlink("../blobs", filepath.Join(f.dir, "blobs"))
		}, wantErr: ErrEscape, wantText: []string{"symlink blobs -> ../blobs"}},
		{name: "oversized manifest", platform: "linux/amd64", layers: 2, opts: []Option{WithMaxJSONSize(400)}, wantErr: ErrTooLarge, wantText: []string{"manifest for linux/amd64", "limit of 400"}},
		{name: "oversized index.json", platform: "linux/amd64", layers: 2, opts: []Option{WithMaxJSONSize(400)}, setup: func(f fixture, d ispec.Descriptor, _ ispec.Manifest) {
			d.Annotations = map[string]string{"pad": strings.Repeat("x", 500)}
			f.index(d)
		}, wantErr: ErrTooLarge, wantText: []string{"index.json is larger than 400 bytes"}},
		{name: "no such platform", platform: "linux/s390x", layers: 2, wantErr: ErrNoMatch, wantText: []string{"no manifest for linux/s390x (it has: linux/amd64)"}},
		{name: "config for another platform", platform: "linux/amd64", layers: 1, setup: func(f fixture, _ ispec.Descriptor, _ ispec.Manifest) {
			d, _ := f.image("linux", "arm64", "", "x")
			d.Platform = &ispec.Platform{OS: "linux", Architecture: "amd64"}
			f.index(d)
		}, wantErr: ErrNoMatch, wantText: []string{"is for linux/arm64"}},
		{name: "layer count", platform: "linux/amd64", layers: 1, wantErr: ErrNoMatch, wantText: []string{
			`has 2 layers with media types ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+gzip"], but 1 were declared`,
		}},
		{name: "no oci-layout", platform: "linux/amd64", layers: 2, setup: func(f fixture, _ ispec.Descriptor, _ ispec.Manifest) {
			os.Remove(filepath.Join(f.dir, "oci-layout"))
		}, wantErr: ErrMissingBlob, wantText: []string{"oci-layout is missing"}},
		{name: "not sha256", platform: "linux/amd64", layers: 2, setup: func(f fixture, d ispec.Descriptor, _ ispec.Manifest) {
			d.Digest = digestOf("sha512:" + strings.Repeat("ab", 64))
			f.index(d)
		}, wantErr: ErrInvalidArgument, wantText: []string{"is not a sha256 digest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newLayout(t)
			d, m := f.image("linux", "amd64", "", "one", "two")
			f.index(d)
			want := d
			if tc.setup != nil {
				tc.setup(f, d, m)
				// The descriptor to expect is the one index.json names.
				var idx ispec.Index
				b, _ := os.ReadFile(filepath.Join(f.dir, "index.json"))
				json.Unmarshal(b, &idx)
				want = idx.Manifests[0]
			}
			r := request(t, tc.platform, tc.layers)
			var err error
			l, err := Open(f.dir, append([]Option{WithName("//x:y")}, tc.opts...)...)
			if err == nil {
				_, err = l.ImportManifest(context.Background(), r)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ImportManifest() = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				t.Log(err)
				for _, s := range append(tc.wantText, f.dir) {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				noOutputs(t, r)
				return
			}
			checkImage(t, r, want)
			md, _ := metadata.Read(r.Layers[0].Metadata)
			if !strings.HasPrefix(md.Name, "//x:y@sha256:") {
				t.Errorf("layer name %q", md.Name)
			}
		})
	}
}
