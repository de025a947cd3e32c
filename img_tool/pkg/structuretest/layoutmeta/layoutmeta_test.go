package layoutmeta_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

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
	if err := layoutmeta.Write(t.TempDir(), t.TempDir(), tarpolicy.Limits{}); err == nil || !strings.Contains(err.Error(), "index.json") {
		t.Errorf("Write of no layout: %v", err)
	}
}
