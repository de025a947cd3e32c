package layoutmeta_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/rules-img/rules_img/img_tool/pkg/layoutimport/layoutdir"
	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
	"github.com/rules-img/rules_img/img_tool/pkg/structuretest"
	"github.com/rules-img/rules_img/img_tool/pkg/structuretest/layoutmeta"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// twoImages writes a layout whose index holds two images of two layers.
func twoImages(t *testing.T) (string, []v1.Image) {
	t.Helper()
	dir := t.TempDir()
	var imgs []v1.Image
	idx := mutate.IndexMediaType(empty.Index, "application/vnd.oci.image.index.v1+json")
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 2)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	return dir, imgs
}

func listingOf(t *testing.T, l v1.Layer) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	w := mtree.NewWriter(&b)
	tee := mtree.NewTarTee(w)
	io.Copy(tee, rc)
	if err := tee.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.String()
}

func readImages(t *testing.T, out string) []structuretest.ImageSpec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, structuretest.ImagesFile))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Images []structuretest.ImageSpec }
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	return got.Images
}

func TestWrite(t *testing.T) {
	dir, imgs := twoImages(t)
	out := t.TempDir()
	if err := layoutmeta.Write(dir, out, tarpolicy.Limits{}); err != nil {
		t.Fatal(err)
	}
	got := readImages(t, out)
	if len(got) != 2 {
		t.Fatalf("%d images, want 2", len(got))
	}
	for i, img := range imgs {
		d, _ := img.Digest()
		if want := []string{"linux/amd64", "linux/arm64"}[i] + " " + d.String(); got[i].Name != want {
			t.Errorf("image %d named %q, want %q", i, got[i].Name, want)
		}
		raw, _ := img.RawConfigFile()
		if c, _ := os.ReadFile(filepath.Join(out, got[i].Config)); !bytes.Equal(c, raw) {
			t.Errorf("image %d: config differs", i)
		}
		layers, _ := img.Layers()
		if len(got[i].Layers) != len(layers) {
			t.Fatalf("image %d: %d layers, want %d", i, len(got[i].Layers), len(layers))
		}
		for j, l := range layers {
			listing, err := os.ReadFile(filepath.Join(out, got[i].Layers[j].Mtree))
			if err != nil {
				t.Fatal(err)
			}
			if want := listingOf(t, l); string(listing) != want || !strings.Contains(want, "type=file") {
				t.Errorf("image %d layer %d: listing\n%s\nwant\n%s", i, j, listing, want)
			}
		}
	}
}

func TestWriteShallowAndCorrupt(t *testing.T) {
	dir, imgs := twoImages(t)
	layers, _ := imgs[0].Layers()
	d0, _ := layers[0].Digest()
	d1, _ := layers[1].Digest()
	// A shallow layout: the first layer's blob is missing, so it gets no listing.
	if err := os.Remove(filepath.Join(dir, "blobs", "sha256", d0.Hex)); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := layoutmeta.Write(dir, out, tarpolicy.Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := readImages(t, out)[0].Layers; got[0].Mtree != "" || got[1].Mtree == "" {
		t.Errorf("layers %+v: want no listing for the missing blob only", got)
	}
	// A blob whose bytes do not have its digest fails, naming it.
	p := filepath.Join(dir, "blobs", "sha256", d1.Hex)
	rc, _ := layers[1].Uncompressed()
	plain, _ := io.ReadAll(rc)
	if err := os.WriteFile(p, plain, 0o644); err != nil { // a valid tar, but not the blob
		t.Fatal(err)
	}
	err := layoutmeta.Write(dir, t.TempDir(), tarpolicy.Limits{})
	if !errors.Is(err, layoutmeta.ErrInvalidLayout) || !strings.Contains(err.Error(), d1.String()) {
		t.Errorf("Write over a changed blob: %v", err)
	}
	noLayout := t.TempDir()
	if err := layoutmeta.Write(noLayout, t.TempDir(), tarpolicy.Limits{}); err == nil || !strings.Contains(err.Error(), "oci-layout is missing") || !strings.Contains(err.Error(), noLayout) {
		t.Errorf("Write of no layout: %v", err)
	}
}

// A layout that breaks a rule of the import is refused with an error
// naming the layout and the file, whatever image the file belongs to.
func TestWriteRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		// spoil changes the layout at dir; it returns the text the error
		// must name besides the layout.
		spoil   func(t *testing.T, dir string, img v1.Image) string
		wantErr error
	}{{
		name: "symlink leaving the layout",
		spoil: func(t *testing.T, dir string, img v1.Image) string {
			d, _ := img.ConfigName()
			p := filepath.Join(dir, "blobs", "sha256", d.Hex)
			outside := filepath.Join(filepath.Dir(dir), "outside-"+d.Hex)
			if err := os.Rename(p, outside); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join("..", "..", "..", filepath.Base(outside)), p); err != nil {
				t.Fatal(err)
			}
			return d.String()
		},
		wantErr: layoutdir.ErrEscape,
	}, {
		name: "config digest mismatch",
		spoil: func(t *testing.T, dir string, img v1.Image) string {
			d, _ := img.ConfigName()
			return flipByte(t, filepath.Join(dir, "blobs", "sha256", d.Hex), 20)
		},
		wantErr: layoutdir.ErrMismatch,
	}, {
		name: "layer digest mismatch",
		spoil: func(t *testing.T, dir string, img v1.Image) string {
			layers, _ := img.Layers()
			d, _ := layers[1].Digest()
			// Byte 4 of a gzip stream is part of its mtime: the stream
			// still reads, but its digest differs.
			return flipByte(t, filepath.Join(dir, "blobs", "sha256", d.Hex), 4)
		},
		wantErr: layoutdir.ErrMismatch,
	}, {
		name: "FIFO for a layer",
		spoil: func(t *testing.T, dir string, img v1.Image) string {
			layers, _ := img.Layers()
			d, _ := layers[0].Digest()
			p := filepath.Join(dir, "blobs", "sha256", d.Hex)
			os.Remove(p)
			if err := mkfifo(p); err != nil {
				t.Skip(err)
			}
			return d.String() + ": blobs/sha256/" + d.Hex + ": not a regular file"
		},
		wantErr: layoutdir.ErrInvalidArgument,
	}, {
		name: "no index.json",
		spoil: func(t *testing.T, dir string, img v1.Image) string {
			if err := os.Remove(filepath.Join(dir, "index.json")); err != nil {
				t.Fatal(err)
			}
			return "index.json is missing"
		},
		wantErr: layoutdir.ErrMissingBlob,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir, imgs := twoImages(t)
			want := tc.spoil(t, dir, imgs[1])
			out := t.TempDir()
			err := layoutmeta.Write(dir, out, tarpolicy.Limits{})
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, layoutmeta.ErrInvalidLayout) {
				t.Fatalf("Write() = %v, want %v and %v", err, tc.wantErr, layoutmeta.ErrInvalidLayout)
			}
			if !strings.Contains(err.Error(), "layout "+dir+": ") || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the layout and %q", err, want)
			}
			if _, err := os.Stat(filepath.Join(out, structuretest.ImagesFile)); err == nil {
				t.Errorf("%s written after an error", structuretest.ImagesFile)
			}
		})
	}
}

// flipByte changes byte i of the blob file at p, keeping its size; it
// returns the text of the mismatch error, which names the blob.
func flipByte(t *testing.T, p string, i int) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[i] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return "blobs/sha256/" + filepath.Base(p) + " holds " + strconv.Itoa(len(data)) + " bytes with digest "
}
