package deploy

import (
	"encoding/json"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testLayer returns a gzip layer of about size random bytes; equal seeds
// give equal layers.
func testLayer(t *testing.T, seed int64, size int64) v1.Layer {
	t.Helper()
	l, err := random.Layer(size, types.OCILayer, random.WithSource(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage returns an OCI image of the given layers.
func testImage(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// testIndex returns an OCI index of the images.
func testIndex(t *testing.T, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		adds = append(adds, mutate.IndexAddendum{Add: img})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// fakeOp describes one operation of a fake runfiles tree.
type fakeOp struct {
	// img or idx is the root.
	img v1.Image
	idx v1.ImageIndex
	// missing are layers left out of the runfiles, listed as missing blobs.
	missing map[v1.Hash]bool
	// skip are layers left out of the runfiles but not listed (a broken tree).
	skip map[v1.Hash]bool
	// configuration is the push or load configuration.
	configuration  any
	command        string
	origRegistries []string
	origRepository string
	// manifestOrigins are the per-manifest bases (Inputs.ManifestOrigins).
	manifestOrigins map[int]BaseOrigin
	// target is the label of the operation's target, "" for none.
	target string
}

// writeRunfiles writes a runfiles tree in dir with the layout the deploy
// rules make, and its dispatch.json made by NewDispatch and Merge.
func writeRunfiles(t *testing.T, dir string, settings Settings, ops ...fakeOp) *Dispatch {
	t.Helper()
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ds []*Dispatch
	for i, op := range ops {
		var imgs []v1.Image
		in := Inputs{Command: op.command, Target: op.target, MissingBlobs: map[int][]string{}, OriginalRegistries: op.origRegistries, OriginalRepository: op.origRepository, ManifestOrigins: op.manifestOrigins}
		if in.Command == "" {
			in.Command = CommandPush
		}
		if op.idx != nil {
			in.RootKind = RootIndex
			in.Root = must[[]byte](t)(op.idx.RawManifest())
			im := must[*v1.IndexManifest](t)(op.idx.IndexManifest())
			for _, d := range im.Manifests {
				imgs = append(imgs, must[v1.Image](t)(op.idx.Image(d.Digest)))
			}
		} else {
			in.RootKind = RootManifest
			in.Root = must[[]byte](t)(op.img.RawManifest())
			imgs = []v1.Image{op.img}
		}
		write(RootPath(i), in.Root)
		for m, img := range imgs {
			raw := must[[]byte](t)(img.RawManifest())
			in.Manifests = append(in.Manifests, raw)
			write(ManifestPath(i, m), raw)
			write(ConfigPath(i, m), must[[]byte](t)(img.RawConfigFile()))
			for j, l := range must[[]v1.Layer](t)(img.Layers()) {
				h := must[v1.Hash](t)(l.Digest())
				if op.missing[h] {
					in.MissingBlobs[m] = append(in.MissingBlobs[m], h.Hex)
					continue
				}
				if op.skip[h] {
					continue
				}
				rc := must[io.ReadCloser](t)(l.Compressed())
				data := must[[]byte](t)(io.ReadAll(rc))
				rc.Close()
				write(LayerPath(i, m, j), data)
			}
		}
		in.Configuration = must[[]byte](t)(json.Marshal(op.configuration))
		d, err := NewDispatch(in)
		if err != nil {
			t.Fatalf("NewDispatch(operation %d): %v", i, err)
		}
		ds = append(ds, d)
	}
	d, err := Merge(settings, ds...)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(filepath.Join(dir, DispatchName)); err != nil {
		t.Fatal(err)
	}
	return d
}

// push is the configuration of a push.
func push(registry, repository string, tags ...string) map[string]any {
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{"registry": registry, "repository": repository, "tags": tags}
}
