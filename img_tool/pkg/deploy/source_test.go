package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
	"github.com/rules-img/rules_img/img_tool/pkg/verify"
)

// memCAS is a BlobSource in memory. The real remote caches (Bazel's remote
// worker, buildbox-casd) are exercised by e2e/remote.
type memCAS struct {
	mu    sync.Mutex
	blobs map[string][]byte
	reads map[string]int
}

func newMemCAS() *memCAS { return &memCAS{blobs: map[string][]byte{}, reads: map[string]int{}} }

func (c *memCAS) put(data []byte) reapi.Digest {
	sum := sha256.Sum256(data)
	d := reapi.Digest{Hash: hex.EncodeToString(sum[:]), SizeBytes: int64(len(data))}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blobs[d.Hash] = data
	return d
}

func (c *memCAS) Open(_ context.Context, d reapi.Digest) (io.ReadCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, ok := c.blobs[d.Hash]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", d, reapi.ErrNotFound)
	}
	c.reads[d.Hash]++
	// As the BlobSource contract asks: the content is checked as it is read.
	return verify.NewReader(io.NopCloser(bytes.NewReader(data)), d.OCI(), d.OCI(), d.SizeBytes), nil
}

// moveToCAS moves every layer of the runfiles tree in dir into the CAS, as
// a lazy push target leaves them in the remote cache.
func moveToCAS(t *testing.T, dir string, cas *memCAS) {
	t.Helper()
	layers, _ := filepath.Glob(filepath.Join(dir, "*", "manifests", "*", "layer", "*"))
	if len(layers) == 0 {
		t.Fatal("no layers in the runfiles")
	}
	for _, p := range layers {
		cas.put(must[[]byte](t)(os.ReadFile(p)))
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

type fakeCommitter struct {
	missing map[string]bool
	got     []reapi.Digest
}

func (f *fakeCommitter) Commit(_ context.Context, ds []reapi.Digest) ([]reapi.Digest, error) {
	f.got = append(f.got, ds...)
	var missing []reapi.Digest
	for _, d := range ds {
		if f.missing[d.Hash] {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

func TestLazyPush(t *testing.T) {
	big, small := testLayer(t, 21, 300_000), testLayer(t, 22, 1000)
	img := testImage(t, big, small)
	bigHash := must[v1.Hash](t)(big.Digest())
	for _, tc := range []struct {
		name string
		// setup moves blobs; it returns options and the CAS.
		setup     func(t *testing.T, dir string) ([]Option, *memCAS)
		wantErr   []string
		want      func(t *testing.T, r PushResult, cas *memCAS)
		wantNoTag bool
	}{
		{name: "layers from the remote cache", setup: func(t *testing.T, dir string) ([]Option, *memCAS) {
			cas := newMemCAS()
			moveToCAS(t, dir, cas)
			return []Option{WithBlobSource(cas, "grpc://cache")}, cas
		}, want: func(t *testing.T, r PushResult, cas *memCAS) {
			if r.Cached != 2 || r.Uploaded != 1 || r.CachedBytes != must[int64](t)(big.Size())+must[int64](t)(small.Size()) {
				t.Errorf("cached %d (%d bytes), uploaded %d; want 2 layers from the cache and the config uploaded", r.Cached, r.CachedBytes, r.Uploaded)
			}
			if cas.reads[bigHash.Hex] != 1 {
				t.Errorf("the big layer was read %d times from the cache, want 1", cas.reads[bigHash.Hex])
			}
		}},
		{name: "evicted from the cache, in the output tree", setup: func(t *testing.T, dir string) ([]Option, *memCAS) {
			cas := newMemCAS()
			moveToCAS(t, dir, cas)
			tree := t.TempDir()
			data := cas.blobs[bigHash.Hex]
			delete(cas.blobs, bigHash.Hex)
			p := filepath.Join(tree, "bazel-out", "bin", "big.tgz")
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, data, 0o644)
			return []Option{WithBlobSource(cas, "grpc://cache"), WithOutputTree(tree)}, cas
		}, want: func(t *testing.T, r PushResult, cas *memCAS) {
			if r.Cached != 1 || r.Uploaded != 2 {
				t.Errorf("cached %d, uploaded %d; want 1 from the cache, the big layer and the config from disk", r.Cached, r.Uploaded)
			}
		}},
		{name: "evicted everywhere", setup: func(t *testing.T, dir string) ([]Option, *memCAS) {
			cas := newMemCAS()
			moveToCAS(t, dir, cas)
			delete(cas.blobs, bigHash.Hex)
			return []Option{WithBlobSource(cas, "grpc://cache"), WithOutputTree(t.TempDir())}, cas
		}, wantErr: []string{"blob " + bigHash.String() + " (layer 0 of manifest 0)", "not in the remote cache", "written by //app:big_layer", "--remote_upload_local_results"}, wantNoTag: true},
		{name: "corrupt in the cache", setup: func(t *testing.T, dir string) ([]Option, *memCAS) {
			cas := newMemCAS()
			moveToCAS(t, dir, cas)
			cas.blobs[bigHash.Hex] = append([]byte("x"), cas.blobs[bigHash.Hex][1:]...)
			return []Option{WithBlobSource(cas, "grpc://cache")}, cas
		}, wantErr: []string{"blob " + bigHash.String(), "content is sha256:"}, wantNoTag: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := inProcessRegistry(t)
			dir := t.TempDir()
			op := fakeOp{img: img, configuration: push(reg, "lazy/app", "v1")}
			d := writeRunfiles(t, dir, Settings{PushStrategy: StrategyLazy}, op)
			d.Operations[0].Manifests[0].LayerOrigins = []LayerOrigin{{Target: "//app:big_layer", Path: "bazel-out/bin/big.tgz"}, {Target: "//app:small_layer"}}
			opts, cas := tc.setup(t, dir)
			var buf bytes.Buffer
			res, err := Run(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf, opts...)...)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("Run() succeeded")
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				if tc.wantNoTag && tagExists(t, reg+"/lazy/app:v1") {
					t.Error("the failed push wrote the tag")
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, buf.String())
			}
			checkImage(t, reg+"/lazy/app:v1", img)
			tc.want(t, res[0], cas)
			if !strings.Contains(buf.String(), "from the remote cache") && res[0].Cached > 0 {
				t.Errorf("summary does not say what came from the remote cache:\n%s", buf.String())
			}
		})
	}
}

func TestCASRegistryPushCommitsOnly(t *testing.T) {
	layer := testLayer(t, 31, 50_000)
	img := testImage(t, layer)
	reg := inProcessRegistry(t)
	dir := t.TempDir()
	d := writeRunfiles(t, dir, Settings{PushStrategy: StrategyCASRegistry}, fakeOp{img: img, configuration: push(reg, "cas/app", "v1")})
	cas := newMemCAS()
	moveToCAS(t, dir, cas)
	config := must[v1.Hash](t)(img.ConfigName())
	// The registry's cache lacks the config: only that is uploaded.
	c := &fakeCommitter{missing: map[string]bool{config.Hex: true}}
	var buf bytes.Buffer
	res, err := Run(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf, WithCommitter(c), WithBlobSource(cas, "mem"))...)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, buf.String())
	}
	if len(c.got) != 2 {
		t.Errorf("committed %d blobs, want config and layer", len(c.got))
	}
	if r := res[0]; r.Committed != 1 || r.Uploaded != 1 || r.Cached != 0 {
		t.Errorf("committed %d, uploaded %d, cached %d; want the layer committed and the config uploaded", r.Committed, r.Uploaded, r.Cached)
	}
	if len(cas.reads) != 0 {
		t.Errorf("the push read %d blobs from the cache; a committed blob must not move", len(cas.reads))
	}
	// The in-process registry has no layer: the manifest and the tag are
	// there, which is what a cas_registry push sends.
	if !tagExists(t, reg+"/cas/app:v1") {
		t.Error("no tag")
	}
}

func TestBESStrategy(t *testing.T) {
	img := testImage(t, testLayer(t, 41, 20_000))
	reg := inProcessRegistry(t)
	dir := t.TempDir()
	d := writeRunfiles(t, dir, Settings{PushStrategy: StrategyBES}, fakeOp{img: img, configuration: push(reg, "bes/app", "v1")})

	// bazel run of a bes target pushes nothing.
	var buf bytes.Buffer
	res, err := Run(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf)...)
	if err != nil || len(res) != 0 || !strings.Contains(buf.String(), "Build Event Service") {
		t.Fatalf("Run = %v, %v; output:\n%s", res, err, buf.String())
	}
	if tagExists(t, reg+"/bes/app:v1") {
		t.Fatal("bazel run of a bes target pushed")
	}

	// The backend reads everything from the CAS.
	cas := newMemCAS()
	for _, p := range must[[]string](t)(filepath.Glob(filepath.Join(dir, "*", "*.json"))) {
		cas.put(must[[]byte](t)(os.ReadFile(p)))
	}
	for _, p := range must[[]string](t)(filepath.Glob(filepath.Join(dir, "*", "manifests", "*", "*"))) {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			cas.put(must[[]byte](t)(os.ReadFile(p)))
		}
	}
	moveToCAS(t, dir, cas)
	dispatch := cas.put(must[[]byte](t)(os.ReadFile(filepath.Join(dir, DispatchName))))
	rep, err := RunFromCAS(context.Background(), cas, dispatch, testOptions(t, &buf)...)
	if err != nil {
		t.Fatalf("RunFromCAS: %v\n%s", err, buf.String())
	}
	checkImage(t, reg+"/bes/app:v1", img)
	if r := rep.Pushes[0]; r.Cached != 2 {
		t.Errorf("cached %d blobs, want config and layer", r.Cached)
	}

	// A deploy manifest that the CAS lacks.
	if _, err := RunFromCAS(context.Background(), cas, reapi.Digest{Hash: strings.Repeat("0", 64), SizeBytes: 3}, testOptions(t, &buf)...); err == nil || !strings.Contains(err.Error(), "deploy manifest "+strings.Repeat("0", 64)) {
		t.Errorf("RunFromCAS of an unknown digest: %v", err)
	}
}
