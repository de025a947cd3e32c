package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/rules-img/rules_img/img_tool/pkg/load"
)

// loadConf is the configuration of a load.
func loadConf(tag, daemon string) map[string]string {
	return map[string]string{"tag": tag, "daemon": daemon}
}

// fakeLoader writes a loader program that copies its stdin to the
// returned tar path; it is the environment of daemon generic.
func fakeLoader(t *testing.T) (env []string, out string) {
	t.Helper()
	dir := t.TempDir()
	out = filepath.Join(dir, "loaded.tar")
	bin := filepath.Join(dir, "loader")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ncat > \"$OUT\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=/usr/bin:/bin", "LOADER_BINARY=" + bin, "OUT=" + out}, out
}

// tarEntries reads the names and contents of a tar file.
func tarEntries(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = must[[]byte](t)(io.ReadAll(tr))
	}
}

// TestRunLoadGeneric loads through a fake loader an image whose base layer
// is a missing blob, streamed from the base image's registry (after a
// dead mirror), under its name and the one of WithLoadNames.
func TestRunLoadGeneric(t *testing.T) {
	reg := inProcessRegistry(t)
	base := testLayer(t, 40, 2_000)
	if _, err := runPush(t, Settings{}, testOptions(t, new(bytes.Buffer)), fakeOp{img: testImage(t, base), configuration: push(reg, "org/base", "v1")}); err != nil {
		t.Fatal(err)
	}
	img := testImage(t, base, testLayer(t, 41, 1_000))
	env, out := fakeLoader(t)
	dir := t.TempDir()
	d := writeRunfiles(t, dir, Settings{LoadStrategy: StrategyEager}, fakeOp{img: img, command: CommandLoad, configuration: loadConf("app:1", "docker"),
		missing: map[v1.Hash]bool{must[v1.Hash](t)(base.Digest()): true}, origRegistries: []string{"127.0.0.1:1", reg}, origRepository: "org/base"})
	var buf bytes.Buffer
	rep, err := RunAll(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf,
		WithLoadNames("app:run"), WithDaemon(load.DaemonGeneric), WithLoadOptions(load.WithEnv(env)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", buf.String())
	if len(rep.Pushes) != 0 || len(rep.Loads) != 1 || !reflectEqual(rep.Loads[0].Names, []string{"docker.io/library/app:1", "docker.io/library/app:run"}) || rep.Loads[0].Blobs != 4 {
		t.Fatalf("report %+v", rep)
	}
	entries := tarEntries(t, out)
	var dm []struct{ RepoTags, Layers []string }
	if err := json.Unmarshal(entries["manifest.json"], &dm); err != nil {
		t.Fatal(err)
	}
	if len(dm) != 1 || strings.Join(dm[0].RepoTags, ",") != "app:1,app:run" || len(dm[0].Layers) != 2 {
		t.Fatalf("manifest.json %+v", dm)
	}
	for _, l := range must[[]v1.Layer](t)(img.Layers()) {
		want := must[[]byte](t)(io.ReadAll(must[io.ReadCloser](t)(l.Compressed())))
		if got := entries["blobs/sha256/"+must[v1.Hash](t)(l.Digest()).Hex]; !bytes.Equal(got, want) {
			t.Errorf("layer %s: %d bytes in the tar, want %d", must[v1.Hash](t)(l.Digest()), len(got), len(want))
		}
	}
}

// platformIndex is an OCI index of the images with the given platforms.
func platformIndex(t *testing.T, imgs []v1.Image, platforms []v1.Platform) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for i, img := range imgs {
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &platforms[i]}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// TestRunLoadContainerd loads one platform of an index from a runfiles tree
// into the containerd at $RULES_IMG_TEST_CONTAINERD.
func TestRunLoadContainerd(t *testing.T) {
	socket := os.Getenv("RULES_IMG_TEST_CONTAINERD")
	if socket == "" {
		t.Skip("RULES_IMG_TEST_CONTAINERD is unset")
	}
	seed := time.Now().UnixNano()
	amd := testImage(t, testLayer(t, seed, 1_000), testLayer(t, seed+1, 1_000))
	arm := testImage(t, testLayer(t, seed+2, 1_000))
	idx := platformIndex(t, []v1.Image{amd, arm}, []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}})
	dir := t.TempDir()
	name := "rules-img-test/deploy-load:" + time.Now().Format("150405.000000")
	d := writeRunfiles(t, dir, Settings{}, fakeOp{idx: idx, command: CommandLoad, configuration: loadConf(name, "auto")})
	var buf bytes.Buffer
	rep, err := RunAll(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf,
		WithLoadOptions(load.WithContainerdSockets(socket), load.WithNamespace("rules_img_test"), load.WithPlatforms("linux/amd64")))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", buf.String())
	r := rep.Loads[0]
	if r.Blobs != 5 || r.Written != 5 || r.Daemon != load.DaemonContainerd || strings.Join(r.Platforms, ",") != "linux/amd64" {
		t.Errorf("result %+v, want 5 of 5 blobs of linux/amd64 written into containerd", r)
	}
}

// TestRunLoadLazy loads an image whose layers are not in the runfiles: one
// from the remote cache, one from the output tree; a layer in neither fails
// the load, naming the target that wrote it.
func TestRunLoadLazy(t *testing.T) {
	cached, local := testLayer(t, 50, 3_000), testLayer(t, 51, 2_000)
	img := testImage(t, cached, local)
	env, out := fakeLoader(t)
	dir := t.TempDir()
	d := writeRunfiles(t, dir, Settings{LoadStrategy: StrategyLazy}, fakeOp{img: img, command: CommandLoad, configuration: loadConf("app:lazy", "generic")})
	d.Operations[0].Manifests[0].LayerOrigins = []LayerOrigin{{Target: "//app:cached"}, {Target: "//app:local", Path: "bazel-out/bin/local.tgz"}}
	cas := newMemCAS()
	moveToCAS(t, dir, cas)
	tree := t.TempDir()
	localHash := must[v1.Hash](t)(local.Digest())
	p := filepath.Join(tree, "bazel-out", "bin", "local.tgz")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, cas.blobs[localHash.Hex], 0o644)
	delete(cas.blobs, localHash.Hex)

	var buf bytes.Buffer
	opts := testOptions(t, &buf, WithBlobSource(cas, "mem"), WithOutputTree(tree), WithLoadOptions(load.WithEnv(env)))
	rep, err := RunAll(context.Background(), d, DirRunfiles(dir), opts...)
	if err != nil {
		t.Fatalf("RunAll: %v\n%s", err, buf.String())
	}
	if rep.Loads[0].Name != "docker.io/library/app:lazy" {
		t.Errorf("loaded %q", rep.Loads[0].Name)
	}
	entries := tarEntries(t, out)
	for _, l := range []v1.Layer{cached, local} {
		want := must[[]byte](t)(io.ReadAll(must[io.ReadCloser](t)(l.Compressed())))
		if got := entries["blobs/sha256/"+must[v1.Hash](t)(l.Digest()).Hex]; !bytes.Equal(got, want) {
			t.Errorf("layer %s: %d bytes in the tar, want %d", must[v1.Hash](t)(l.Digest()), len(got), len(want))
		}
	}

	// Without the output tree the local layer is nowhere.
	_, err = RunAll(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf, WithBlobSource(cas, "mem"), WithLoadOptions(load.WithEnv(env)))...)
	if err == nil || !strings.Contains(err.Error(), "written by //app:local") || !strings.Contains(err.Error(), localHash.String()) {
		t.Errorf("load of a layer in neither place: %v", err)
	}
}

// TestRunLoadTwoBases loads, as a tar of the whole index, an index whose
// images sit on base images of two repositories; neither base layer is in
// the runfiles, and each comes from its own repository.
func TestRunLoadTwoBases(t *testing.T) {
	reg := inProcessRegistry(t)
	baseA, baseB := testLayer(t, 50, 2_000), testLayer(t, 51, 3_000)
	for repo, l := range map[string]v1.Layer{"org/base-a": baseA, "org/base-b": baseB} {
		if _, err := runPush(t, Settings{}, testOptions(t, new(bytes.Buffer)), fakeOp{img: testImage(t, l), configuration: push(reg, repo, "v1")}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := testImage(t, baseA, testLayer(t, 52, 500)), testImage(t, baseB, testLayer(t, 53, 500))
	idx := platformIndex(t, []v1.Image{a, b}, []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}})
	dir := t.TempDir()
	d := writeRunfiles(t, dir, Settings{LoadStrategy: StrategyEager}, fakeOp{idx: idx, command: CommandLoad, configuration: loadConf("app:1", load.DaemonTar),
		missing:        map[v1.Hash]bool{must[v1.Hash](t)(baseA.Digest()): true, must[v1.Hash](t)(baseB.Digest()): true},
		origRegistries: []string{reg}, origRepository: "org/base-a",
		manifestOrigins: map[int]BaseOrigin{1: {Registries: []string{reg}, Repository: "org/base-b"}}})
	out := filepath.Join(t.TempDir(), "out.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = RunAll(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf, WithLoadOptions(load.WithTarOutput(out, f)))...)
	f.Close()
	if err != nil {
		t.Fatalf("load: %v\n%s", err, buf.String())
	}
	entries := tarEntries(t, out)
	for _, l := range []v1.Layer{baseA, baseB} {
		want := must[[]byte](t)(io.ReadAll(must[io.ReadCloser](t)(l.Compressed())))
		if got := entries["blobs/sha256/"+must[v1.Hash](t)(l.Digest()).Hex]; !bytes.Equal(got, want) {
			t.Errorf("base layer %s: %d bytes in the tar, want %d", must[v1.Hash](t)(l.Digest()), len(got), len(want))
		}
	}
}
