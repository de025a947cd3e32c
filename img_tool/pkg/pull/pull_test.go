package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

func TestRequestValidation(t *testing.T) {
	good := Request{Registries: []string{"127.0.0.1:1"}, Repository: "r", Tag: "v1", OutputDir: "out"}
	for _, tc := range []struct {
		name    string
		edit    func(r *Request)
		wantErr string
	}{
		{"no registry", func(r *Request) { r.Registries = nil }, "no registry given"},
		{"no repository", func(r *Request) { r.Repository = "" }, "no repository given"},
		{"no tag or digest", func(r *Request) { r.Tag = "" }, "want a tag or a digest"},
		{"short digest", func(r *Request) { r.Digest = "sha256:abc" }, "is not sha256:"},
		{"upper-case digest", func(r *Request) { r.Digest = "sha256:" + strings.Repeat("A", 64) }, "is not sha256:"},
		{"no output", func(r *Request) { r.OutputDir = "" }, "no output directory"},
		{"bad layer handling", func(r *Request) { r.LayerHandling = "sometimes" }, `layer handling "sometimes"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := good
			tc.edit(&req)
			_, err := Pull(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Pull() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
	t.Run("bad blob digest", func(t *testing.T) {
		err := DownloadBlob(context.Background(), []string{"127.0.0.1:1"}, "r", "sha256:abc", filepath.Join(t.TempDir(), "b"))
		if err == nil || !strings.Contains(err.Error(), "not sha256:") {
			t.Errorf("DownloadBlob() = %v, want a digest error", err)
		}
	})
}

// testRegistry returns the host:port of a plain-HTTP registry for tests
// that need a real one, e.g. from tools/services/registry.sh.
func testRegistry(t *testing.T) string {
	t.Helper()
	host := os.Getenv("RULES_IMG_TEST_REGISTRY")
	if host == "" {
		t.Skip("RULES_IMG_TEST_REGISTRY is unset: set it to the host:port of a plain registry " +
			`(eval "$(tools/services/registry.sh start plain 5100)"; RULES_IMG_TEST_REGISTRY=$REGISTRY)`)
	}
	return host
}

// pushed is what a test put into the registry.
type pushed struct {
	host, repo, tag string
	root            v1.Descriptor
	images          []v1.Image
	platforms       []v1.Platform
}

var testPlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
}

// testImage is a random image with two layers; oci selects OCI media types
// instead of Docker ones.
func testImage(t *testing.T, p v1.Platform, oci bool) v1.Image {
	t.Helper()
	img, err := random.Image(300, 2)
	if err != nil {
		t.Fatal(err)
	}
	if oci {
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newRepoName(kind string) string {
	return fmt.Sprintf("rules-img-test/pull-%s-%d", kind, time.Now().UnixNano())
}

func pushOptions(t *testing.T, host string) ([]remote.Option, []name.Option) {
	t.Helper()
	c, err := registry.New(registry.WithConfigDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return c.RemoteOptions(context.Background()), c.NameOptions(host)
}

// pushIndex pushes an OCI index of two images (testPlatforms) with two
// layers each, tagged v1.
func pushIndex(t *testing.T, host string) pushed {
	t.Helper()
	p := pushed{host: host, repo: newRepoName("index"), tag: "v1", platforms: testPlatforms}
	var adds []mutate.IndexAddendum
	for _, pl := range testPlatforms {
		img := testImage(t, pl, true)
		p.images = append(p.images, img)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	push(t, &p, idx)
	return p
}

// pushImage pushes a single Docker schema 2 image, tagged single.
func pushImage(t *testing.T, host string) pushed {
	t.Helper()
	pl := v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	p := pushed{host: host, repo: newRepoName("image"), tag: "single", platforms: []v1.Platform{pl}}
	img := testImage(t, pl, false)
	p.images = []v1.Image{img}
	push(t, &p, img)
	return p
}

func push(t *testing.T, p *pushed, obj remote.Taggable) {
	t.Helper()
	ropts, nopts := pushOptions(t, p.host)
	tag, err := name.NewTag(p.host+"/"+p.repo+":"+p.tag, nopts...)
	if err != nil {
		t.Fatal(err)
	}
	switch o := obj.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(tag, o, ropts...)
	case v1.Image:
		err = remote.Write(tag, o, ropts...)
	}
	if err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	d, err := remote.Head(tag, ropts...)
	if err != nil {
		t.Fatal(err)
	}
	p.root = *d
}

// checkOutput checks the blobs and pull.json in out against what was
// pushed: every blob hashes to its name, exactly the expected blobs exist,
// and pull.json describes the images in order with their diff_ids.
func checkOutput(t *testing.T, out string, res Result, p pushed, wantTag string, eager bool) {
	t.Helper()
	want := map[string]bool{strings.TrimPrefix(p.root.Digest.String(), "sha256:"): true}
	total := p.root.Size
	add := func(d v1.Hash, size int64, keep bool) {
		if !want[d.Hex] {
			total += size
		}
		if keep {
			want[d.Hex] = true
		}
	}
	for _, img := range p.images {
		d, _ := img.Digest()
		s, _ := img.Size()
		add(d, s, true)
		cn, _ := img.ConfigName()
		raw, _ := img.RawConfigFile()
		add(cn, int64(len(raw)), true)
		layers, _ := img.Layers()
		for _, l := range layers {
			ld, _ := l.Digest()
			ls, _ := l.Size()
			add(ld, ls, eager)
		}
	}
	entries, err := os.ReadDir(filepath.Join(out, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
		data, err := os.ReadFile(filepath.Join(out, "blobs", "sha256", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != e.Name() {
			t.Errorf("blob %s hashes to %x", e.Name(), sum)
		}
	}
	var wantList []string
	for h := range want {
		wantList = append(wantList, h)
	}
	slices.Sort(wantList)
	if !slices.Equal(got, wantList) {
		t.Errorf("blobs = %q\nwant %q", got, wantList)
	}
	if res.Total != total {
		t.Errorf("Total = %d, want %d", res.Total, total)
	}
	wantLeft := 0
	if !eager {
		wantLeft = 2 * len(p.images)
	}
	if res.LayersLeft != wantLeft {
		t.Errorf("LayersLeft = %d, want %d", res.LayersLeft, wantLeft)
	}
	if res.Fetched <= 0 {
		t.Errorf("Fetched = %d, want > 0", res.Fetched)
	}

	// pull.json: strict decode, exact top-level keys, equal to the result.
	raw, err := os.ReadFile(filepath.Join(out, MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if w := []string{"manifests", "registry", "repository", "root", "tag"}; !slices.Equal(keys, w) {
		t.Errorf("pull.json keys = %q, want %q", keys, w)
	}
	md, err := ReadMetadata(filepath.Join(out, MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := res.Metadata.Encode()
	if string(again) != string(raw) {
		t.Errorf("pull.json differs from the result's metadata:\n%s\nvs\n%s", raw, again)
	}
	if md.Repository != p.repo || md.Tag != wantTag {
		t.Errorf("repository, tag = %q, %q; want %q, %q", md.Repository, md.Tag, p.repo, wantTag)
	}
	if md.Root.Digest != p.root.Digest.String() || md.Root.Size != p.root.Size || md.Root.MediaType != string(p.root.MediaType) {
		t.Errorf("root = %+v, want %s %s %d", md.Root, p.root.MediaType, p.root.Digest, p.root.Size)
	}
	if len(md.Manifests) != len(p.images) {
		t.Fatalf("%d manifests, want %d", len(md.Manifests), len(p.images))
	}
	for i, img := range p.images {
		m := md.Manifests[i]
		d, _ := img.Digest()
		mt, _ := img.MediaType()
		cf, _ := img.ConfigFile()
		cn, _ := img.ConfigName()
		mf, _ := img.Manifest()
		if m.Digest != d.String() || m.MediaType != string(mt) {
			t.Errorf("manifest %d = %s %s, want %s %s", i, m.MediaType, m.Digest, mt, d)
		}
		pl := p.platforms[i]
		if m.Platform != (Platform{OS: pl.OS, Architecture: pl.Architecture, Variant: pl.Variant}) {
			t.Errorf("manifest %d platform = %+v, want %+v", i, m.Platform, pl)
		}
		if m.Config.Digest != cn.String() || m.Config.MediaType != string(mf.Config.MediaType) || m.Config.Size != mf.Config.Size {
			t.Errorf("manifest %d config = %+v, want %+v", i, m.Config, mf.Config)
		}
		if len(m.Layers) != 2 {
			t.Fatalf("manifest %d: %d layers, want 2", i, len(m.Layers))
		}
		for j, l := range m.Layers {
			ml := mf.Layers[j]
			if l.Digest != ml.Digest.String() || l.Size != ml.Size || l.MediaType != string(ml.MediaType) {
				t.Errorf("manifest %d layer %d = %+v, want %+v", i, j, l.Descriptor, ml)
			}
			if l.DiffID != cf.RootFS.DiffIDs[j].String() {
				t.Errorf("manifest %d layer %d diff_id = %s, want %s", i, j, l.DiffID, cf.RootFS.DiffIDs[j])
			}
			if l.Annotations == nil {
				t.Errorf("manifest %d layer %d: annotations are null, want {}", i, j)
			}
		}
	}
}

// checkGone checks that out does not exist and nothing else is left in its
// parent directory.
func checkGone(t *testing.T, out string) {
	t.Helper()
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after a failed pull", out)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}

func TestPull(t *testing.T) {
	host := testRegistry(t)
	idx := pushIndex(t, host)
	single := pushImage(t, host)
	ctx := context.Background()
	opts := []registry.Option{registry.WithConfigDir(t.TempDir())}

	for _, tc := range []struct {
		name       string
		p          pushed
		registries []string
		tag        string
		digest     bool
		handling   LayerHandling
	}{
		{"shallow index by digest", idx, []string{host}, "v1", true, Shallow},
		{"default handling is shallow", idx, []string{host}, "v1", true, ""},
		{"lazy fetches like shallow", idx, []string{host}, "v1", true, Lazy},
		{"eager index", idx, []string{host}, "v1", true, Eager},
		{"index by tag only", idx, []string{host}, "v1", false, Shallow},
		{"digest only", idx, []string{host}, "", true, Shallow},
		{"single docker image by tag", single, []string{host}, "single", false, Shallow},
		{"single docker image eager", single, []string{host}, "single", false, Eager},
		{"mirror fallback", idx, []string{"127.0.0.1:1", host}, "v1", true, Shallow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image")
			req := Request{
				Registries:      tc.registries,
				Repository:      tc.p.repo,
				Tag:             tc.tag,
				LayerHandling:   tc.handling,
				OutputDir:       out,
				RegistryOptions: opts,
			}
			if tc.digest {
				req.Digest = tc.p.root.Digest.String()
			}
			res, err := Pull(ctx, req)
			if err != nil {
				t.Fatalf("Pull() = %v", err)
			}
			if res.Metadata.Registry != host {
				t.Errorf("registry = %q, want %q", res.Metadata.Registry, host)
			}
			checkOutput(t, out, res, tc.p, tc.tag, tc.handling == Eager)
			if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o755 {
				t.Errorf("output dir mode = %v, %v; want 0755", st.Mode(), err)
			}
			entries, _ := os.ReadDir(filepath.Dir(out))
			if len(entries) != 1 {
				t.Errorf("%d entries beside the output, want only the output", len(entries))
			}
		})
	}

	t.Run("replaces an existing output", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "image")
		os.MkdirAll(filepath.Join(out, "stale"), 0o755)
		res, err := Pull(ctx, Request{Registries: []string{host}, Repository: single.repo, Tag: "single", OutputDir: out, RegistryOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(out, "stale")); !errors.Is(err, os.ErrNotExist) {
			t.Error("the old output survived")
		}
		checkOutput(t, out, res, single, "single", false)
	})

	t.Run("unknown pinned digest", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "image")
		pinned := "sha256:" + strings.Repeat("0", 64)
		_, err := Pull(ctx, Request{Registries: []string{host}, Repository: idx.repo, Tag: "v1", Digest: pinned, OutputDir: out, RegistryOptions: opts})
		if err == nil || !strings.Contains(err.Error(), "registry "+host+" repository "+idx.repo+": manifest "+pinned) {
			t.Fatalf("Pull() = %v, want a not-found error naming registry, repository and digest", err)
		}
		checkGone(t, out)
	})

	t.Run("registry serves other bytes for the pinned digest", func(t *testing.T) {
		// A proxy in front of the registry answers the pinned digest with
		// the manifest that the tag names.
		pinned := "sha256:" + strings.Repeat("b", 64)
		target, _ := url.Parse("http://" + host)
		proxy := httputil.NewSingleHostReverseProxy(target)
		director := proxy.Director
		proxy.Director = func(r *http.Request) {
			director(r)
			r.URL.Path = strings.Replace(r.URL.Path, "/manifests/"+pinned, "/manifests/v1", 1)
		}
		srv := httptest.NewServer(proxy)
		defer srv.Close()
		lying := strings.TrimPrefix(srv.URL, "http://")
		out := filepath.Join(t.TempDir(), "image")
		_, err := Pull(ctx, Request{Registries: []string{lying}, Repository: idx.repo, Tag: "v1", Digest: pinned, OutputDir: out, RegistryOptions: opts})
		want := fmt.Sprintf("registry %s repository %s: manifest digest is %s, pinned digest is %s", lying, idx.repo, idx.root.Digest, pinned)
		if err == nil || err.Error() != want {
			t.Fatalf("Pull() = %v\nwant %s", err, want)
		}
		checkGone(t, out)
	})

	t.Run("all registries fail", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "image")
		_, err := Pull(ctx, Request{Registries: []string{"127.0.0.1:1", "127.0.0.1:2"}, Repository: idx.repo, Tag: "v1", OutputDir: out, RegistryOptions: opts})
		var ferr *registry.FetchError
		if !errors.As(err, &ferr) || len(ferr.Attempts) != 2 || !strings.Contains(err.Error(), "registry 127.0.0.1:1 repository "+idx.repo) || !strings.Contains(err.Error(), "registry 127.0.0.1:2 repository "+idx.repo) {
			t.Errorf("Pull() = %v, want a FetchError naming both registries", err)
		}
		checkGone(t, out)
	})

	t.Run("missing tag moves on and fails", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "image")
		_, err := Pull(ctx, Request{Registries: []string{host, host}, Repository: idx.repo, Tag: "nope", OutputDir: out, RegistryOptions: opts})
		var ferr *registry.FetchError
		if !errors.As(err, &ferr) || len(ferr.Attempts) != 2 {
			t.Errorf("Pull(missing tag) = %v, want both registries tried", err)
		}
		checkGone(t, out)
	})
}

func TestPullNestedIndex(t *testing.T) {
	host := testRegistry(t)
	inner := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add:        testImage(t, testPlatforms[0], true),
		Descriptor: v1.Descriptor{Platform: &testPlatforms[0]},
	})
	outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})
	p := pushed{host: host, repo: newRepoName("nested"), tag: "nested"}
	push(t, &p, outer)
	out := filepath.Join(t.TempDir(), "image")
	_, err := Pull(context.Background(), Request{
		Registries:      []string{host},
		Repository:      p.repo,
		Tag:             p.tag,
		OutputDir:       out,
		RegistryOptions: []registry.Option{registry.WithConfigDir(t.TempDir())},
	})
	innerDigest, _ := inner.Digest()
	want := fmt.Sprintf("registry %s repository %s: index %s entry 0 (%s) is an index; nested indexes are not supported", host, p.repo, p.root.Digest, innerDigest)
	if err == nil || err.Error() != want {
		t.Fatalf("Pull() = %v\nwant %s", err, want)
	}
	checkGone(t, out)
}

func TestDownloadBlob(t *testing.T) {
	host := testRegistry(t)
	p := pushImage(t, host)
	layers, _ := p.images[0].Layers()
	digest, _ := layers[1].Digest()
	opts := []registry.Option{registry.WithConfigDir(t.TempDir())}
	ctx := context.Background()

	out := filepath.Join(t.TempDir(), "blob")
	if err := DownloadBlob(ctx, []string{"127.0.0.1:1", host}, p.repo, digest.String(), out, opts...); err != nil {
		t.Fatalf("DownloadBlob() = %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != digest.Hex {
		t.Errorf("downloaded blob hashes to %x, want %s", sum, digest)
	}

	missing := filepath.Join(t.TempDir(), "blob")
	unknown := "sha256:" + strings.Repeat("c", 64)
	err = DownloadBlob(ctx, []string{host}, p.repo, unknown, missing, opts...)
	if err == nil || !strings.Contains(err.Error(), "registry "+host+" repository "+p.repo+": blob "+unknown) {
		t.Errorf("DownloadBlob(unknown) = %v, want an error naming registry, repository and blob", err)
	}
	checkGone(t, missing)
}

// fakeManifestServer answers /v2/ and every manifest request with body.
func fakeManifestServer(t *testing.T, body []byte, mediaType string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			w.Header().Set("Content-Type", mediaType)
			w.Write(body)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestPullWithoutRealRegistry(t *testing.T) {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("1", 64) + `","size":2},"layers":[]}`)
	sum := sha256.Sum256(manifest)
	actual := "sha256:" + hex.EncodeToString(sum[:])
	pinned := "sha256:" + strings.Repeat("d", 64)
	schema1 := []byte(`{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}`)
	for _, tc := range []struct {
		name      string
		body      []byte
		mediaType string
		digest    string
		want      string
	}{
		{"pinned digest mismatch", manifest, "application/vnd.oci.image.manifest.v1+json", pinned,
			"manifest digest is " + actual + ", pinned digest is " + pinned},
		{"schema 1", schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws", "",
			"is a Docker schema 1 manifest, which is not supported"},
		{"not a manifest", []byte(`{"mediaType":"application/vnd.example+json"}`), "application/json", "",
			`has media type "application/vnd.example+json", want an image manifest or index`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := fakeManifestServer(t, tc.body, tc.mediaType)
			out := filepath.Join(t.TempDir(), "image")
			_, err := Pull(context.Background(), Request{
				Registries:      []string{host},
				Repository:      "base/app",
				Tag:             "latest",
				Digest:          tc.digest,
				OutputDir:       out,
				RegistryOptions: []registry.Option{registry.WithConfigDir(t.TempDir())},
			})
			prefix := "registry " + host + " repository base/app: "
			if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Pull() = %v\nwant %q", err, prefix+"..."+tc.want)
			}
			checkGone(t, out)
		})
	}
}
