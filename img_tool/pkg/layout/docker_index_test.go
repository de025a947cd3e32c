package layout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// indexCase is an index of two platforms and the layers of its images.
type indexCase struct {
	index  string
	images []layout.Image // in index order; the first is docker load's
	layers [][]layout.Layer
}

// dockerEntries reads manifest.json of a docker save tree.
func dockerEntries(t *testing.T, files map[string][]byte) []struct {
	Config   string
	RepoTags []string
	Layers   []string
} {
	t.Helper()
	var dm []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &dm); err != nil {
		t.Fatalf("manifest.json = %s: %v", files["manifest.json"], err)
	}
	return dm
}

func TestDockerSaveIndex(t *testing.T) {
	f := newFixture(t)
	// An index with arm64 first, in a directory of its own.
	armFirst := makeIndex(t, t.TempDir(), f.arm64, f.amd64)
	// Two images of gzip layers only, which go-containerregistry's
	// tarball reader and validate read in full.
	gzAmd := makeImage(t, f.dir, "gzamd", "amd64", f.gz, f.l4)
	gzArm := makeImage(t, f.dir, "gzarm", "arm64", f.l4)
	gzIndex := makeIndex(t, t.TempDir(), gzAmd, gzArm)

	amdLayers := []layout.Layer{f.plain, f.gz, f.zst}
	armLayers := []layout.Layer{f.plain, f.gz, f.l4}
	both := indexCase{f.index, []layout.Image{f.amd64, f.arm64}, [][]layout.Layer{amdLayers, armLayers}}
	for _, tc := range []struct {
		name   string
		ix     indexCase
		given  []layout.Image // as passed; nil: ix.images
		tags   []string
		format layout.Format
		gzip   bool // only gzip layers: validate reads every layer
	}{
		{"two platforms", both, nil, []string{"app:latest", "registry.local/app:v1"}, layout.Tar, false},
		{"images given in another order", both, []layout.Image{f.arm64, f.amd64}, []string{"app:latest"}, layout.Tar, false},
		{"no tags", both, nil, nil, layout.Tar, false},
		{"arm64 first", indexCase{armFirst, []layout.Image{f.arm64, f.amd64}, [][]layout.Layer{armLayers, amdLayers}}, nil, []string{"app:latest"}, layout.Tar, false},
		{"gzip", indexCase{gzIndex, []layout.Image{gzAmd, gzArm}, [][]layout.Layer{{f.gz, f.l4}, {f.l4}}}, nil, []string{"app:latest"}, layout.Tar, true},
		{"directory", both, nil, []string{"app:1"}, layout.Directory, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given := tc.given
			if given == nil {
				given = tc.ix.images
			}
			var all []layout.Layer
			for _, ls := range tc.ix.layers {
				all = append(all, ls...)
			}
			opts := []layout.Option{layout.WithIndex(tc.ix.index), layout.WithLayers(all...), layout.WithFormat(tc.format)}
			for _, tag := range tc.tags {
				opts = append(opts, layout.WithTag(tag))
			}
			outDir := t.TempDir()
			out := filepath.Join(outDir, "image.tar")
			if err := layout.WriteDockerSaveIndex(context.Background(), out, given, opts...); err != nil {
				t.Fatalf("WriteDockerSaveIndex() = %v", err)
			}
			if got := entries(t, outDir); !reflect.DeepEqual(got, []string{"image.tar"}) {
				t.Errorf("output directory holds %q, want only image.tar", got)
			}
			files := readTree(t, out, tc.format)

			// The entries: the index, every manifest, config and layer
			// as they are, and the zstd layers of the first image
			// decompressed under their diff_id.
			indexDigest := sum(readFile(t, tc.ix.index))
			want := map[string]bool{"blobs/": true, "blobs/sha256/": true, "index.json": true, "manifest.json": true, "oci-layout": true,
				"blobs/sha256/" + hexOf(indexDigest): true}
			for k, img := range tc.ix.images {
				want["blobs/sha256/"+hexOf(sum(readFile(t, img.Manifest)))] = true
				want["blobs/sha256/"+hexOf(sum(readFile(t, img.Config)))] = true
				for _, l := range tc.ix.layers[k] {
					want["blobs/sha256/"+hexOf(l.Metadata.Digest)] = true
					if k == 0 && l.Metadata.MediaType == metadata.MediaTypeTarZstd {
						want["blobs/sha256/"+hexOf(l.Metadata.DiffID)] = true
					}
				}
			}
			var got, wantNames []string
			for name := range files {
				got = append(got, name)
			}
			for name := range want {
				wantNames = append(wantNames, name)
			}
			sort.Strings(got)
			sort.Strings(wantNames)
			if !slices.Equal(got, wantNames) {
				t.Errorf("entries\n %q\nwant\n %q", got, wantNames)
			}

			// The OCI part: the decompressed layers are for docker load
			// only, so checkTree sees the tree without them.
			oci := map[string][]byte{}
			for name, b := range files {
				oci[name] = b
			}
			for _, l := range tc.ix.layers[0] {
				if l.Metadata.MediaType == metadata.MediaTypeTarZstd {
					delete(oci, "blobs/sha256/"+hexOf(l.Metadata.DiffID))
				}
			}
			top := checkTree(t, oci)
			if n := max(1, len(tc.tags)); len(top) != n {
				t.Fatalf("index.json lists %d descriptors, want %d", len(top), n)
			}
			for i, d := range top {
				if string(d.Digest) != indexDigest || d.MediaType != ispec.MediaTypeImageIndex || d.Size != int64(len(readFile(t, tc.ix.index))) {
					t.Errorf("index.json descriptor %d = %+v, want the index %s", i, d, indexDigest)
				}
				if len(tc.tags) > 0 && d.Annotations[ispec.AnnotationRefName] != tc.tags[i] {
					t.Errorf("index.json descriptor %d annotations %v, want tag %s", i, d.Annotations, tc.tags[i])
				}
				if len(tc.tags) == 0 && d.Annotations != nil {
					t.Errorf("index.json descriptor %d annotations %v, want none", i, d.Annotations)
				}
			}

			// The docker part: the first image of the index.
			first := tc.ix.images[0]
			config := readFile(t, first.Config)
			dm := dockerEntries(t, files)
			if len(dm) != 1 {
				t.Fatalf("manifest.json lists %d images, want 1", len(dm))
			}
			if want := "blobs/sha256/" + hexOf(sum(config)); dm[0].Config != want {
				t.Errorf("Config = %s, want %s (the first image)", dm[0].Config, want)
			}
			if !slices.Equal(dm[0].RepoTags, tc.tags) || dm[0].RepoTags == nil {
				t.Errorf("RepoTags = %#v, want %q", dm[0].RepoTags, tc.tags)
			}
			if len(dm[0].Layers) != len(tc.ix.layers[0]) {
				t.Fatalf("Layers = %q, want %d", dm[0].Layers, len(tc.ix.layers[0]))
			}
			for i, l := range tc.ix.layers[0] {
				want := "blobs/sha256/" + hexOf(l.Metadata.Digest)
				if l.Metadata.MediaType == metadata.MediaTypeTarZstd {
					want = "blobs/sha256/" + hexOf(l.Metadata.DiffID)
				}
				if dm[0].Layers[i] != want {
					t.Errorf("Layers[%d] = %s, want %s", i, dm[0].Layers[i], want)
				}
				if got := diffID(t, files[dm[0].Layers[i]]); got != l.Metadata.DiffID {
					t.Errorf("layer %d has diff_id %s, want %s", i, got, l.Metadata.DiffID)
				}
			}

			if tc.format != layout.Tar {
				return
			}
			// go-containerregistry reads the tar as an OCI layout: the
			// index and its images, original manifests, in index order.
			var vopts []validate.Option
			if !tc.gzip {
				vopts = append(vopts, validate.Fast)
			}
			lp, err := ggcrlayout.ImageIndexFromPath(untar(t, out))
			if err != nil {
				t.Fatalf("ImageIndexFromPath() = %v", err)
			}
			h, err := v1.NewHash(string(top[0].Digest))
			if err != nil {
				t.Fatal(err)
			}
			idx, err := lp.ImageIndex(h)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Index(idx, vopts...); err != nil {
				t.Errorf("validate.Index() = %v", err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(im.Manifests) != len(tc.ix.images) {
				t.Fatalf("the index lists %d manifests, want %d", len(im.Manifests), len(tc.ix.images))
			}
			for k, d := range im.Manifests {
				if want := sum(readFile(t, tc.ix.images[k].Manifest)); d.Digest.String() != want {
					t.Errorf("manifest %d is %s, want %s", k, d.Digest, want)
				}
				img, err := idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				layers, err := img.Layers()
				if err != nil {
					t.Fatal(err)
				}
				for j, l := range layers {
					checkGGCRLayer(t, l, tc.ix.layers[k][j].Metadata.DiffID)
				}
			}

			// ... and as a docker tarball, as docker load would.
			img, err := tarball.ImageFromPath(out, nil)
			if err != nil {
				t.Fatalf("tarball.ImageFromPath() = %v", err)
			}
			if name, err := img.ConfigName(); err != nil || name.String() != sum(config) {
				t.Errorf("ConfigName() = %v, %v, want %s", name, err, sum(config))
			}
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != len(tc.ix.layers[0]) {
				t.Fatalf("%d layers, want %d", len(layers), len(tc.ix.layers[0]))
			}
			for i, l := range layers {
				if d, err := l.DiffID(); err != nil || d.String() != tc.ix.layers[0][i].Metadata.DiffID {
					t.Errorf("layer %d: DiffID() = %v, %v, want %s", i, d, err, tc.ix.layers[0][i].Metadata.DiffID)
				}
			}
			if tc.gzip {
				if err := validate.Image(img); err != nil {
					t.Errorf("validate.Image() of the docker tarball = %v", err)
				}
			}
		})
	}
}

// TestDockerSaveIndexDeterministic: equal inputs give equal bytes, however
// the images and layers are ordered.
func TestDockerSaveIndexDeterministic(t *testing.T) {
	f := newFixture(t)
	write := func(images []layout.Image, layers ...layout.Layer) []byte {
		out := filepath.Join(t.TempDir(), "image.tar")
		err := layout.WriteDockerSaveIndex(context.Background(), out, images,
			layout.WithIndex(f.index), layout.WithLayers(layers...), layout.WithTag("app:latest"))
		if err != nil {
			t.Fatal(err)
		}
		return readFile(t, out)
	}
	a := write([]layout.Image{f.amd64, f.arm64}, f.plain, f.gz, f.zst, f.l4)
	b := write([]layout.Image{f.arm64, f.amd64}, f.l4, f.zst, f.gz, f.plain)
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same index differ")
	}
}

func TestDockerSaveIndexErrors(t *testing.T) {
	f := newFixture(t)
	all := layout.WithLayers(f.plain, f.gz, f.zst, f.l4)
	both := []layout.Image{f.amd64, f.arm64}

	// A zstd blob that matches its digest but not its diff_id, in the
	// first image; and an arm64 image whose config disagrees with the
	// metadata of its last layer.
	dir := t.TempDir()
	badZstd := f.zst
	badZstd.Metadata.DiffID = sum([]byte("something else"))
	badZstdImg := makeImage(t, dir, "badzstd", "amd64", f.plain, badZstd)
	badZstdIndex := makeIndex(t, t.TempDir(), badZstdImg, f.arm64)
	otherL4 := f.l4
	otherL4.Metadata.DiffID = sum([]byte("other"))
	otherArm := makeImage(t, dir, "otherarm", "arm64", otherL4)
	otherIndex := makeIndex(t, t.TempDir(), f.amd64, otherArm)

	save := func(images []layout.Image, opts ...layout.Option) func(string) error {
		return func(out string) error { return layout.WriteDockerSaveIndex(context.Background(), out, images, opts...) }
	}
	for _, tc := range []struct {
		name     string
		write    func(out string) error
		wantErr  error
		contains []string
	}{
		{"layer of the second image missing", save(both, layout.WithIndex(f.index), layout.WithLayers(f.plain, f.gz, f.zst)), layout.ErrMissingBlob,
			[]string{f.l4.Metadata.Digest, "arm64.manifest.json", "docker load", "not shallow"}},
		{"layer of the first image missing, tar", save(both, layout.WithIndex(f.index), layout.WithLayers(f.plain, f.gz, f.l4), layout.WithFormat(layout.Tar)), layout.ErrMissingBlob,
			[]string{f.zst.Metadata.Digest, "amd64.manifest.json"}},
		{"allow missing blobs", save(both, layout.WithIndex(f.index), all, layout.WithAllowMissingBlobs(true)), layout.ErrInvalidArgument,
			[]string{"missing blobs cannot be allowed"}},
		{"no index", save(both, all), layout.ErrInvalidArgument, []string{"without an index"}},
		{"index entry without manifest", save([]layout.Image{f.amd64}, layout.WithIndex(f.index), all), layout.ErrMissingBlob,
			[]string{"linux/arm64", "no manifest"}},
		{"manifest not in index", save([]layout.Image{f.amd64, f.arm64, badZstdImg}, layout.WithIndex(f.index), all), layout.ErrInvalidArgument,
			[]string{"badzstd.manifest.json", "not listed"}},
		{"zstd diff_id of the first image", save([]layout.Image{badZstdImg, f.arm64}, layout.WithIndex(badZstdIndex), layout.WithLayers(f.plain, f.gz, badZstd, f.l4)), layout.ErrMismatch,
			[]string{"decompresses to " + f.zst.Metadata.DiffID}},
		{"diff_id of the second image", save([]layout.Image{f.amd64, otherArm}, layout.WithIndex(otherIndex), all), layout.ErrMismatch,
			[]string{"diff_id " + f.l4.Metadata.DiffID, "otherarm.config.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			err := tc.write(filepath.Join(outDir, "out"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if got := entries(t, outDir); len(got) != 0 {
				t.Errorf("output directory holds %q after the error, want nothing", got)
			}
		})
	}
}
