package load

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		in             string
		full, familiar string
		wantErr        string
	}{
		{"app", "docker.io/library/app:latest", "app:latest", ""},
		{"app:1", "docker.io/library/app:1", "app:1", ""},
		{"user/app:1", "docker.io/user/app:1", "user/app:1", ""},
		{"docker.io/library/app:2", "docker.io/library/app:2", "app:2", ""},
		{"localhost:5000/a:v1", "localhost:5000/a:v1", "localhost:5000/a:v1", ""},
		{"registry.local/team/app", "registry.local/team/app:latest", "registry.local/team/app:latest", ""},
		{"Invalid:Tag!", "", "", `tag "Invalid:Tag!": invalid reference format`},
		{"app:bad tag", "", "", `tag "app:bad tag"`},
		{"app@sha256:" + strings.Repeat("a", 64), "", "", "a digest cannot be loaded"},
		{"", "", "", `tag "": empty`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			full, familiar, err := ParseName(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseName(%q) = %q, %v; want an ErrInvalid error with %q", tc.in, full, err, tc.wantErr)
				}
				return
			}
			if err != nil || full != tc.full || familiar != tc.familiar {
				t.Errorf("ParseName(%q) = %q, %q, %v; want %q, %q", tc.in, full, familiar, err, tc.full, tc.familiar)
			}
		})
	}
}

func TestSelectManifests(t *testing.T) {
	dir := t.TempDir()
	l := newTestLayer(t, "a", "a")
	amd := newTestManifest(t, dir, "linux/amd64", l)
	arm64 := newTestManifest(t, dir, "linux/arm64/v8", l)
	arm := newTestManifest(t, dir, "linux/arm/v7", l)
	idx := indexImage(t, amd, arm64, arm)
	single := singleImage(arm64)
	oneEntry := indexImage(t, arm)
	host := map[string]int{"amd64": 0, "arm64": 1, "arm": 2}[runtime.GOARCH]
	var noEnv []string
	envArm := []string{"DOCKER_DEFAULT_PLATFORM=linux/arm/v7"}

	for _, tc := range []struct {
		name      string
		img       *Image
		daemon    string
		env       []string
		platforms string // "" for the default
		want      []int
		wantErr   string
		wantNote  string
	}{
		{"docker default: the host", idx, DaemonDocker, noEnv, "", []int{host}, "", ""},
		{"podman default: the host", idx, DaemonPodman, noEnv, "", []int{host}, "", ""},
		{"generic default: the host", idx, DaemonGeneric, noEnv, "", []int{host}, "", ""},
		{"auto default: the host", idx, DaemonAuto, noEnv, "", []int{host}, "", ""},
		{"containerd default: all", idx, DaemonContainerd, noEnv, "", []int{0, 1, 2}, "", ""},
		{"containerd ignores DOCKER_DEFAULT_PLATFORM", idx, DaemonContainerd, envArm, "", []int{0, 1, 2}, "", ""},
		{"docker default: DOCKER_DEFAULT_PLATFORM", idx, DaemonDocker, envArm, "", []int{2}, "", ""},
		{"DOCKER_DEFAULT_PLATFORM without a match", idx, DaemonDocker, []string{"DOCKER_DEFAULT_PLATFORM=linux/s390x"}, "", nil,
			"the index has no manifest for $DOCKER_DEFAULT_PLATFORM linux/s390x (choose with --platform); it has linux/amd64, linux/arm64/v8, linux/arm/v7", ""},
		{"bad DOCKER_DEFAULT_PLATFORM", idx, DaemonDocker, []string{"DOCKER_DEFAULT_PLATFORM=arm"}, "", nil, `$DOCKER_DEFAULT_PLATFORM: invalid: platform "arm"`, ""},
		{"--platform over DOCKER_DEFAULT_PLATFORM", idx, DaemonDocker, envArm, "linux/amd64", []int{0}, "", ""},
		{"--platform for containerd", idx, DaemonContainerd, noEnv, "linux/arm64", []int{1}, "", ""},
		{"index of one manifest, default", oneEntry, DaemonDocker, []string{"DOCKER_DEFAULT_PLATFORM=linux/s390x"}, "", []int{0}, "", ""},
		{"index of one manifest, no match", oneEntry, DaemonDocker, noEnv, "linux/s390x", nil, "the index has no manifest for --platform linux/s390x", ""},
		{"amd64", idx, DaemonDocker, noEnv, "linux/amd64", []int{0}, "", ""},
		{"arm64 without variant", idx, DaemonDocker, noEnv, "linux/arm64", []int{1}, "", ""},
		{"arm64 with v8", idx, DaemonDocker, noEnv, "linux/arm64/v8", []int{1}, "", ""},
		{"arm any variant", idx, DaemonDocker, noEnv, "linux/arm", []int{2}, "", ""},
		{"index order", idx, DaemonDocker, noEnv, "linux/arm/v7, linux/amd64", []int{0, 2}, "", ""},
		{"all", idx, DaemonDocker, noEnv, "all", []int{0, 1, 2}, "", ""},
		{"some match", idx, DaemonDocker, noEnv, "linux/s390x,linux/amd64", []int{0}, "", "note: the index has no manifest for linux/s390x"},
		{"none match", idx, DaemonDocker, noEnv, "linux/arm/v6", nil, "the index has no manifest for --platform linux/arm/v6; it has linux/amd64, linux/arm64/v8, linux/arm/v7", ""},
		{"single manifest, default", single, DaemonDocker, []string{"DOCKER_DEFAULT_PLATFORM=linux/s390x"}, "", []int{0}, "", ""},
		{"single manifest, match", single, DaemonDocker, noEnv, "linux/arm64", []int{0}, "", ""},
		{"single manifest, no match", single, DaemonContainerd, noEnv, "linux/amd64", nil, "the image is for linux/arm64/v8, not for --platform linux/amd64", ""},
		{"tar default: the host", idx, DaemonTar, noEnv, "", []int{host}, "", ""},
		{"containerization default: DOCKER_DEFAULT_PLATFORM", idx, DaemonContainerization, envArm, "", []int{2}, "", ""},
		{"tar, DOCKER_DEFAULT_PLATFORM without a match: the first", idx, DaemonTar, []string{"DOCKER_DEFAULT_PLATFORM=linux/s390x"}, "", []int{0}, "",
			"note: the index has no manifest for $DOCKER_DEFAULT_PLATFORM linux/s390x; the tar's manifest.json lists its first, linux/amd64"},
		{"tar, --platform without a match", idx, DaemonTar, noEnv, "linux/arm/v6", nil, "the index has no manifest for --platform linux/arm/v6", ""},
		{"tar, --platform all", idx, DaemonTar, noEnv, "all", []int{0, 1, 2}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress bytes.Buffer
			opts := []Option{WithProgress(&progress), WithEnv(tc.env)}
			if tc.platforms != "" {
				opts = append(opts, WithPlatforms(tc.platforms))
			}
			ld, err := New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			im, err := readImage(tc.img)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ld.selectManifests(im, tc.daemon)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("selectManifests() = %v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("selectManifests() = %v, %v; want %v", got, err, tc.want)
			}
			if !strings.Contains(progress.String(), tc.wantNote) {
				t.Errorf("progress %q, want %q", progress.String(), tc.wantNote)
			}
		})
	}
}

func TestWithPlatformsInvalid(t *testing.T) {
	for _, spec := range []string{"amd64", "linux/amd64/v2/x", ",", "linux/"} {
		if _, err := New(WithPlatforms(spec)); !errors.Is(err, ErrInvalid) {
			t.Errorf("WithPlatforms(%q): error %v, want ErrInvalid", spec, err)
		}
	}
}

func TestContainerdSockets(t *testing.T) {
	ld, err := New(WithEnv([]string{"CONTAINERD_ADDRESS=unix:///custom/containerd.sock"}))
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"unix:///custom/containerd.sock"}, DefaultContainerdSockets()...)
	if got := ld.sockets(); !reflect.DeepEqual(got, want) {
		t.Errorf("sockets() = %q, want %q", got, want)
	}
	if got := ld.namespace(); got != "moby" {
		t.Errorf("namespace() = %q, want moby", got)
	}
	ld, _ = New(WithEnv([]string{"CONTAINERD_NAMESPACE=k8s.io"}))
	if got := ld.namespace(); got != "k8s.io" {
		t.Errorf("namespace() = %q, want k8s.io", got)
	}
	if got := ld.sockets(); !reflect.DeepEqual(got, DefaultContainerdSockets()) {
		t.Errorf("sockets() without CONTAINERD_ADDRESS = %q", got)
	}
}

func TestContainerdUnreachable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	file := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A socket whose listener is gone: connection refused.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()

	m := newTestManifest(t, dir, "linux/amd64", newTestLayer(t, "a", "a"))
	ld, err := New(WithContainerdSockets(missing, "unix://"+file, stale))
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	_, err = ld.Load(context.Background(), DaemonContainerd, []string{"app:1"}, singleImage(m))
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Load() error %v, want ErrNoDaemon", err)
	}
	for _, s := range []string{missing + " (no such socket)", file + " (not a socket)", stale + " (", "connection refused", "(set CONTAINERD_ADDRESS to the socket"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not contain %q: %v", s, err)
		}
	}
}

func TestAutoNothingReachable(t *testing.T) {
	dir := t.TempDir()
	m := newTestManifest(t, dir, "linux/amd64", newTestLayer(t, "a", "a"))
	ld, err := New(WithContainerdSockets(filepath.Join(dir, "none.sock")),
		WithEnv([]string{"PATH=" + dir, "DOCKER=" + filepath.Join(dir, "docker")}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ld.Load(context.Background(), DaemonAuto, []string{"app"}, singleImage(m))
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Load() error %v, want ErrNoDaemon", err)
	}
	for _, s := range []string{"containerd: no socket answered; tried " + dir + "/none.sock (no such socket)", "docker: " + dir + "/docker: not an executable file", "podman: podman: executable file not found in $PATH"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not contain %q:\n%v", s, err)
		}
	}
}

func TestGCLabels(t *testing.T) {
	dir := t.TempDir()
	a, b := newTestLayer(t, "a", "a"), newTestLayer(t, "b", "b")
	m := newTestManifest(t, dir, "linux/amd64", a, b)
	var om ocispec.Manifest
	if err := json.Unmarshal(m.Data, &om); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"containerd.io/gc.ref.content.config": om.Config.Digest.String(),
		"containerd.io/gc.ref.content.l.0":    m.Layers[0].Descriptor.Digest.String(),
		"containerd.io/gc.ref.content.l.1":    m.Layers[1].Descriptor.Digest.String(),
	}
	if got := manifestGCLabels(&om); !reflect.DeepEqual(got, want) {
		t.Errorf("manifestGCLabels() = %v, want %v", got, want)
	}
	m2 := newTestManifest(t, dir, "linux/arm64", a)
	img := indexImage(t, m, m2)
	im, err := readImage(img)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		"containerd.io/gc.ref.content.m.0": m.Descriptor.Digest.String(),
		"containerd.io/gc.ref.content.m.1": m2.Descriptor.Digest.String(),
	}
	if got := indexGCLabels(im.entries); !reflect.DeepEqual(got, want) {
		t.Errorf("indexGCLabels() = %v, want %v", got, want)
	}
}

func TestParseDockerInfo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		json    string
		want    dockerInfo
		wantErr string
	}{
		{"containerd store", `{"Driver":"overlayfs","DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]],"Containerd":{"Address":"/run/containerd/containerd.sock","Namespaces":{"Containers":"moby","Plugins":"plugins.moby"}}}`,
			dockerInfo{containerdStore: true, socket: "/run/containerd/containerd.sock", namespace: "moby"}, ""},
		{"classic overlay2", `{"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"],["Supports d_type","true"]]}`, dockerInfo{}, ""},
		{"server error", `{"ServerErrors":["Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?"]}`, dockerInfo{}, "Cannot connect"},
		{"not json", `Client: ...`, dockerInfo{}, "docker info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDockerInfo([]byte(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseDockerInfo() = %+v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || *got != tc.want {
				t.Errorf("parseDockerInfo() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestReadImageInvalid(t *testing.T) {
	dir := t.TempDir()
	m := newTestManifest(t, dir, "linux/amd64", newTestLayer(t, "a", "a"))
	bad := m
	bad.Config = []byte("{}")
	noFile := m
	noFile.Layers = []Layer{{Descriptor: m.Layers[0].Descriptor}}
	for _, tc := range []struct {
		name    string
		img     *Image
		wantErr string
	}{
		{"no manifests", &Image{}, "without manifests"},
		{"config mismatch", singleImage(bad), "manifest 0: config is sha256:"},
		{"layer without file or fetcher", singleImage(noFile), "has no file and the image no fetcher"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readImage(tc.img); err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("readImage() error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestGenericLoader pipes the tar into a fake loader and checks what it
// read, with one layer fetched.
func TestGenericLoader(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got.tar")
	loader := filepath.Join(dir, "loader")
	if err := os.WriteFile(loader, []byte("#!/bin/sh\ncat > \"$OUT\"\necho Loaded image: $OUT_NAME\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, b := newTestLayer(t, "a", "a"), newTestLayer(t, "b", "b")
	amd := newTestManifest(t, dir, "linux/amd64", a, b)
	arm := newTestManifest(t, dir, "linux/arm64", a)
	img := indexImage(t, amd, arm)
	f := &mapFetcher{}
	withoutPath(t, img, f, 0, 1)
	env := []string{"PATH=/usr/bin:/bin", "LOADER_BINARY=" + loader, "OUT=" + out, "OUT_NAME=app:1"}

	t.Run("two platforms", func(t *testing.T) {
		ld, _ := New(WithEnv(env), WithPlatforms("all"))
		_, err := ld.Load(context.Background(), DaemonGeneric, []string{"app:1"}, img)
		if err == nil || !strings.Contains(err.Error(), "takes one image, but 2 platforms are selected (linux/amd64, linux/arm64)") {
			t.Errorf("Load() error %v", err)
		}
	})
	t.Run("no LOADER_BINARY", func(t *testing.T) {
		ld, _ := New(WithEnv(nil), WithPlatforms("linux/amd64"))
		if _, err := ld.Load(context.Background(), DaemonGeneric, []string{"app:1"}, img); err == nil || !strings.Contains(err.Error(), "$LOADER_BINARY") {
			t.Errorf("Load() error %v", err)
		}
	})

	var progress bytes.Buffer
	ld, err := New(WithEnv(env), WithPlatforms("linux/amd64"), WithProgress(&progress))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ld.Load(context.Background(), DaemonGeneric, []string{"app:1"}, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	if f.opens != 1 {
		t.Errorf("fetched %d times, want 1", f.opens)
	}
	if res.Name != "docker.io/library/app:1" || res.Blobs != 4 || res.Written != 4 || res.Via != "loader image load" {
		t.Errorf("result %+v", res)
	}
	if want := "loaded docker.io/library/app:1 with loader image load: sent 4 blobs (964 B) of linux/amd64"; !strings.Contains(progress.String(), want) || !strings.Contains(progress.String(), "Loaded image: app:1") {
		t.Errorf("progress does not contain %q", want)
	}
	entries := readTar(t, out)
	var dm []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &dm); err != nil {
		t.Fatal(err)
	}
	if len(dm) != 1 || !reflect.DeepEqual(dm[0].RepoTags, []string{"app:1"}) || len(dm[0].Layers) != 2 {
		t.Fatalf("manifest.json %+v", dm)
	}
	for _, l := range amd.Layers {
		if _, ok := entries["blobs/sha256/"+l.Descriptor.Digest.Encoded()]; !ok {
			t.Errorf("layer %s not in the tar", l.Descriptor.Digest)
		}
	}
}

func readTar(t *testing.T, path string) map[string][]byte {
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
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = data
	}
}
