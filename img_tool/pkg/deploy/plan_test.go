package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestPlanResolvesLikeNewDispatch checks that a plan, resolved from the
// runfiles, gives the Dispatch that NewDispatch gives for the same inputs
// (the deploy manifest that `img deploy-metadata` writes), and that a
// merged plan gives the Merge of those.
func TestPlanResolvesLikeNewDispatch(t *testing.T) {
	l1, l2, l3 := testLayer(t, 1, 300), testLayer(t, 2, 300), testLayer(t, 3, 300)
	img1, img2 := testImage(t, l1, l2), testImage(t, l1, l3)
	idx := testIndex(t, img1, img2)
	raw := func(m interface{ RawManifest() ([]byte, error) }) []byte { return must[[]byte](t)(m.RawManifest()) }
	hexOf := func(l v1.Layer) string { return must[v1.Hash](t)(l.Digest()).Hex }

	type op struct {
		planned   PlannedOperation
		root      []byte
		manifests [][]byte
		config    string
	}
	pushOp := op{
		planned: PlannedOperation{Command: "push", Target: "//app:push", RootKind: "index", Strategy: "lazy", Manifests: 2,
			MissingBlobs:       [][]string{nil, {"sha256:" + hexOf(l1)}},
			LayerOrigins:       [][]LayerOrigin{{{Target: "//app:l1", Path: "bazel-out/l1"}, {Target: "//app:l2", Path: "bazel-out/l2"}}, {{}, {Target: "//app:l3", Path: "bazel-out/l3"}}},
			ManifestOrigins:    []*BaseOrigin{nil, {Registries: []string{"mirror.example"}, Repository: "org/other"}},
			OriginalRegistries: []string{"index.docker.io"}, OriginalRepository: "library/base", OriginalTag: "1", OriginalDigest: "sha256:" + hexA},
		root: raw(idx), manifests: [][]byte{raw(img1), raw(img2)},
		config: `{"registry":"127.0.0.1:5000","repository":"org/app","tags":["latest","v1"]}`,
	}
	loadOp := op{
		planned: PlannedOperation{Command: "load", Target: "//app:load", RootKind: "manifest", Strategy: "eager", Manifests: 1},
		root:    raw(img1), manifests: [][]byte{raw(img1)},
		config: `{"tag":"app:latest","daemon":"containerd"}`,
	}
	settings := Settings{PushStrategy: "lazy", LoadStrategy: "eager", RemoteCache: "grpc://127.0.0.1:1", CredentialHelper: "/bin/helper"}

	dir := t.TempDir()
	var want []*Dispatch
	var planned []PlannedOperation
	for k, o := range []op{pushOp, loadOp} {
		files := map[string][]byte{"root.json": o.root, "configuration.json": []byte(o.config)}
		for i, m := range o.manifests {
			files[fmt.Sprintf("manifests/%d/manifest.json", i)] = m
		}
		for rel, data := range files {
			p := filepath.Join(dir, fmt.Sprint(k), filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		in := Inputs{Command: o.planned.Command, Target: o.planned.Target, RootKind: o.planned.RootKind, Strategy: o.planned.Strategy,
			Root: o.root, Manifests: o.manifests, Configuration: []byte(o.config), LayerOrigins: o.planned.LayerOrigins,
			OriginalRegistries: o.planned.OriginalRegistries, OriginalRepository: o.planned.OriginalRepository,
			OriginalTag: o.planned.OriginalTag, OriginalDigest: o.planned.OriginalDigest, MissingBlobs: map[int][]string{}, Remote: settings}
		for i, b := range o.planned.MissingBlobs {
			if b != nil {
				in.MissingBlobs[i] = b
			}
		}
		for i, bo := range o.planned.ManifestOrigins {
			if bo != nil {
				in.ManifestOrigins = map[int]BaseOrigin{i: *bo}
			}
		}
		d, err := NewDispatch(in)
		if err != nil {
			t.Fatalf("NewDispatch %s: %v", o.planned.Target, err)
		}
		want = append(want, d)
		planned = append(planned, o.planned)
	}
	wantMerged, err := Merge(settings, want...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(Plan{Operations: planned, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DispatchName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDispatch(DirRunfiles(dir))
	if err != nil {
		t.Fatalf("ReadDispatch: %v", err)
	}
	if !reflect.DeepEqual(got, wantMerged) {
		g, _ := got.Encode()
		w, _ := wantMerged.Encode()
		t.Fatalf("resolved plan differs from the merged deploy manifests:\ngot  %s\nwant %s", g, w)
	}
	if got.Operations[0].Manifests[1].OriginalRepository != "org/other" || got.Operations[0].Manifests[1].MissingBlobs[0] != hexOf(l1) {
		t.Fatalf("manifest 1 of the push lost its base origin or missing blob: %+v", got.Operations[0].Manifests[1])
	}
}

func TestPlanErrors(t *testing.T) {
	img := testImage(t, testLayer(t, 1, 100))
	manifest := must[[]byte](t)(img.RawManifest())
	good := func() (map[string][]byte, PlannedOperation) {
		return map[string][]byte{
			"0/root.json":                 manifest,
			"0/manifests/0/manifest.json": manifest,
			"0/configuration.json":        []byte(`{"registry":"r.example","repository":"app","tags":["v1"]}`),
		}, PlannedOperation{Command: "push", Target: "//app:push", RootKind: "manifest", Strategy: "eager", Manifests: 1}
	}
	for _, tc := range []struct {
		name    string
		edit    func(files map[string][]byte, op *PlannedOperation) string // returns the dispatch.json text, or "" for the plan of op
		wantErr string
		wantIs  error
	}{
		{name: "missing configuration", edit: func(f map[string][]byte, _ *PlannedOperation) string { delete(f, "0/configuration.json"); return "" },
			wantErr: "//app:push: runfile 0/configuration.json", wantIs: fs.ErrNotExist},
		{name: "missing manifest", edit: func(f map[string][]byte, op *PlannedOperation) string { op.Manifests = 2; return "" },
			wantErr: "runfile 0/manifests/1/manifest.json"},
		{name: "manifest count", edit: func(_ map[string][]byte, op *PlannedOperation) string { op.Manifests = 0; return "" },
			wantErr: "//app:push: 0 manifests", wantIs: ErrInvalid},
		{name: "bad tag", edit: func(f map[string][]byte, _ *PlannedOperation) string {
			f["0/configuration.json"] = []byte(`{"registry":"r.example","repository":"app","tags":["no spaces"]}`)
			return ""
		}, wantErr: "//app:push", wantIs: ErrInvalid},
		{name: "unknown field", edit: func(_ map[string][]byte, _ *PlannedOperation) string {
			return `{"planned_operations":[],"settings":{},"extra":1}`
		}, wantErr: "unknown field", wantIs: ErrInvalid},
		{name: "trailing data", edit: func(_ map[string][]byte, _ *PlannedOperation) string {
			return `{"planned_operations":[],"settings":{}} {}`
		}, wantErr: "data after the deploy plan", wantIs: ErrInvalid},
		{name: "oversized manifest", edit: func(f map[string][]byte, _ *PlannedOperation) string {
			f["0/root.json"] = []byte(strings.Repeat(" ", maxPlanFile+1))
			return ""
		}, wantErr: "larger than", wantIs: ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, op := good()
			text := tc.edit(files, &op)
			if text == "" {
				text = string(must[[]byte](t)(json.Marshal(Plan{Operations: []PlannedOperation{op}, Settings: Settings{PushStrategy: "eager"}})))
			}
			dir := t.TempDir()
			files[DispatchName] = []byte(text)
			for rel, data := range files {
				p := filepath.Join(dir, filepath.FromSlash(rel))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadDispatch(DirRunfiles(dir))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ReadDispatch: %v, want an error with %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("ReadDispatch: %v, want errors.Is %v", err, tc.wantIs)
			}
		})
	}
}

// TestReadRefusesPlan: Read is for resolved deploy manifests; a plan needs
// its runfiles, so Read names the file and says so instead of returning an
// empty Dispatch.
func TestReadRefusesPlan(t *testing.T) {
	p := filepath.Join(t.TempDir(), DispatchName)
	if err := os.WriteFile(p, []byte(`{"planned_operations":[],"settings":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(p)
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), p+" is a deploy plan") {
		t.Fatalf("Read(plan): %v, want an error naming %s as a deploy plan", err, p)
	}
}
