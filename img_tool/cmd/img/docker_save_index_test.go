package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	digest "github.com/opencontainers/go-digest"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// loIndex writes an index of the images (manifest, config) to dir/name.
func loIndex(t *testing.T, dir, name string, images ...[2]string) string {
	t.Helper()
	idx := ispec.Index{MediaType: ispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, img := range images {
		raw := loReadFile(t, img[0])
		var c struct{ Architecture string }
		if err := json.Unmarshal(loReadFile(t, img[1]), &c); err != nil {
			t.Fatal(err)
		}
		idx.Manifests = append(idx.Manifests, ispec.Descriptor{MediaType: ispec.MediaTypeImageManifest, Digest: digest.Digest(loSum(raw)), Size: int64(len(raw)),
			Platform: &ispec.Platform{OS: "linux", Architecture: c.Architecture}})
	}
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// loIndexImages returns the --manifest-path and --config-path flags.
func loIndexImages(images ...[2]string) []string {
	var out []string
	for _, img := range images {
		out = append(out, "--manifest-path", img[0], "--config-path", img[1])
	}
	return out
}

// crane returns the crane binary in $(go env GOPATH)/bin, or "".
func crane(t *testing.T) string {
	t.Helper()
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "crane")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func blobPath(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }

func TestDockerSaveIndexCommand(t *testing.T) {
	f := newLoFixture(t)
	gzArm := loMakeImage(t, f.dir, "gzarm", "arm64", f.arm)
	gzIndex := loIndex(t, f.dir, "gzindex.json", f.gzOnly, gzArm)
	mixedIndex := loIndex(t, f.dir, "mixedindex.json", f.amd64, f.arm64)
	for _, tc := range []struct {
		name   string
		index  string
		images [][2]string // in index order
		layers [][]loLayer
		tags   []string
		fast   bool // layers that crane cannot read in full (plain beside gzip)
	}{
		{"gzip", gzIndex, [][2]string{f.gzOnly, gzArm}, [][]loLayer{{f.gz, f.arm}, {f.arm}}, []string{"app:latest", "registry.local/app:1"}, false},
		{"zstd, gzip and plain", mixedIndex, [][2]string{f.amd64, f.arm64}, [][]loLayer{{f.plain, f.gz, f.zst}, {f.plain, f.gz, f.arm}}, []string{"app:latest"}, true},
		{"no tags", mixedIndex, [][2]string{f.amd64, f.arm64}, [][]loLayer{{f.plain, f.gz, f.zst}, {f.plain, f.gz, f.arm}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image.tar")
			args := []string{"docker-save", "--output", out, "--index", tc.index}
			// The images in reverse: they are matched to the index by
			// digest, and the index's order counts.
			for i := len(tc.images) - 1; i >= 0; i-- {
				args = append(args, loIndexImages(tc.images[i])...)
			}
			wantNames := map[string]bool{"blobs/": true, "blobs/sha256/": true, "index.json": true, "manifest.json": true, "oci-layout": true,
				blobPath(loSum(loReadFile(t, tc.index))): true}
			for k, ls := range tc.layers {
				args = append(args, loLayers(ls...)...)
				wantNames[blobPath(loSum(loReadFile(t, tc.images[k][0])))] = true
				wantNames[blobPath(loSum(loReadFile(t, tc.images[k][1])))] = true
				for _, l := range ls {
					wantNames[blobPath(l.md.Digest)] = true
					if k == 0 && l.md.MediaType == metadata.MediaTypeTarZstd {
						wantNames[blobPath(l.md.DiffID)] = true
					}
				}
			}
			for _, tag := range tc.tags {
				args = append(args, "--tag", tag)
			}
			if code, stderr := loImg(args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}

			files := loTree(t, out)
			loCheckBlobs(t, files)
			idx := loIndexJSON(t, files)
			if len(idx.Manifests) != max(1, len(tc.tags)) {
				t.Errorf("index.json lists %d descriptors, want one per tag", len(idx.Manifests))
			}
			for _, d := range idx.Manifests {
				if d.Digest.String() != loSum(loReadFile(t, tc.index)) || d.MediaType != ispec.MediaTypeImageIndex {
					t.Errorf("index.json lists %+v, want the index", d)
				}
			}
			var dm []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			if err := json.Unmarshal(files["manifest.json"], &dm); err != nil || len(dm) != 1 {
				t.Fatalf("manifest.json %s: %v", files["manifest.json"], err)
			}
			if want := blobPath(loSum(loReadFile(t, tc.images[0][1]))); dm[0].Config != want || len(dm[0].Layers) != len(tc.layers[0]) {
				t.Errorf("manifest.json = %+v, want config %s (the first image) and %d layers", dm[0], want, len(tc.layers[0]))
			}

			// GNU tar lists exactly the wanted entries, sorted.
			if v, err := exec.Command("tar", "--version").Output(); err != nil || !strings.Contains(string(v), "GNU tar") {
				t.Log("no GNU tar")
			} else {
				listing, err := exec.Command("tar", "-tf", out).CombinedOutput()
				if err != nil {
					t.Fatalf("tar -tf: %v: %s", err, listing)
				}
				got := strings.Fields(string(listing))
				var want []string
				for name := range wantNames {
					want = append(want, name)
				}
				sort.Strings(want)
				if !slices.Equal(got, want) {
					t.Errorf("tar -tf lists\n %q\nwant\n %q", got, want)
				}
			}

			// go-containerregistry reads the docker part.
			img, err := tarball.ImageFromPath(out, nil)
			if err != nil {
				t.Fatalf("tarball.ImageFromPath() = %v", err)
			}
			if name, err := img.ConfigName(); err != nil || name.String() != loSum(loReadFile(t, tc.images[0][1])) {
				t.Errorf("ConfigName() = %v, %v, want the first image's config", name, err)
			}

			// crane validates it as docker load would read it.
			c := crane(t)
			if c == "" {
				t.Log("no crane in $(go env GOPATH)/bin")
				return
			}
			argv := []string{"validate", "--tarball", out}
			if tc.fast {
				argv = []string{"validate", "--fast", "--tarball", out}
			}
			if got, err := exec.Command(c, argv...).CombinedOutput(); err != nil {
				t.Errorf("crane %s: %v: %s", strings.Join(argv, " "), err, got)
			}
		})
	}
}

func TestDockerSaveIndexCommandErrors(t *testing.T) {
	f := newLoFixture(t)
	index := loIndex(t, f.dir, "platforms.json", f.amd64, f.arm64)
	all := loLayers(f.plain, f.gz, f.zst, f.arm)
	for _, tc := range []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"manifest-path without index", slices.Concat(loIndexImages(f.amd64), all), []string{"--manifest-path and --config-path need --index"}},
		{"manifest with index", slices.Concat([]string{"--index", index}, loImage(f.amd64), loIndexImages(f.arm64), all), []string{"not --manifest and --config"}},
		{"unpaired", slices.Concat([]string{"--index", index, "--manifest-path", f.arm64[0]}, loIndexImages(f.amd64), all), []string{"2 --manifest-path and 1 --config-path"}},
		{"index without images", slices.Concat([]string{"--index", index}, all), []string{"0 --manifest-path"}},
		{"layer of the second image missing", slices.Concat([]string{"--index", index}, loIndexImages(f.amd64, f.arm64), loLayers(f.plain, f.gz, f.zst)),
			[]string{f.arm.md.Digest, "arm64.manifest.json", "docker load"}},
		{"allow missing blobs is no docker-save flag", slices.Concat([]string{"--index", index, "--allow-missing-blobs"}, loIndexImages(f.amd64, f.arm64), all),
			[]string{"allow-missing-blobs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := t.TempDir()
			code, stderr := loImg(slices.Concat([]string{"docker-save", "--output", filepath.Join(outDir, "out")}, tc.args)...)
			if code == 0 {
				t.Fatalf("exit 0, want an error")
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
