// The tests in this file read the outputs back with go-containerregistry's
// pkg/v1/layout and check them with pkg/v1/validate: an implementation that
// shares no code with pkg/layout.
package layout_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
)

// untar extracts a tar output to a new directory.
func untar(t *testing.T, file string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGGCRLayout(t *testing.T) {
	f := newFixture(t)
	all := layout.WithLayers(f.plain, f.gz, f.zst, f.l4)
	// validate assumes gzip layers when it reads their content, so images
	// with other layers get validate.Fast (manifest, config, existence)
	// and their content is checked by checkGGCRLayer.
	gzOnly := makeImage(t, f.dir, "gzonly", "amd64", f.gz, f.l4)
	oci := func(images []layout.Image, opts ...layout.Option) func(string) error {
		return func(out string) error { return layout.WriteOCILayout(context.Background(), out, images, opts...) }
	}
	docker := func(img layout.Image, opts ...layout.Option) func(string) error {
		return func(out string) error { return layout.WriteDockerSave(context.Background(), out, img, opts...) }
	}
	for _, tc := range []struct {
		name     string
		write    func(out string) error
		format   layout.Format
		images   []layout.Image
		index    bool
		gzipOnly bool
		shallow  bool
		docker   bool
	}{
		{"image", oci([]layout.Image{f.amd64}, all), layout.Directory, []layout.Image{f.amd64}, false, false, false, false},
		{"gzip image", oci([]layout.Image{gzOnly}, all), layout.Directory, []layout.Image{gzOnly}, false, true, false, false},
		{"index tar", oci([]layout.Image{f.amd64, f.arm64}, all, layout.WithIndex(f.index), layout.WithFormat(layout.Tar)),
			layout.Tar, []layout.Image{f.amd64, f.arm64}, true, false, false, false},
		{"shallow index", oci([]layout.Image{f.amd64, f.arm64}, layout.WithLayers(f.zst), layout.WithIndex(f.index), layout.WithAllowMissingBlobs(true)),
			layout.Directory, []layout.Image{f.amd64, f.arm64}, true, false, true, false},
		{"docker save with zstd", docker(f.amd64, all, layout.WithTag("app")), layout.Tar, []layout.Image{f.amd64}, false, false, false, true},
		{"docker save gzip", docker(gzOnly, all, layout.WithTag("app")), layout.Tar, []layout.Image{gzOnly}, false, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if err := tc.write(out); err != nil {
				t.Fatal(err)
			}
			dir := out
			if tc.format == layout.Tar {
				dir = untar(t, out)
			}
			var vopts []validate.Option
			if !tc.gzipOnly {
				vopts = append(vopts, validate.Fast)
			}
			top, err := ggcrlayout.ImageIndexFromPath(dir)
			if err != nil {
				t.Fatalf("ImageIndexFromPath() = %v", err)
			}
			im, err := top.IndexManifest()
			if err != nil || len(im.Manifests) == 0 {
				t.Fatalf("IndexManifest() = %v, %v", im, err)
			}
			var images []v1.Image
			if tc.index {
				idx, err := top.ImageIndex(im.Manifests[0].Digest)
				if err != nil {
					t.Fatal(err)
				}
				if !tc.shallow {
					if err := validate.Index(idx, vopts...); err != nil {
						t.Errorf("validate.Index() = %v", err)
					}
				}
				m, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range m.Manifests {
					img, err := idx.Image(d.Digest)
					if err != nil {
						t.Fatal(err)
					}
					images = append(images, img)
				}
			} else {
				img, err := top.Image(im.Manifests[0].Digest)
				if err != nil {
					t.Fatal(err)
				}
				images = append(images, img)
			}
			if len(images) != len(tc.images) {
				t.Fatalf("%d images, want %d", len(images), len(tc.images))
			}
			for i, img := range images {
				// The manifest is the original one, except where docker
				// save decompressed layers.
				wantManifest := sum(readFile(t, tc.images[i].Manifest))
				if d, err := img.Digest(); err != nil || (d.String() == wantManifest) == tc.docker {
					t.Errorf("image %d: Digest() = %v, %v, original manifest %s", i, d, err, wantManifest)
				}
				cfgName, err := img.ConfigName()
				if err != nil || cfgName.String() != sum(readFile(t, tc.images[i].Config)) {
					t.Errorf("image %d: ConfigName() = %v, %v", i, cfgName, err)
				}
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				m, err := img.Manifest()
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Layers) != len(cf.RootFS.DiffIDs) {
					t.Fatalf("image %d: %d layers, %d diff_ids", i, len(m.Layers), len(cf.RootFS.DiffIDs))
				}
				if tc.shallow {
					continue
				}
				if err := validate.Image(img, vopts...); err != nil {
					t.Errorf("image %d: validate.Image() = %v", i, err)
				}
				layers, err := img.Layers()
				if err != nil {
					t.Fatal(err)
				}
				for j, l := range layers {
					if d, err := l.DiffID(); err != nil || d != cf.RootFS.DiffIDs[j] {
						t.Errorf("image %d layer %d: DiffID() = %v, %v, want %v", i, j, d, err, cf.RootFS.DiffIDs[j])
					}
					if d, err := l.Digest(); err != nil || d != m.Layers[j].Digest {
						t.Errorf("image %d layer %d: Digest() = %v, %v, want %v", i, j, d, err, m.Layers[j].Digest)
					}
					if mt, _ := l.MediaType(); tc.docker && strings.HasSuffix(string(mt), "zstd") {
						t.Errorf("image %d layer %d: %s in a docker archive", i, j, mt)
					}
					checkGGCRLayer(t, l, cf.RootFS.DiffIDs[j].String())
				}
			}
		})
	}
}
