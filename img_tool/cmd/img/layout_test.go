package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Tests of `img oci-layout` and `img docker-save` through the command
// line. The inputs are made by hand with the standard library and
// klauspost's zstd encoder; pkg/layout's tests cover the formats in depth.

func loSum(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// loLayer is a layer blob with its metadata JSON.
type loLayer struct {
	md         metadata.Layer
	blob, json string
}

// flag is the --layer value.
func (l loLayer) flag() string { return l.json + "=" + l.blob }

type loFixture struct {
	dir                  string
	plain, gz, zst, arm  loLayer
	badZstd              loLayer // metadata with a wrong diff_id
	amd64, arm64, badImg [2]string
	index                string
	gzOnly, plainOnly    [2]string
}

func (f loFixture) p(name string) string { return filepath.Join(f.dir, name) }

func loMakeLayer(t *testing.T, dir, name, compression, content string) loLayer {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: name + ".txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
	tw.Write([]byte(content))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	blob, mt := tb.Bytes(), metadata.MediaTypeTar
	switch compression {
	case "gzip":
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(tb.Bytes())
		zw.Close()
		blob, mt = b.Bytes(), metadata.MediaTypeTarGzip
	case "zstd":
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		blob, mt = enc.EncodeAll(tb.Bytes(), nil), metadata.MediaTypeTarZstd
		enc.Close()
	}
	l := loLayer{
		md:   metadata.Layer{Name: "//:" + name, DiffID: loSum(tb.Bytes()), MediaType: mt, Digest: loSum(blob), Size: int64(len(blob))},
		blob: filepath.Join(dir, name+".blob"),
		json: filepath.Join(dir, name+".json"),
	}
	if err := os.WriteFile(l.blob, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := metadata.Write(l.json, &l.md); err != nil {
		t.Fatal(err)
	}
	return l
}

// loMakeImage writes manifest and config; it returns their paths.
func loMakeImage(t *testing.T, dir, name, arch string, layers ...loLayer) [2]string {
	t.Helper()
	diffIDs := []string{}
	m := ispec.Manifest{MediaType: ispec.MediaTypeImageManifest, Layers: []ispec.Descriptor{}}
	m.SchemaVersion = 2
	for _, l := range layers {
		diffIDs = append(diffIDs, l.md.DiffID)
		m.Layers = append(m.Layers, ispec.Descriptor{MediaType: l.md.MediaType, Digest: digest.Digest(l.md.Digest), Size: l.md.Size})
	}
	config, _ := json.Marshal(map[string]any{"architecture": arch, "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	m.Config = ispec.Descriptor{MediaType: ispec.MediaTypeImageConfig, Digest: digest.Digest(loSum(config)), Size: int64(len(config))}
	manifest, _ := json.Marshal(m)
	paths := [2]string{filepath.Join(dir, name+".manifest.json"), filepath.Join(dir, name+".config.json")}
	for i, data := range [][]byte{manifest, config} {
		if err := os.WriteFile(paths[i], data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

func loReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newLoFixture(t *testing.T) loFixture {
	t.Helper()
	dir := t.TempDir()
	f := loFixture{dir: dir}
	f.plain = loMakeLayer(t, dir, "plain", "", "plain\n")
	f.gz = loMakeLayer(t, dir, "gz", "gzip", "gzipped\n")
	f.zst = loMakeLayer(t, dir, "zst", "zstd", strings.Repeat("zstd\n", 50))
	f.arm = loMakeLayer(t, dir, "arm", "gzip", "arm\n")
	f.badZstd = f.zst
	f.badZstd.md.DiffID = loSum([]byte("not the content"))
	f.badZstd.json = filepath.Join(dir, "badzstd.json")
	if err := metadata.Write(f.badZstd.json, &f.badZstd.md); err != nil {
		t.Fatal(err)
	}
	f.amd64 = loMakeImage(t, dir, "amd64", "amd64", f.plain, f.gz, f.zst)
	f.arm64 = loMakeImage(t, dir, "arm64", "arm64", f.plain, f.gz, f.arm)
	f.badImg = loMakeImage(t, dir, "bad", "amd64", f.plain, f.gz, f.badZstd)
	f.gzOnly = loMakeImage(t, dir, "gzonly", "amd64", f.gz, f.arm)
	f.plainOnly = loMakeImage(t, dir, "plainonly", "amd64", f.plain, f.zst)
	idx := ispec.Index{MediaType: ispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, img := range [][2]string{f.amd64, f.arm64} {
		raw := loReadFile(t, img[0])
		idx.Manifests = append(idx.Manifests, ispec.Descriptor{MediaType: ispec.MediaTypeImageManifest, Digest: digest.Digest(loSum(raw)), Size: int64(len(raw))})
	}
	data, _ := json.Marshal(idx)
	f.index = f.p("index.json")
	if err := os.WriteFile(f.index, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func loImg(args ...string) (int, string) {
	var so, se bytes.Buffer
	code := run(context.Background(), args, &so, &se)
	return code, se.String()
}

// loImage returns the --manifest and --config flags of an image.
func loImage(img [2]string) []string { return []string{"--manifest", img[0], "--config", img[1]} }

func loLayers(ls ...loLayer) []string {
	var out []string
	for _, l := range ls {
		out = append(out, "--layer", l.flag())
	}
	return out
}

// loTree reads a directory or tar output into path -> content; for tars
// it checks that the entries are sorted and normalized.
func loTree(t *testing.T, out string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				rel, _ := filepath.Rel(out, p)
				files[filepath.ToSlash(rel)] = loReadFile(t, p)
			}
			return err
		})
		return files
	}
	tr := tar.NewReader(bytes.NewReader(loReadFile(t, out)))
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
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || (h.Mode != 0o644 && h.Mode != 0o755) {
			t.Errorf("tar entry %s not normalized: %+v", h.Name, h)
		}
		if h.Typeflag == tar.TypeReg {
			files[h.Name], _ = io.ReadAll(tr)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("tar entries not sorted: %q", names)
	}
	return files
}

// loCheckBlobs checks that every blob is named by its digest and that
// want (digests) are all there.
func loCheckBlobs(t *testing.T, files map[string][]byte, want ...string) {
	t.Helper()
	for name, b := range files {
		if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && "sha256:"+hex != loSum(b) {
			t.Errorf("%s has digest %s", name, loSum(b))
		}
	}
	for _, d := range want {
		if _, ok := files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]; !ok {
			t.Errorf("blob %s is missing", d)
		}
	}
}

func loIndexJSON(t *testing.T, files map[string][]byte) ispec.Index {
	t.Helper()
	var idx ispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", files["oci-layout"])
	}
	return idx
}

func TestOCILayoutCommand(t *testing.T) {
	f := newLoFixture(t)
	for _, tc := range []struct {
		name      string
		args      []string
		top       string   // digest of the top-level descriptor
		blobs     []string // digests that must be there
		absent    []string // digests that must not be there
		tag       string
		wantArch  string
		wantFiles int
	}{
		{
			name:     "image directory",
			args:     slices.Concat(loImage(f.amd64), loLayers(f.plain, f.gz, f.zst)),
			top:      loSum(loReadFile(t, f.amd64[0])),
			blobs:    []string{f.plain.md.Digest, f.gz.md.Digest, f.zst.md.Digest, loSum(loReadFile(t, f.amd64[1]))},
			wantArch: "amd64",
		},
		{
			name:     "image tar with tag",
			args:     slices.Concat(loImage(f.amd64), loLayers(f.plain, f.gz, f.zst), []string{"--format", "tar", "--tag", "registry.local/app:latest"}),
			top:      loSum(loReadFile(t, f.amd64[0])),
			blobs:    []string{f.plain.md.Digest, f.gz.md.Digest, f.zst.md.Digest},
			tag:      "registry.local/app:latest",
			wantArch: "amd64",
		},
		{
			name: "index",
			args: slices.Concat([]string{"--index", f.index}, loImage(f.amd64), loImage(f.arm64), loLayers(f.plain, f.gz, f.zst, f.arm)),
			top:  loSum(loReadFile(t, f.index)),
			blobs: []string{f.plain.md.Digest, f.gz.md.Digest, f.zst.md.Digest, f.arm.md.Digest,
				loSum(loReadFile(t, f.amd64[0])), loSum(loReadFile(t, f.arm64[0])), loSum(loReadFile(t, f.arm64[1]))},
		},
		{
			name:   "shallow index tar",
			args:   slices.Concat([]string{"--index", f.index, "--format", "tar", "--allow-missing-blobs"}, loImage(f.amd64), loImage(f.arm64), loLayers(f.zst, f.arm)),
			top:    loSum(loReadFile(t, f.index)),
			blobs:  []string{f.zst.md.Digest, f.arm.md.Digest, loSum(loReadFile(t, f.amd64[0])), loSum(loReadFile(t, f.arm64[0]))},
			absent: []string{f.plain.md.Digest, f.gz.md.Digest},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out")
			if code, stderr := loImg(slices.Concat([]string{"oci-layout", "--output", out}, tc.args)...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			files := loTree(t, out)
			loCheckBlobs(t, files, append(tc.blobs, tc.top)...)
			for _, d := range tc.absent {
				if _, ok := files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]; ok {
					t.Errorf("blob %s is there, want it left out", d)
				}
			}
			idx := loIndexJSON(t, files)
			if len(idx.Manifests) != 1 || string(idx.Manifests[0].Digest) != tc.top {
				t.Fatalf("index.json lists %+v, want one descriptor for %s", idx.Manifests, tc.top)
			}
			d := idx.Manifests[0]
			if tc.wantArch != "" && (d.Platform == nil || d.Platform.Architecture != tc.wantArch || d.Platform.OS != "linux") {
				t.Errorf("platform %+v, want linux/%s", d.Platform, tc.wantArch)
			}
			if got := d.Annotations[ispec.AnnotationRefName]; got != tc.tag {
				t.Errorf("ref.name annotation %q, want %q", got, tc.tag)
			}
			if got := d.Annotations["io.containerd.image.name"]; got != tc.tag {
				t.Errorf("containerd name annotation %q, want %q", got, tc.tag)
			}
		})
	}
}

func TestDockerSaveCommand(t *testing.T) {
	f := newLoFixture(t)
	for _, tc := range []struct {
		name   string
		img    [2]string
		layers []loLayer
		tags   []string
		format string
	}{
		{"gzip", f.gzOnly, []loLayer{f.gz, f.arm}, []string{"app:latest", "registry.local/app:1"}, ""},
		{"zstd decompressed", f.plainOnly, []loLayer{f.plain, f.zst}, []string{"app:latest"}, "tar"},
		{"directory", f.amd64, []loLayer{f.plain, f.gz, f.zst}, nil, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image.tar")
			args := slices.Concat([]string{"docker-save", "--output", out}, loImage(tc.img), loLayers(tc.layers...))
			for _, tag := range tc.tags {
				args = append(args, "--tag", tag)
			}
			if tc.format != "" {
				args = append(args, "--format", tc.format)
			}
			if code, stderr := loImg(args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			files := loTree(t, out)
			config := loReadFile(t, tc.img[1])
			var want []string
			var wantPaths []string
			for _, l := range tc.layers {
				d := l.md.Digest
				if l.md.MediaType == metadata.MediaTypeTarZstd {
					d = l.md.DiffID
				}
				want = append(want, d)
				wantPaths = append(wantPaths, "blobs/sha256/"+strings.TrimPrefix(d, "sha256:"))
			}
			loCheckBlobs(t, files, append(want, loSum(config))...)
			var dm []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			if err := json.Unmarshal(files["manifest.json"], &dm); err != nil || len(dm) != 1 {
				t.Fatalf("manifest.json %s: %v", files["manifest.json"], err)
			}
			if dm[0].Config != "blobs/sha256/"+strings.TrimPrefix(loSum(config), "sha256:") || !slices.Equal(dm[0].RepoTags, tc.tags) || !slices.Equal(dm[0].Layers, wantPaths) {
				t.Errorf("manifest.json = %+v, want layers %q, tags %q", dm[0], wantPaths, tc.tags)
			}
			if idx := loIndexJSON(t, files); len(idx.Manifests) != max(1, len(tc.tags)) {
				t.Errorf("index.json lists %d descriptors, want one per tag", len(idx.Manifests))
			}
			if tc.format == "directory" {
				return
			}
			img, err := tarball.ImageFromPath(out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if name, err := img.ConfigName(); err != nil || name.String() != loSum(config) {
				t.Errorf("ConfigName() = %v, %v, want %s", name, err, loSum(config))
			}
			layers, err := img.Layers()
			if err != nil || len(layers) != len(tc.layers) {
				t.Fatalf("Layers() = %d layers, %v", len(layers), err)
			}
			for i, l := range layers {
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || loSum(b) != tc.layers[i].md.DiffID {
					t.Errorf("layer %d uncompressed to %s (%v), want %s", i, loSum(b), err, tc.layers[i].md.DiffID)
				}
			}
		})
	}
}

func TestLayoutCommandErrors(t *testing.T) {
	f := newLoFixture(t)
	short := f.gz
	short.blob = f.p("short.blob")
	os.WriteFile(short.blob, []byte("short"), 0o644)
	all := loLayers(f.plain, f.gz, f.zst, f.arm)
	for _, tc := range []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"missing blob", slices.Concat([]string{"oci-layout"}, loImage(f.amd64), loLayers(f.zst)),
			[]string{f.plain.md.Digest, f.gz.md.Digest, "not downloaded", "shallow", "//img/settings:shallow_oci_layout=i_know_what_i_am_doing"}},
		{"wrong blob size", slices.Concat([]string{"oci-layout"}, loImage(f.amd64), loLayers(f.plain, short, f.zst)),
			[]string{f.gz.md.Digest, "5 bytes"}},
		{"index entry without its manifest", slices.Concat([]string{"oci-layout", "--index", f.index}, loImage(f.amd64), all),
			[]string{loSum(loReadFile(t, f.arm64[0])), "no manifest"}},
		{"several manifests without index", slices.Concat([]string{"oci-layout"}, loImage(f.amd64), loImage(f.arm64), all),
			[]string{"without --index"}},
		{"unpaired manifest", slices.Concat([]string{"oci-layout", "--manifest", f.arm64[0]}, loImage(f.amd64), all),
			[]string{"2 --manifest and 1 --config"}},
		{"bad format", slices.Concat([]string{"oci-layout", "--format", "zip"}, loImage(f.amd64), all), []string{"--format", `"zip"`}},
		{"bad layer flag", slices.Concat([]string{"oci-layout", "--layer", "nometadata"}, loImage(f.amd64)), []string{"KEY=VALUE"}},
		{"positional argument", slices.Concat([]string{"oci-layout"}, loImage(f.amd64), all, []string{"extra"}), []string{"no arguments"}},
		{"docker missing blob", slices.Concat([]string{"docker-save"}, loImage(f.amd64), loLayers(f.plain, f.zst)), []string{f.gz.md.Digest, "docker load"}},
		{"docker zstd diff_id", slices.Concat([]string{"docker-save"}, loImage(f.badImg), loLayers(f.plain, f.gz, f.badZstd)),
			[]string{f.zst.md.Digest, "decompresses to " + f.zst.md.DiffID, f.badZstd.md.DiffID}},
		{"docker two manifests", slices.Concat([]string{"docker-save"}, loImage(f.amd64), loImage(f.arm64), all), []string{"want one --manifest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			args := append(slices.Clone(tc.args), "--output", filepath.Join(outDir, "out"))
			if tc.name == "positional argument" {
				args = slices.Concat(tc.args[:len(tc.args)-1], []string{"--output", filepath.Join(outDir, "out"), "extra"})
			}
			code, stderr := loImg(args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, stderr)
			}
			for _, s := range tc.want {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not mention %q", stderr, s)
				}
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("output directory holds %d entries after the error, want none", len(ents))
			}
		})
	}
}
