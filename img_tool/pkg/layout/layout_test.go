package layout_test

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
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// The fixtures are made with the standard library and klauspost's zstd
// encoder directly, and the outputs are checked by reading them back with
// archive/tar, encoding/json, crypto/sha256 and go-containerregistry.

func sum(b []byte) string             { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
func digestOf(s string) digest.Digest { return digest.Digest(s) }
func hexOf(d string) string           { return strings.TrimPrefix(d, "sha256:") }

// layerTar returns a tar with one file.
func layerTar(t *testing.T, name, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// makeLayer writes a layer blob (compression "", "gzip" or "zstd") and
// its metadata JSON to dir.
func makeLayer(t *testing.T, dir, name, compression, content string) layout.Layer {
	t.Helper()
	tb := layerTar(t, name, content)
	blob, mt := tb, metadata.MediaTypeTar
	switch compression {
	case "gzip":
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(tb)
		zw.Close()
		blob, mt = b.Bytes(), metadata.MediaTypeTarGzip
	case "zstd":
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		blob, mt = enc.EncodeAll(tb, nil), metadata.MediaTypeTarZstd
		enc.Close()
	}
	p := filepath.Join(dir, name+".blob")
	if err := os.WriteFile(p, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	md := metadata.Layer{Name: "//:" + name, DiffID: sum(tb), MediaType: mt, Digest: sum(blob), Size: int64(len(blob))}
	if err := metadata.Write(filepath.Join(dir, name+".json"), &md); err != nil {
		t.Fatal(err)
	}
	return layout.Layer{Metadata: md, Blob: p}
}

// makeImage writes a config and a manifest for the layers to dir.
func makeImage(t *testing.T, dir, name, arch string, layers ...layout.Layer) layout.Image {
	t.Helper()
	diffIDs := []string{}
	descs := []ispec.Descriptor{}
	for _, l := range layers {
		diffIDs = append(diffIDs, l.Metadata.DiffID)
		descs = append(descs, ispec.Descriptor{MediaType: l.Metadata.MediaType, Digest: digestOf(l.Metadata.Digest), Size: l.Metadata.Size})
	}
	config, err := json.Marshal(map[string]any{
		"architecture": arch,
		"os":           "linux",
		"config":       map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := ispec.Manifest{
		MediaType: ispec.MediaTypeImageManifest,
		Config:    ispec.Descriptor{MediaType: ispec.MediaTypeImageConfig, Digest: digestOf(sum(config)), Size: int64(len(config))},
		Layers:    descs,
	}
	m.SchemaVersion = 2
	manifest, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	img := layout.Image{Manifest: filepath.Join(dir, name+".manifest.json"), Config: filepath.Join(dir, name+".config.json")}
	if err := os.WriteFile(img.Manifest, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img.Config, config, 0o644); err != nil {
		t.Fatal(err)
	}
	return img
}

// makeIndex writes an index of the images to dir.
func makeIndex(t *testing.T, dir string, images ...layout.Image) string {
	t.Helper()
	idx := ispec.Index{MediaType: ispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, img := range images {
		raw := readFile(t, img.Manifest)
		var c struct{ Architecture string }
		json.Unmarshal(readFile(t, img.Config), &c)
		idx.Manifests = append(idx.Manifests, ispec.Descriptor{
			MediaType: ispec.MediaTypeImageManifest, Digest: digestOf(sum(raw)), Size: int64(len(raw)),
			Platform: &ispec.Platform{OS: "linux", Architecture: c.Architecture},
		})
	}
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "index.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a set of inputs: three layers and two images that share the
// first two.
type fixture struct {
	dir                string
	plain, gz, zst, l4 layout.Layer
	amd64, arm64       layout.Image
	index              string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: dir}
	f.plain = makeLayer(t, dir, "plain", "", "plain\n")
	f.gz = makeLayer(t, dir, "gz", "gzip", "gzipped\n")
	f.zst = makeLayer(t, dir, "zst", "zstd", strings.Repeat("zstd compressed\n", 100))
	f.l4 = makeLayer(t, dir, "arm", "gzip", "arm only\n")
	f.amd64 = makeImage(t, dir, "amd64", "amd64", f.plain, f.gz, f.zst)
	f.arm64 = makeImage(t, dir, "arm64", "arm64", f.plain, f.gz, f.l4)
	f.index = makeIndex(t, dir, f.amd64, f.arm64)
	return f
}

// readTree returns the files of a directory or tar output by slash path,
// with directories as names ending in "/" and nil content. For tars it
// checks that the entries are sorted and normalized.
func readTree(t *testing.T, out string, format layout.Format) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	if format == layout.Directory {
		err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == out {
				return err
			}
			rel, _ := filepath.Rel(out, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				files[rel+"/"] = nil
				return nil
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s is not a regular file", rel)
			}
			files[rel] = readFile(t, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		wantMode, wantType := int64(0o644), byte(tar.TypeReg)
		if strings.HasSuffix(h.Name, "/") {
			wantMode, wantType = 0o755, tar.TypeDir
		}
		if h.Mode != wantMode || h.Typeflag != wantType || h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("tar entry %s: mode %o type %c mtime %v uid %d gid %d %q %q, want normalized", h.Name, h.Mode, h.Typeflag, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if h.Typeflag == tar.TypeDir {
			files[h.Name] = nil
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("tar entries not sorted: %q", names)
	}
	return files
}

// checkTree checks the OCI part of a tree: oci-layout, the blob names are
// their digests, index.json has the wanted descriptors, and every blob
// that a manifest or index reaches is there, except the layers in missing.
// It returns the index.json descriptors.
func checkTree(t *testing.T, files map[string][]byte, missing ...string) []ispec.Descriptor {
	t.Helper()
	if got := string(files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", got)
	}
	for name, b := range files {
		if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && hex != "" {
			if got := sum(b); got != "sha256:"+hex {
				t.Errorf("%s has digest %s", name, got)
			}
		}
	}
	var idx ispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != ispec.MediaTypeImageIndex {
		t.Errorf("index.json: schemaVersion %d, mediaType %q", idx.SchemaVersion, idx.MediaType)
	}
	reached := map[string]bool{}
	var walk func(d ispec.Descriptor)
	walk = func(d ispec.Descriptor) {
		name := "blobs/sha256/" + d.Digest.Encoded()
		reached[name] = true
		b, ok := files[name]
		if !ok {
			if !slices.Contains(missing, string(d.Digest)) {
				t.Errorf("blob %s (%s) is missing", d.Digest, d.MediaType)
			}
			return
		}
		if slices.Contains(missing, string(d.Digest)) {
			t.Errorf("blob %s is there, want it missing", d.Digest)
		}
		if int64(len(b)) != d.Size {
			t.Errorf("blob %s has %d bytes, descriptor says %d", d.Digest, len(b), d.Size)
		}
		switch d.MediaType {
		case ispec.MediaTypeImageIndex:
			var ix ispec.Index
			if err := json.Unmarshal(b, &ix); err != nil {
				t.Fatal(err)
			}
			for _, m := range ix.Manifests {
				walk(m)
			}
		case ispec.MediaTypeImageManifest:
			var m ispec.Manifest
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			walk(m.Config)
			for _, l := range m.Layers {
				walk(l)
			}
		}
	}
	for _, d := range idx.Manifests {
		walk(d)
	}
	for name := range files {
		if strings.HasPrefix(name, "blobs/sha256/") && name != "blobs/sha256/" && !reached[name] {
			t.Errorf("%s is not reachable from index.json", name)
		}
	}
	return idx.Manifests
}

// entries lists the top level of dir, to see leftovers.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteOCILayout(t *testing.T) {
	f := newFixture(t)
	all := []layout.Layer{f.plain, f.gz, f.zst, f.l4}
	for _, tc := range []struct {
		name    string
		images  []layout.Image
		opts    []layout.Option
		topType string
		want    []string // blob files besides the top descriptor
		missing []string
		wantTag map[string]string
	}{
		{
			name:    "image directory",
			images:  []layout.Image{f.amd64},
			opts:    []layout.Option{layout.WithLayers(all...)},
			topType: ispec.MediaTypeImageManifest,
			want:    []string{f.plain.Metadata.Digest, f.gz.Metadata.Digest, f.zst.Metadata.Digest},
		},
		{
			name:    "image tar with tag",
			images:  []layout.Image{f.amd64},
			opts:    []layout.Option{layout.WithLayers(all...), layout.WithFormat(layout.Tar), layout.WithTag("app")},
			topType: ispec.MediaTypeImageManifest,
			want:    []string{f.plain.Metadata.Digest, f.gz.Metadata.Digest, f.zst.Metadata.Digest},
			wantTag: map[string]string{ispec.AnnotationRefName: "app", layout.AnnotationContainerdName: "docker.io/library/app:latest"},
		},
		{
			name:    "index directory",
			images:  []layout.Image{f.amd64, f.arm64},
			opts:    []layout.Option{layout.WithLayers(all...), layout.WithIndex(f.index), layout.WithTag("registry.local/app:v1")},
			topType: ispec.MediaTypeImageIndex,
			want:    []string{f.plain.Metadata.Digest, f.gz.Metadata.Digest, f.zst.Metadata.Digest, f.l4.Metadata.Digest},
			wantTag: map[string]string{ispec.AnnotationRefName: "registry.local/app:v1", layout.AnnotationContainerdName: "registry.local/app:v1"},
		},
		{
			name:    "index tar, manifests in another order",
			images:  []layout.Image{f.arm64, f.amd64},
			opts:    []layout.Option{layout.WithLayers(all...), layout.WithIndex(f.index), layout.WithFormat(layout.Tar), layout.WithVerifyDigests(true)},
			topType: ispec.MediaTypeImageIndex,
			want:    []string{f.plain.Metadata.Digest, f.gz.Metadata.Digest, f.zst.Metadata.Digest, f.l4.Metadata.Digest},
		},
		{
			name:    "shallow base allowed",
			images:  []layout.Image{f.amd64, f.arm64},
			opts:    []layout.Option{layout.WithLayers(f.zst, f.l4), layout.WithIndex(f.index), layout.WithAllowMissingBlobs(true)},
			topType: ispec.MediaTypeImageIndex,
			want:    []string{f.zst.Metadata.Digest, f.l4.Metadata.Digest},
			missing: []string{f.plain.Metadata.Digest, f.gz.Metadata.Digest},
		},
		{
			name:    "shallow base allowed, tar",
			images:  []layout.Image{f.amd64},
			opts:    []layout.Option{layout.WithLayers(f.zst), layout.WithAllowMissingBlobs(true), layout.WithFormat(layout.Tar)},
			topType: ispec.MediaTypeImageManifest,
			want:    []string{f.zst.Metadata.Digest},
			missing: []string{f.plain.Metadata.Digest, f.gz.Metadata.Digest},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "layout")
			if err := layout.WriteOCILayout(context.Background(), out, tc.images, tc.opts...); err != nil {
				t.Fatalf("WriteOCILayout() = %v", err)
			}
			if got := entries(t, outDir); !reflect.DeepEqual(got, []string{"layout"}) {
				t.Errorf("output directory holds %q, want only layout", got)
			}
			format := layout.Directory
			if strings.Contains(tc.name, "tar") {
				format = layout.Tar
			}
			files := readTree(t, out, format)
			top := checkTree(t, files, tc.missing...)
			if len(top) != 1 {
				t.Fatalf("index.json lists %d descriptors, want 1", len(top))
			}
			if top[0].MediaType != tc.topType {
				t.Errorf("top descriptor has mediaType %s, want %s", top[0].MediaType, tc.topType)
			}
			if tc.topType == ispec.MediaTypeImageIndex {
				if want := sum(readFile(t, f.index)); string(top[0].Digest) != want {
					t.Errorf("top descriptor %s, want the index %s", top[0].Digest, want)
				}
			} else {
				if want := sum(readFile(t, tc.images[0].Manifest)); string(top[0].Digest) != want {
					t.Errorf("top descriptor %s, want the manifest %s", top[0].Digest, want)
				}
				if p := top[0].Platform; p == nil || p.OS != "linux" || p.Architecture != "amd64" {
					t.Errorf("top descriptor platform %+v, want linux/amd64", p)
				}
			}
			if !reflect.DeepEqual(top[0].Annotations, tc.wantTag) {
				t.Errorf("top descriptor annotations %v, want %v", top[0].Annotations, tc.wantTag)
			}
			// The tree holds exactly the wanted layers, the manifests and
			// configs, the index if any and the top-level files.
			want := []string{"blobs/", "blobs/sha256/", "index.json", "oci-layout", "blobs/sha256/" + top[0].Digest.Encoded()}
			for _, d := range tc.want {
				want = append(want, "blobs/sha256/"+hexOf(d))
			}
			for _, img := range tc.images {
				want = append(want, "blobs/sha256/"+hexOf(sum(readFile(t, img.Manifest))), "blobs/sha256/"+hexOf(sum(readFile(t, img.Config))))
			}
			var got []string
			for name := range files {
				got = append(got, name)
			}
			slices.Sort(want)
			want = slices.Compact(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("tree holds\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestWriteOCILayoutDeterministic(t *testing.T) {
	f := newFixture(t)
	var outs [][]byte
	for i := range 2 {
		out := filepath.Join(t.TempDir(), fmt.Sprint("layout", i, ".tar"))
		err := layout.WriteOCILayout(context.Background(), out, []layout.Image{f.amd64, f.arm64},
			layout.WithIndex(f.index), layout.WithLayers(f.l4, f.zst, f.gz, f.plain), layout.WithFormat(layout.Tar))
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, readFile(t, out))
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two runs wrote different tars")
	}
}

// TestLinkSymlinkedBlob: a blob that is a symlink (as in a Bazel sandbox)
// ends up as a regular file, not as a link to the symlink.
func TestLinkSymlinkedBlob(t *testing.T) {
	f := newFixture(t)
	l := f.gz
	link := filepath.Join(t.TempDir(), "gz.link")
	if err := os.Symlink(l.Blob, link); err != nil {
		t.Fatal(err)
	}
	l.Blob = link
	out := filepath.Join(t.TempDir(), "layout")
	err := layout.WriteOCILayout(context.Background(), out, []layout.Image{f.amd64}, layout.WithLayers(f.plain, l, f.zst))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(out, "blobs", "sha256", hexOf(l.Metadata.Digest)))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Errorf("blob is %v, want a regular file", fi.Mode())
	}
	fi, err = os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("output directory has mode %v, want 0755", fi.Mode().Perm())
	}
}

// TestOutputIntoEmptyDirectory: Bazel creates the directory of a tree
// artifact before the action runs.
func TestOutputIntoEmptyDirectory(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	all := layout.WithLayers(f.plain, f.gz, f.zst)
	if err := layout.WriteOCILayout(context.Background(), out, []layout.Image{f.amd64}, all); err != nil {
		t.Fatal(err)
	}
	checkTree(t, readTree(t, out, layout.Directory))
	err := layout.WriteOCILayout(context.Background(), out, []layout.Image{f.amd64}, all)
	if !errors.Is(err, layout.ErrInvalidArgument) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("WriteOCILayout() into a full directory = %v, want a not empty error", err)
	}
}

func TestDockerSave(t *testing.T) {
	f := newFixture(t)
	// go-containerregistry's tarball reader takes all layers to be
	// compressed like the first (docker load looks at each), so only
	// images with one kind of layer in the output are read back with it.
	gzOnly := makeImage(t, f.dir, "gzonly", "amd64", f.gz, f.l4)
	plainOnly := makeImage(t, f.dir, "plainonly", "arm64", f.plain, f.zst)
	for _, tc := range []struct {
		name   string
		img    layout.Image
		layers []layout.Layer
		tags   []string
		format layout.Format
		mixed  bool // gzip and plain layers in the output
	}{
		{"gzip and plain", f.arm64, []layout.Layer{f.plain, f.gz, f.l4}, []string{"app:latest"}, layout.Tar, true},
		{"gzip", gzOnly, []layout.Layer{f.gz, f.l4}, []string{"app:latest"}, layout.Tar, false},
		{"zstd decompressed", f.amd64, []layout.Layer{f.plain, f.gz, f.zst}, []string{"app:latest", "registry.local/app:v1"}, layout.Tar, true},
		{"zstd and plain", plainOnly, []layout.Layer{f.plain, f.zst}, []string{"app:latest"}, layout.Tar, false},
		{"no tags", plainOnly, []layout.Layer{f.plain, f.zst}, nil, layout.Tar, false},
		{"directory", f.amd64, []layout.Layer{f.plain, f.gz, f.zst}, []string{"app:1"}, layout.Directory, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "image.tar")
			opts := []layout.Option{layout.WithLayers(tc.layers...), layout.WithFormat(tc.format)}
			for _, tag := range tc.tags {
				opts = append(opts, layout.WithTag(tag))
			}
			if err := layout.WriteDockerSave(context.Background(), out, tc.img, opts...); err != nil {
				t.Fatalf("WriteDockerSave() = %v", err)
			}
			if got := entries(t, outDir); !reflect.DeepEqual(got, []string{"image.tar"}) {
				t.Errorf("output directory holds %q, want only image.tar", got)
			}
			files := readTree(t, out, tc.format)
			top := checkTree(t, files)
			config := readFile(t, tc.img.Config)
			var cfg struct {
				RootFS struct {
					DiffIDs []string `json:"diff_ids"`
				} `json:"rootfs"`
			}
			json.Unmarshal(config, &cfg)

			// manifest.json names the config, the tags and the layers.
			var dm []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			if err := json.Unmarshal(files["manifest.json"], &dm); err != nil || len(dm) != 1 {
				t.Fatalf("manifest.json = %s (%v), want one entry", files["manifest.json"], err)
			}
			if want := "blobs/sha256/" + hexOf(sum(config)); dm[0].Config != want {
				t.Errorf("Config = %s, want %s", dm[0].Config, want)
			}
			if !slices.Equal(dm[0].RepoTags, tc.tags) || dm[0].RepoTags == nil {
				t.Errorf("RepoTags = %#v, want %q", dm[0].RepoTags, tc.tags)
			}
			for i, l := range tc.layers {
				want := "blobs/sha256/" + hexOf(l.Metadata.Digest)
				if l.Metadata.MediaType == metadata.MediaTypeTarZstd {
					want = "blobs/sha256/" + hexOf(l.Metadata.DiffID)
					if _, ok := files["blobs/sha256/"+hexOf(l.Metadata.Digest)]; ok {
						t.Errorf("the zstd blob %s is in the output", l.Metadata.Digest)
					}
				}
				if dm[0].Layers[i] != want {
					t.Errorf("Layers[%d] = %s, want %s", i, dm[0].Layers[i], want)
				}
				if _, ok := files[want]; !ok {
					t.Errorf("layer %s is missing", want)
				}
			}
			// Every layer decompresses (gzip or none) to its diff_id.
			for i, p := range dm[0].Layers {
				if got := diffID(t, files[p]); got != cfg.RootFS.DiffIDs[i] {
					t.Errorf("layer %d (%s) has diff_id %s, config says %s", i, p, got, cfg.RootFS.DiffIDs[i])
				}
			}

			// index.json: one descriptor per tag (or one), all for the same
			// manifest; it is the original one unless layers were
			// decompressed.
			if n := max(1, len(tc.tags)); len(top) != n {
				t.Fatalf("index.json lists %d descriptors, want %d", len(top), n)
			}
			rewritten := slices.ContainsFunc(tc.layers, func(l layout.Layer) bool { return l.Metadata.Digest == f.zst.Metadata.Digest })
			if orig := sum(readFile(t, tc.img.Manifest)); (string(top[0].Digest) == orig) == rewritten {
				t.Errorf("index.json names manifest %s, original %s, rewritten %v", top[0].Digest, orig, rewritten)
			}
			for i, d := range top {
				if d.Digest != top[0].Digest || d.Platform == nil || d.Platform.OS != "linux" {
					t.Errorf("index.json descriptor %d = %+v", i, d)
				}
				if len(tc.tags) > 0 && d.Annotations[ispec.AnnotationRefName] != tc.tags[i] {
					t.Errorf("index.json descriptor %d annotations %v, want tag %s", i, d.Annotations, tc.tags[i])
				}
			}
			var m ispec.Manifest
			json.Unmarshal(files["blobs/sha256/"+top[0].Digest.Encoded()], &m)
			for i, l := range m.Layers {
				if strings.HasSuffix(l.MediaType, "+zstd") {
					t.Errorf("manifest layer %d is still %s", i, l.MediaType)
				}
				if "blobs/sha256/"+l.Digest.Encoded() != dm[0].Layers[i] {
					t.Errorf("manifest layer %d is %s, manifest.json says %s", i, l.Digest, dm[0].Layers[i])
				}
			}

			if tc.format != layout.Tar {
				return
			}
			// go-containerregistry reads it as docker load would.
			img, err := tarball.ImageFromPath(out, nil)
			if err != nil {
				t.Fatalf("tarball.ImageFromPath() = %v", err)
			}
			name, err := img.ConfigName()
			if err != nil || name.String() != sum(config) {
				t.Errorf("ConfigName() = %v, %v, want %s", name, err, sum(config))
			}
			cf, err := img.ConfigFile()
			if err != nil || cf.Architecture == "" {
				t.Errorf("ConfigFile() = %+v, %v", cf, err)
			}
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != len(cfg.RootFS.DiffIDs) {
				t.Fatalf("%d layers, config has %d diff_ids", len(layers), len(cfg.RootFS.DiffIDs))
			}
			for i, l := range layers {
				if d, err := l.DiffID(); err != nil || d.String() != cfg.RootFS.DiffIDs[i] {
					t.Errorf("layer %d: DiffID() = %v, %v, want %s", i, d, err, cfg.RootFS.DiffIDs[i])
				}
				if tc.mixed {
					continue
				}
				checkGGCRLayer(t, l, cfg.RootFS.DiffIDs[i])
				if blob := files[dm[0].Layers[i]]; bytes.HasPrefix(blob, []byte{0x1f, 0x8b}) {
					if d, err := l.Digest(); err != nil || d.String() != sum(blob) {
						t.Errorf("layer %d: Digest() = %v, %v, want %s", i, d, err, sum(blob))
					}
				}
			}
		})
	}
}

// diffID decompresses a docker layer (gzip or plain, not zstd) with the
// standard library and hashes it.
func diffID(t *testing.T, blob []byte) string {
	t.Helper()
	if bytes.HasPrefix(blob, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Error("a zstd layer in a docker archive")
	}
	if !bytes.HasPrefix(blob, []byte{0x1f, 0x8b}) {
		return sum(blob)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return sum(b)
}

// checkGGCRLayer reads a layer through go-containerregistry and hashes
// its uncompressed content.
func checkGGCRLayer(t *testing.T, l v1.Layer, wantDiffID string) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("sha256:%x", h.Sum(nil)); got != wantDiffID {
		t.Errorf("uncompressed layer has digest %s, want %s", got, wantDiffID)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()

	short := f.gz
	short.Blob = filepath.Join(dir, "short")
	os.WriteFile(short.Blob, readFile(t, f.gz.Blob)[:10], 0o644)

	corrupt := f.gz // same size, other bytes
	corrupt.Blob = filepath.Join(dir, "corrupt")
	b := readFile(t, f.gz.Blob)
	b[len(b)-1] ^= 0xff
	os.WriteFile(corrupt.Blob, b, 0o644)

	// A zstd blob that matches its digest but not its diff_id.
	badZstd := f.zst
	badZstd.Metadata.DiffID = sum([]byte("something else"))
	badZstdImg := makeImage(t, dir, "badzstd", "amd64", f.plain, f.gz, badZstd)

	// An index that lists a manifest that is not given.
	onlyAmd := []layout.Image{f.amd64}

	all := layout.WithLayers(f.plain, f.gz, f.zst, f.l4)
	oci := func(images []layout.Image, opts ...layout.Option) func(string) error {
		return func(out string) error { return layout.WriteOCILayout(context.Background(), out, images, opts...) }
	}
	docker := func(img layout.Image, opts ...layout.Option) func(string) error {
		return func(out string) error { return layout.WriteDockerSave(context.Background(), out, img, opts...) }
	}
	for _, tc := range []struct {
		name     string
		write    func(out string) error
		wantErr  error
		contains []string
	}{
		{"missing blob", oci([]layout.Image{f.amd64}, layout.WithLayers(f.zst)), layout.ErrMissingBlob,
			[]string{f.plain.Metadata.Digest, f.gz.Metadata.Digest, "not downloaded", "shallow", "//img/settings:shallow_oci_layout=i_know_what_i_am_doing"}},
		{"missing blob in index", oci([]layout.Image{f.amd64, f.arm64}, layout.WithIndex(f.index), layout.WithLayers(f.plain, f.gz, f.zst)), layout.ErrMissingBlob,
			[]string{f.l4.Metadata.Digest, "i_know_what_i_am_doing"}},
		{"wrong size", oci([]layout.Image{f.amd64}, layout.WithLayers(f.plain, short, f.zst)), layout.ErrMismatch,
			[]string{f.gz.Metadata.Digest, "10 bytes"}},
		{"wrong size tar", oci([]layout.Image{f.amd64}, layout.WithLayers(f.plain, short, f.zst), layout.WithFormat(layout.Tar)), layout.ErrMismatch,
			[]string{f.gz.Metadata.Digest, "10 bytes"}},
		{"wrong digest of a small blob", oci([]layout.Image{f.amd64}, layout.WithLayers(f.plain, corrupt, f.zst)), layout.ErrMismatch,
			[]string{f.gz.Metadata.Digest, "has digest"}},
		{"wrong digest tar", oci([]layout.Image{f.amd64}, layout.WithLayers(f.plain, corrupt, f.zst), layout.WithFormat(layout.Tar)), layout.ErrMismatch,
			[]string{f.gz.Metadata.Digest, "has digest"}},
		{"index entry without manifest", oci(onlyAmd, layout.WithIndex(f.index), all), layout.ErrMissingBlob,
			[]string{sum(readFile(t, f.arm64.Manifest)), "linux/arm64", "no manifest"}},
		{"manifest not in index", oci([]layout.Image{f.amd64, f.arm64, badZstdImg}, layout.WithIndex(f.index), all), layout.ErrInvalidArgument,
			[]string{"badzstd.manifest.json", "not listed"}},
		{"two images without index", oci([]layout.Image{f.amd64, f.arm64}, all), layout.ErrInvalidArgument, []string{"without an index"}},
		{"config does not match", oci([]layout.Image{{Manifest: f.amd64.Manifest, Config: f.arm64.Config}}, all), layout.ErrMismatch,
			[]string{"arm64.config.json", "amd64.manifest.json"}},
		{"two tags", oci(onlyAmd, all, layout.WithTag("a"), layout.WithTag("b")), layout.ErrInvalidArgument, []string{"at most one"}},
		{"bad tag", oci(onlyAmd, all, layout.WithTag("a b")), layout.ErrInvalidArgument, []string{`"a b"`}},
		{"docker missing blob", docker(f.amd64, layout.WithLayers(f.plain, f.zst)), layout.ErrMissingBlob,
			[]string{f.gz.Metadata.Digest, "docker load"}},
		{"docker zstd diff_id", docker(badZstdImg, layout.WithLayers(f.plain, f.gz, badZstd)), layout.ErrMismatch,
			[]string{f.zst.Metadata.Digest, "decompresses to " + f.zst.Metadata.DiffID, "diff_id " + badZstd.Metadata.DiffID}},
		{"docker zstd diff_id directory", docker(badZstdImg, layout.WithLayers(f.plain, f.gz, badZstd), layout.WithFormat(layout.Directory)), layout.ErrMismatch,
			[]string{"decompresses to"}},
		{"docker metadata diff_id differs from config", docker(f.amd64, layout.WithLayers(f.plain, f.gz, badZstd)), layout.ErrMismatch,
			[]string{"diff_id " + badZstd.Metadata.DiffID, "amd64.config.json"}},
		{"docker wrong size", docker(f.amd64, layout.WithLayers(f.plain, short, f.zst)), layout.ErrMismatch, []string{"10 bytes"}},
		{"docker index", docker(f.amd64, all, layout.WithIndex(f.index)), layout.ErrInvalidArgument, []string{"index"}},
		{"docker allow missing", docker(f.amd64, all, layout.WithAllowMissingBlobs(true)), layout.ErrInvalidArgument, []string{"missing"}},
		{"bad format", oci(onlyAmd, layout.WithFormat("zip")), layout.ErrInvalidArgument, []string{`"zip"`}},
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

func TestCanceled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, format := range []layout.Format{layout.Directory, layout.Tar} {
		outDir := t.TempDir()
		err := layout.WriteOCILayout(ctx, filepath.Join(outDir, "out"), []layout.Image{f.amd64},
			layout.WithLayers(f.plain, f.gz, f.zst), layout.WithFormat(format))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error %v, want %v", format, err, context.Canceled)
		}
		if got := entries(t, outDir); len(got) != 0 {
			t.Errorf("%s: output directory holds %q after the error", format, got)
		}
	}
}

// TestVerifyDigests: a large blob linked into a directory is hashed only
// with WithVerifyDigests; in a tar it is always hashed.
func TestVerifyDigests(t *testing.T) {
	f := newFixture(t)
	big := makeLayer(t, f.dir, "big", "", strings.Repeat("0123456789abcdef", 1<<16)) // > 1 MiB
	img := makeImage(t, f.dir, "big", "amd64", big)
	b := readFile(t, big.Blob)
	b[600] ^= 0xff // in the file content, same size
	corrupt := big
	corrupt.Blob = filepath.Join(t.TempDir(), "corrupt")
	if err := os.WriteFile(corrupt.Blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    []layout.Option
		wantErr error
	}{
		{"directory, sizes only", nil, nil},
		{"directory, verified", []layout.Option{layout.WithVerifyDigests(true)}, layout.ErrMismatch},
		{"tar", []layout.Option{layout.WithFormat(layout.Tar)}, layout.ErrMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			err := layout.WriteOCILayout(context.Background(), out, []layout.Image{img}, append(tc.opts, layout.WithLayers(corrupt))...)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("WriteOCILayout() = %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), big.Metadata.Digest) {
				t.Errorf("error %q does not name the layer", err)
			}
		})
	}
}

// TestCopyAcrossDevices: a blob on another file system cannot be linked
// and is copied.
func TestCopyAcrossDevices(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "layout-test")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	f := newFixture(t)
	out := filepath.Join(t.TempDir(), "layout")
	if err := os.Link(f.gz.Blob, filepath.Join(other, "probe")); err == nil {
		t.Skip("/dev/shm is on the same file system as the test directory")
	}
	moved := f.gz
	moved.Blob = filepath.Join(other, "gz.blob")
	if err := os.WriteFile(moved.Blob, readFile(t, f.gz.Blob), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := layout.WriteOCILayout(context.Background(), out, []layout.Image{f.amd64}, layout.WithLayers(f.plain, moved, f.zst)); err != nil {
		t.Fatal(err)
	}
	checkTree(t, readTree(t, out, layout.Directory))
	fi, err := os.Stat(filepath.Join(out, "blobs", "sha256", hexOf(moved.Metadata.Digest)))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("copied blob has mode %v, want 0644", fi.Mode().Perm())
	}
}
