package load

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
)

// The real-daemon tests load into the containerd at
// $RULES_IMG_TEST_CONTAINERD (e.g. tools/services/containerd.sh start), in
// the namespace testNamespace, and check the result with a client of
// their own.
const testNamespace = "rules_img_test"

func testContainerd(t *testing.T) (socket string, client *containerd.Client, ctx context.Context) {
	t.Helper()
	socket = os.Getenv("RULES_IMG_TEST_CONTAINERD")
	if socket == "" {
		t.Skip("RULES_IMG_TEST_CONTAINERD is unset")
	}
	socket = strings.TrimPrefix(socket, "unix://")
	client, err := containerd.New(socket, containerd.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return socket, client, namespaces.WithNamespace(context.Background(), testNamespace)
}

func newTestLoader(t *testing.T, socket string, progress *bytes.Buffer, opts ...Option) *Loader {
	t.Helper()
	ld, err := New(append([]Option{WithContainerdSockets(socket), WithNamespace(testNamespace), WithProgress(progress)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ld.Close() })
	return ld
}

// uniqueName is an image name that no other run uses; the image record is
// deleted at the end of the test.
func uniqueName(t *testing.T, client *containerd.Client, ctx context.Context, what string) (name, full string) {
	t.Helper()
	name = fmt.Sprintf("rules-img-test/%s:%d", what, time.Now().UnixNano())
	full = "docker.io/" + name
	t.Cleanup(func() { client.ImageService().Delete(ctx, full) })
	return name, full
}

func checkCounts(t *testing.T, res *Result, blobs, written int) {
	t.Helper()
	if res.Blobs != blobs || res.Written != written {
		t.Errorf("wrote %d of %d blobs, want %d of %d", res.Written, res.Blobs, written, blobs)
	}
}

// checkContent checks that each digest is in the content store (or, with
// present false, is not).
func checkContent(t *testing.T, client *containerd.Client, ctx context.Context, present bool, digests ...digest.Digest) {
	t.Helper()
	for _, d := range digests {
		_, err := client.ContentStore().Info(ctx, d)
		switch {
		case present && err != nil:
			t.Errorf("content %s: %v, want present", d, err)
		case !present && !errdefs.IsNotFound(err):
			t.Errorf("content %s: %v, want not found", d, err)
		}
	}
}

// checkImage checks the image record and that the platform is unpacked.
func checkImage(t *testing.T, client *containerd.Client, ctx context.Context, full string, target digest.Digest, platform string) {
	t.Helper()
	rec, err := client.ImageService().Get(ctx, full)
	if err != nil {
		t.Fatalf("image %s: %v", full, err)
	}
	if rec.Target.Digest != target {
		t.Errorf("image %s points at %s, want %s", full, rec.Target.Digest, target)
	}
	p, err := platforms.Parse(platform)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := containerd.NewImageWithPlatform(client, rec, platforms.OnlyStrict(p)).IsUnpacked(ctx, containerd.DefaultSnapshotter)
	if err != nil || !ok {
		t.Errorf("image %s %s unpacked = %v, %v; want true", full, platform, ok, err)
	}
}

func layerDigests(m Manifest) []digest.Digest {
	var ds []digest.Digest
	for _, l := range m.Layers {
		ds = append(ds, l.Descriptor.Digest)
	}
	return ds
}

func configDigest(m Manifest) digest.Digest { return digest.FromBytes(m.Config) }

func TestContainerdLoad(t *testing.T) {
	socket, client, ctx := testContainerd(t)
	dir := t.TempDir()
	host := "linux/" + runtime.GOARCH
	seed := time.Now().UnixNano()
	a := newTestLayer(t, "a.txt", fmt.Sprintf("a %d\n", seed))
	b := newTestLayer(t, "b.txt", fmt.Sprintf("b %d\n", seed))
	m := newTestManifest(t, dir, host, a, b)
	name, full := uniqueName(t, client, ctx, "load")

	var progress bytes.Buffer
	ld := newTestLoader(t, socket, &progress)
	res, err := ld.Load(context.Background(), DaemonContainerd, []string{name}, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first load:\n%s", progress.String())
	checkCounts(t, res, 4, 4)
	if res.WrittenBytes != res.Bytes || res.Name != full || res.Via != socket || res.Namespace != testNamespace {
		t.Errorf("result %+v", res)
	}
	want := fmt.Sprintf("loaded %s into containerd %s (namespace %s): wrote 4 of 4 blobs (", full, socket, testNamespace)
	if !strings.Contains(progress.String(), want) || strings.Count(progress.String(), "written sha256:") != 4 ||
		!strings.Contains(progress.String(), "unpacked "+host+" into snapshotter overlayfs") {
		t.Errorf("progress does not contain 4 written lines, the unpack and %q", want)
	}
	checkContent(t, client, ctx, true, append(layerDigests(m), configDigest(m), m.Descriptor.Digest)...)
	info, err := client.ContentStore().Info(ctx, m.Descriptor.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if info.Labels["containerd.io/gc.ref.content.config"] != configDigest(m).String() ||
		info.Labels["containerd.io/gc.ref.content.l.1"] != m.Layers[1].Descriptor.Digest.String() {
		t.Errorf("manifest labels %v", info.Labels)
	}
	checkImage(t, client, ctx, full, m.Descriptor.Digest, host)

	// Again, with auto, which finds the same containerd: nothing written.
	progress.Reset()
	res, err = newTestLoader(t, socket, &progress).Load(context.Background(), DaemonAuto, []string{name}, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 4, 0)
	if strings.Count(progress.String(), "exists  sha256:") != 4 {
		t.Errorf("second load, progress:\n%s", progress.String())
	}

	// One layer changed: that layer, the config and the manifest.
	b2 := newTestLayer(t, "b.txt", fmt.Sprintf("b2 %d\n", seed))
	m2 := newTestManifest(t, dir, host, a, b2)
	progress.Reset()
	res, err = ld.Load(context.Background(), DaemonContainerd, []string{name}, singleImage(m2))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("changed layer:\n%s", progress.String())
	checkCounts(t, res, 4, 3)
	if want := m2.Layers[1].Descriptor.Size + int64(len(m2.Config)) + m2.Descriptor.Size; res.WrittenBytes != want {
		t.Errorf("wrote %d bytes, want %d", res.WrittenBytes, want)
	}
	checkImage(t, client, ctx, full, m2.Descriptor.Digest, host)
}

func TestContainerdIndexPlatform(t *testing.T) {
	socket, client, ctx := testContainerd(t)
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	amd := newTestManifest(t, dir, "linux/amd64",
		newTestLayer(t, "x.txt", fmt.Sprintf("x %d\n", seed)), newTestLayer(t, "y.txt", fmt.Sprintf("y %d\n", seed)))
	arm := newTestManifest(t, dir, "linux/arm64", newTestLayer(t, "z.txt", fmt.Sprintf("z %d\n", seed)))
	img := indexImage(t, amd, arm)
	name, full := uniqueName(t, client, ctx, "index")

	var progress bytes.Buffer
	res, err := newTestLoader(t, socket, &progress, WithPlatforms("linux/amd64")).Load(context.Background(), DaemonContainerd, []string{name}, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("linux/amd64:\n%s", progress.String())
	checkCounts(t, res, 5, 5) // 2 layers, config, manifest, index
	if strings.Join(res.Platforms, ",") != "linux/amd64" {
		t.Errorf("platforms %q", res.Platforms)
	}
	checkContent(t, client, ctx, true, append(layerDigests(amd), configDigest(amd), amd.Descriptor.Digest, img.Root.Digest)...)
	checkContent(t, client, ctx, false, append(layerDigests(arm), configDigest(arm), arm.Descriptor.Digest)...)
	checkImage(t, client, ctx, full, img.Root.Digest, "linux/amd64")
	info, err := client.ContentStore().Info(ctx, img.Root.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if info.Labels["containerd.io/gc.ref.content.m.1"] != arm.Descriptor.Digest.String() {
		t.Errorf("index labels %v", info.Labels)
	}

	// All platforms: only the arm64 blobs are new.
	progress.Reset()
	res, err = newTestLoader(t, socket, &progress, WithPlatforms("all")).Load(context.Background(), DaemonContainerd, []string{name}, img)
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res, 8, 3)
	checkContent(t, client, ctx, true, append(layerDigests(arm), configDigest(arm), arm.Descriptor.Digest)...)
	checkImage(t, client, ctx, full, img.Root.Digest, "linux/arm64")
}

// TestContainerdFetchFailure loads an image whose base layer comes from a
// fetcher; a broken fetch leaves no partial blob and no image record, and
// the next load completes.
func TestContainerdFetchFailure(t *testing.T) {
	socket, client, ctx := testContainerd(t)
	dir := t.TempDir()
	host := "linux/" + runtime.GOARCH
	seed := time.Now().UnixNano()
	base := newTestLayer(t, "base.txt", strings.Repeat(fmt.Sprintf("base %d\n", seed), 1000))
	top := newTestLayer(t, "top.txt", fmt.Sprintf("top %d\n", seed))
	m := newTestManifest(t, dir, host, base, top)
	img := singleImage(m)
	f := &mapFetcher{cut: 10}
	withoutPath(t, img, f, 0, 0)
	name, full := uniqueName(t, client, ctx, "fetch")

	var progress bytes.Buffer
	_, err := newTestLoader(t, socket, &progress).Load(context.Background(), DaemonContainerd, []string{name}, img)
	t.Logf("broken fetch: %v", err)
	if err == nil || !strings.Contains(err.Error(), "blob "+m.Layers[0].Descriptor.Digest.String()+" (layer 0 of manifest 0)") {
		t.Fatalf("Load() error %v, want one about layer 0", err)
	}
	checkContent(t, client, ctx, false, m.Layers[0].Descriptor.Digest, m.Descriptor.Digest)
	if _, err := client.ImageService().Get(ctx, full); !errdefs.IsNotFound(err) {
		t.Errorf("image record after a failed load: %v, want not found", err)
	}

	f.cut, f.opens = 0, 0
	progress.Reset()
	res, err := newTestLoader(t, socket, &progress).Load(context.Background(), DaemonContainerd, []string{name}, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fixed:\n%s", progress.String())
	if f.opens != 1 || res.Blobs != 4 || res.Written < 2 {
		t.Errorf("fetched %d times, wrote %d of %d blobs; want 1 and at least the base layer and the manifest", f.opens, res.Written, res.Blobs)
	}
	checkImage(t, client, ctx, full, m.Descriptor.Digest, host)

	f.opens = 0
	res, err = newTestLoader(t, socket, &progress).Load(context.Background(), DaemonContainerd, []string{name}, img)
	if err != nil {
		t.Fatal(err)
	}
	if f.opens != 0 || res.Written != 0 {
		t.Errorf("third load fetched %d times and wrote %d blobs, want 0 and 0", f.opens, res.Written)
	}
}
