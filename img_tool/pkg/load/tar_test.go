package load

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
)

// zstdManifest is a manifest of one zstd layer with the file /name.
func zstdManifest(t *testing.T, dir, platform, name, content string) Manifest {
	t.Helper()
	gz := newTestLayer(t, name, content)
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
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	data := enc.EncodeAll(raw.Bytes(), nil)
	d := descFor(ocispec.MediaTypeImageLayerZstd, data)
	path := filepath.Join(dir, d.Digest.Encoded())
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := parsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ocispec.Image{Platform: p, RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{gz.diffID}}}
	m := Manifest{Config: mustJSON(t, cfg), Layers: []Layer{{Descriptor: d, Path: path}}}
	om := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: descFor(ocispec.MediaTypeImageConfig, m.Config), Layers: []ocispec.Descriptor{d}}
	m.Data = mustJSON(t, om)
	m.Descriptor = descFor(ocispec.MediaTypeImageManifest, m.Data)
	return m
}

// wantTar is what checkTar expects of a tar.
type wantTar struct {
	root     ocispec.Descriptor // what index.json lists
	names    []string           // short names: RepoTags and ref.name annotations
	full     []string           // normalized names: io.containerd.image.name
	config   digest.Digest      // the config of the image of manifest.json
	manifest digest.Digest      // all manifests of the tar's OCI layout
	fast     bool               // layers that validate cannot read (zstd, plain)
}

// checkTar checks a tar of DaemonTar: entries sorted, with mtime 0 and
// owner 0; each blob named by the digest of its bytes; index.json lists
// the root once per name with the annotations of the name; every blob
// that the root references is there; manifest.json lists the config and
// layers of one image with the names as RepoTags. Then it reads the tar
// back with go-containerregistry, as a docker save tarball and (extracted)
// as an OCI layout, and validates both; and lists it with GNU tar.
func checkTar(t *testing.T, data []byte, want wantTar) {
	t.Helper()
	files := map[string][]byte{}
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		names = append(names, h.Name)
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v, owner %d:%d", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		if h.Typeflag == tar.TypeDir {
			if h.Mode != 0o755 || !strings.HasSuffix(h.Name, "/") {
				t.Errorf("directory %s, mode %o", h.Name, h.Mode)
			}
			continue
		}
		if h.Mode != 0o644 {
			t.Errorf("%s: mode %o", h.Name, h.Mode)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries are not sorted: %q", names)
	}
	for name, b := range files {
		if enc, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != enc {
				t.Errorf("%s holds sha256:%x", name, sum)
			}
		}
	}
	blob := func(d digest.Digest, what string) []byte {
		b, ok := files["blobs/sha256/"+d.Encoded()]
		if !ok {
			t.Errorf("%s %s is not in the tar", what, d)
		}
		return b
	}
	if _, ok := files["oci-layout"]; !ok {
		t.Errorf("no oci-layout")
	}

	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	wantEntries := len(want.names)
	if wantEntries == 0 {
		wantEntries = 1
	}
	if len(idx.Manifests) != wantEntries {
		t.Fatalf("index.json lists %d entries, want %d: %s", len(idx.Manifests), wantEntries, files["index.json"])
	}
	for i, e := range idx.Manifests {
		if e.Digest != want.root.Digest || e.Size != want.root.Size || e.MediaType != want.root.MediaType {
			t.Errorf("index.json entry %d is %+v, want %+v", i, e, want.root)
		}
		var wantAnn map[string]string
		if len(want.names) > 0 {
			wantAnn = map[string]string{ocispec.AnnotationRefName: want.names[i], layout.AnnotationContainerdName: want.full[i]}
		}
		if !reflect.DeepEqual(e.Annotations, wantAnn) {
			t.Errorf("index.json entry %d annotations %v, want %v", i, e.Annotations, wantAnn)
		}
	}
	manifests := []digest.Digest{want.root.Digest}
	if want.root.MediaType == ocispec.MediaTypeImageIndex {
		var sub ocispec.Index
		if err := json.Unmarshal(blob(want.root.Digest, "index"), &sub); err != nil {
			t.Fatal(err)
		}
		manifests = nil
		for _, d := range sub.Manifests {
			manifests = append(manifests, d.Digest)
		}
	}
	for _, d := range manifests {
		var m ocispec.Manifest
		if err := json.Unmarshal(blob(d, "manifest"), &m); err != nil {
			t.Fatal(err)
		}
		blob(m.Config.Digest, "config")
		for _, l := range m.Layers {
			blob(l.Digest, "layer")
		}
	}

	var dm []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &dm); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(dm) != 1 {
		t.Fatalf("manifest.json lists %d images, want 1", len(dm))
	}
	tags := want.names
	if tags == nil {
		tags = []string{}
	}
	if dm[0].Config != "blobs/sha256/"+want.config.Encoded() || !reflect.DeepEqual(dm[0].RepoTags, tags) {
		t.Errorf("manifest.json %+v, want config %s and RepoTags %q", dm[0], want.config, tags)
	}
	for _, l := range append([]string{dm[0].Config}, dm[0].Layers...) {
		if _, ok := files[l]; !ok {
			t.Errorf("manifest.json names %s, which is not in the tar", l)
		}
	}

	file := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var opts []validate.Option
	if want.fast {
		opts = append(opts, validate.Fast)
	}
	img, err := ggcrtarball.ImageFromPath(file, nil)
	if err != nil {
		t.Fatalf("go-containerregistry tarball: %v", err)
	}
	if err := validate.Image(img, opts...); err != nil {
		t.Errorf("validate the docker save tarball: %v", err)
	}
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lp, err := ggcrlayout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(ii, opts...); err != nil {
		t.Errorf("validate the OCI layout: %v", err)
	}
	if _, err := exec.LookPath("tar"); err == nil {
		out, err := exec.Command("tar", "-tf", file).CombinedOutput()
		if err != nil {
			t.Errorf("tar -tf: %v: %s", err, out)
		} else if got := strings.Fields(string(out)); !reflect.DeepEqual(got, names) {
			t.Errorf("tar -tf lists %q, want %q", got, names)
		}
	}
}

func hostArch(t *testing.T) string {
	switch runtime.GOARCH {
	case "amd64", "arm64", "s390x", "ppc64le":
		return runtime.GOARCH
	}
	t.Skipf("no test image for %s", runtime.GOARCH)
	return ""
}

// TestTarDaemon writes tars to an output and checks them.
func TestTarDaemon(t *testing.T) {
	dir := t.TempDir()
	host := hostArch(t)
	other := map[bool]string{true: "s390x", false: "arm64"}[host == "arm64"]
	a, b := newTestLayer(t, "a", "a"), newTestLayer(t, "b", "b")
	hostM := newTestManifest(t, dir, "linux/"+host, a, b)
	otherM := newTestManifest(t, dir, "linux/"+other, a)
	zst := zstdManifest(t, dir, "linux/"+host, "z", "zstd layer")
	single := singleImage(hostM)
	idx := indexImage(t, otherM, hostM)
	fetched := indexImage(t, otherM, hostM)
	f := &mapFetcher{}
	withoutPath(t, fetched, f, 0, 0) // layer a, which manifest 1 has as a file
	withoutPath(t, fetched, f, 1, 1)
	foreign := indexImage(t, otherM, newTestManifest(t, dir, "linux/ppc64le", b))
	if host == "ppc64le" {
		foreign = indexImage(t, otherM, newTestManifest(t, dir, "linux/mips64le", b))
	}
	zstdIndex := indexImage(t, otherM, zst)
	cfg := func(m Manifest) digest.Digest { return digest.FromBytes(m.Config) }

	for _, tc := range []struct {
		name      string
		img       *Image
		names     []string
		opts      []Option
		want      wantTar
		wantBlobs int
		wantPlat  []string
		wantNote  string
		wantFetch int
	}{
		{name: "manifest", img: single, names: []string{"app:1", "registry.local/team/app:2"},
			want:      wantTar{root: hostM.Descriptor, names: []string{"app:1", "registry.local/team/app:2"}, full: []string{"docker.io/library/app:1", "registry.local/team/app:2"}, config: cfg(hostM)},
			wantBlobs: 4, wantPlat: []string{"linux/" + host}},
		{name: "manifest, no name", img: single,
			want: wantTar{root: hostM.Descriptor, config: cfg(hostM)}, wantBlobs: 4, wantPlat: []string{"linux/" + host}},
		{name: "index: the whole index, the host's manifest.json", img: idx, names: []string{"app"},
			want:      wantTar{root: idx.Root, names: []string{"app:latest"}, full: []string{"docker.io/library/app:latest"}, config: cfg(hostM)},
			wantBlobs: 7, wantPlat: []string{"linux/" + other, "linux/" + host}, wantNote: "note: the tar holds the whole index (linux/" + other + ", linux/" + host + "); its manifest.json, which docker load reads, lists linux/" + host},
		{name: "index, --platform", img: idx, names: []string{"app:1"}, opts: []Option{WithPlatforms("linux/" + other)},
			want:      wantTar{root: idx.Root, names: []string{"app:1"}, full: []string{"docker.io/library/app:1"}, config: cfg(otherM)},
			wantBlobs: 7, wantPlat: []string{"linux/" + other, "linux/" + host}},
		{name: "index, --platform all: manifest.json lists the first", img: idx, opts: []Option{WithPlatforms("all")},
			want: wantTar{root: idx.Root, config: cfg(otherM)}, wantBlobs: 7, wantPlat: []string{"linux/" + other, "linux/" + host}},
		{name: "index without the host's platform", img: foreign, names: []string{"app:1"},
			want:      wantTar{root: foreign.Root, names: []string{"app:1"}, full: []string{"docker.io/library/app:1"}, config: cfg(otherM)},
			wantBlobs: 7, wantPlat: []string{"linux/" + other, formatPlatform(readPlatform(t, foreign, 1))},
			wantNote: "note: the index has no manifest for the host platform linux/" + host + "; the tar's manifest.json lists its first, linux/" + other},
		{name: "index, fetched layers", img: fetched, names: []string{"app:1"},
			want:      wantTar{root: fetched.Root, names: []string{"app:1"}, full: []string{"docker.io/library/app:1"}, config: cfg(hostM)},
			wantBlobs: 7, wantPlat: []string{"linux/" + other, "linux/" + host}, wantFetch: 2},
		{name: "index with a zstd layer", img: zstdIndex, names: []string{"app:z"},
			want:      wantTar{root: zstdIndex.Root, names: []string{"app:z"}, full: []string{"docker.io/library/app:z"}, config: cfg(zst), fast: true},
			wantBlobs: 7, wantPlat: []string{"linux/" + other, "linux/" + host}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.opens = 0
			var out, progress bytes.Buffer
			ld, err := New(append([]Option{WithEnv(nil), WithProgress(&progress), WithTarOutput("stdout", &out)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ld.Load(context.Background(), DaemonTar, tc.names, tc.img)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("progress:\n%s", progress.String())
			name := tc.img.Root.Digest.String()
			if len(tc.want.full) > 0 {
				name = tc.want.full[0]
			}
			if res.Daemon != DaemonTar || res.Via != "stdout" || res.Name != name || res.Blobs != tc.wantBlobs || res.Written != tc.wantBlobs || !reflect.DeepEqual(res.Platforms, tc.wantPlat) {
				t.Errorf("result %+v, want name %s, %d blobs of %q", res, name, tc.wantBlobs, tc.wantPlat)
			}
			if !strings.Contains(progress.String(), res.Summary()) || !strings.HasPrefix(res.Summary(), "wrote ") {
				t.Errorf("summary %q not in the progress", res.Summary())
			}
			if !strings.Contains(progress.String(), tc.wantNote) {
				t.Errorf("progress does not contain %q", tc.wantNote)
			}
			if f.opens != tc.wantFetch {
				t.Errorf("fetched %d blobs, want %d", f.opens, tc.wantFetch)
			}
			checkTar(t, out.Bytes(), tc.want)
		})
	}
}

func readPlatform(t *testing.T, img *Image, m int) *ocispec.Platform {
	t.Helper()
	im, err := readImage(img)
	if err != nil {
		t.Fatal(err)
	}
	return im.manifests[m].platform
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestTarDaemonErrors(t *testing.T) {
	dir := t.TempDir()
	m := newTestManifest(t, dir, "linux/amd64", newTestLayer(t, "a", "a"))
	other := newTestManifest(t, dir, "linux/arm64", newTestLayer(t, "b", "b"))
	broken := singleImage(m)
	withoutPath(t, broken, &mapFetcher{blobs: map[digest.Digest][]byte{}}, 0, 0)
	broken.Fetcher = &mapFetcher{} // has nothing
	for _, tc := range []struct {
		name    string
		out     io.Writer
		imgs    []*Image // loaded in turn; the last one fails
		wantErr string
		wantIs  error
	}{
		{"no output", nil, []*Image{singleImage(m)}, "daemon tar writes the image as a tar to an output, and this loader has none", ErrInvalid},
		{"a second tar", &bytes.Buffer{}, []*Image{singleImage(m), singleImage(other)}, "daemon tar: stdout holds the tar of an earlier load already", ErrInvalid},
		{"a write fails", failWriter{}, []*Image{singleImage(m)}, "write the tar to stdout: broken pipe", nil},
		{"a fetch fails: nothing written", &bytes.Buffer{}, []*Image{broken}, "layer 0 sha256:", nil},
		{"not a platform of the image", &bytes.Buffer{}, []*Image{indexImage(t, m, other)}, "the index has no manifest for --platform linux/s390x", ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithEnv(nil)}
			if tc.out != nil {
				opts = append(opts, WithTarOutput("stdout", tc.out))
			}
			if strings.HasPrefix(tc.name, "not a platform") {
				opts = append(opts, WithPlatforms("linux/s390x"))
			}
			ld, err := New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for i, img := range tc.imgs {
				_, last = ld.Load(context.Background(), DaemonTar, []string{fmt.Sprintf("app:%d", i)}, img)
				if i < len(tc.imgs)-1 && last != nil {
					t.Fatal(last)
				}
			}
			if last == nil || !strings.Contains(last.Error(), tc.wantErr) || tc.wantIs != nil && !errors.Is(last, tc.wantIs) {
				t.Fatalf("Load() error %v, want %q", last, tc.wantErr)
			}
			if b, ok := tc.out.(*bytes.Buffer); ok && len(tc.imgs) == 1 && b.Len() != 0 {
				t.Errorf("a failed load wrote %d bytes", b.Len())
			}
		})
	}
	if _, err := New(WithTarOutput("", &bytes.Buffer{})); !errors.Is(err, ErrInvalid) {
		t.Errorf("WithTarOutput without a name: %v", err)
	}
}

// fakeContainer writes a program that records its arguments and its stdin
// and prints say, as `container image load` would.
func fakeContainer(t *testing.T, name, say string) (bin, args, stdin string) {
	t.Helper()
	dir := t.TempDir()
	bin, args, stdin = filepath.Join(dir, name), filepath.Join(dir, "args"), filepath.Join(dir, "stdin.tar")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %s\ncat > %s\necho '%s'\n", args, stdin, say)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, args, stdin
}

// TestContainerization loads through a fake `container` and checks that
// it ran as `container image load` and read the tar of DaemonTar.
func TestContainerization(t *testing.T) {
	dir := t.TempDir()
	host := hostArch(t)
	a := newTestLayer(t, "a", "a")
	hostM := newTestManifest(t, dir, "linux/"+host, a)
	otherM := newTestManifest(t, dir, "linux/"+map[bool]string{true: "s390x", false: "arm64"}[host == "arm64"], newTestLayer(t, "b", "b"))
	idx := indexImage(t, otherM, hostM)
	container, cArgs, cStdin := fakeContainer(t, "container", "Loaded image(s): app:1")
	loader, lArgs, lStdin := fakeContainer(t, "nerdctl", "Loaded image: sha256:"+strings.Repeat("e", 64))
	path := "PATH=" + filepath.Dir(container) + ":/usr/bin:/bin"

	for _, tc := range []struct {
		name           string
		img            *Image
		names          []string
		env            []string
		args, stdin    string
		wantVia        string
		wantName       string
		wantBlobs      int
		wantErr        string
		wantNoDaemonIs bool
	}{
		{name: "index", img: idx, names: []string{"app:1"}, env: []string{path}, args: cArgs, stdin: cStdin,
			wantVia: "container image load", wantName: "docker.io/library/app:1", wantBlobs: 7},
		{name: "manifest, no name", img: singleImage(hostM), env: []string{path}, args: cArgs, stdin: cStdin,
			wantVia: "container image load", wantName: hostM.Descriptor.Digest.String(), wantBlobs: 3},
		{name: "LOADER_BINARY", img: idx, env: []string{path, "LOADER_BINARY=" + loader}, args: lArgs, stdin: lStdin,
			wantVia: "nerdctl image load", wantName: "sha256:" + strings.Repeat("e", 64), wantBlobs: 7},
		{name: "no container", img: idx, env: []string{"PATH=" + dir}, wantErr: "containerization: no container runtime reachable: container: executable file not found in $PATH (the CLI of Apple's container", wantNoDaemonIs: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress bytes.Buffer
			ld, err := New(WithEnv(tc.env), WithProgress(&progress))
			if err != nil {
				t.Fatal(err)
			}
			res, err := ld.Load(context.Background(), DaemonContainerization, tc.names, tc.img)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || tc.wantNoDaemonIs && !errors.Is(err, ErrNoDaemon) {
					t.Fatalf("Load() error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("progress:\n%s", progress.String())
			if res.Daemon != DaemonContainerization || res.Via != tc.wantVia || res.Name != tc.wantName || res.Blobs != tc.wantBlobs {
				t.Errorf("result %+v, want via %q, name %q, %d blobs", res, tc.wantVia, tc.wantName, tc.wantBlobs)
			}
			if got, _ := os.ReadFile(tc.args); string(got) != "image load\n" {
				t.Errorf("ran with arguments %q, want image load", got)
			}
			got, err := os.ReadFile(tc.stdin)
			if err != nil {
				t.Fatal(err)
			}
			// GNU tar and crane read what container read.
			for _, argv := range [][]string{{"tar", "-tf", tc.stdin}, {"crane", "validate", "--tarball", tc.stdin}} {
				if _, err := exec.LookPath(argv[0]); err != nil {
					t.Logf("no %s: %v", argv[0], err)
					continue
				}
				if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
					t.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
				}
			}
			// The same bytes as the tar that daemon tar writes.
			var want bytes.Buffer
			tl, err := New(WithEnv(nil), WithTarOutput("stdout", &want))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tl.Load(context.Background(), DaemonTar, tc.names, tc.img); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("container read %d bytes, not the %d of the tar of daemon tar", len(got), want.Len())
			}
		})
	}
}
