package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/errdefs"
)

// fakeTarLoader writes a program that records its arguments in args,
// copies its stdin to tar and prints $SAY.
func fakeTarLoader(t *testing.T, dir, name string) (bin, args, tar string) {
	t.Helper()
	bin, args, tar = filepath.Join(dir, name), filepath.Join(dir, name+".args"), filepath.Join(dir, name+".tar")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %s\n/bin/cat > %s\n[ -n \"$SAY\" ] && echo \"$SAY\"\nexit 0\n", args, tar)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, args, tar
}

// repoTags reads the RepoTags of the docker save tar at path.
func repoTags(t *testing.T, path string) []string {
	t.Helper()
	var dm []struct{ RepoTags []string }
	if err := json.Unmarshal(readTar(t, path)["manifest.json"], &dm); err != nil {
		t.Fatal(err)
	}
	if len(dm) != 1 {
		t.Fatalf("manifest.json has %d entries", len(dm))
	}
	return dm[0].RepoTags
}

// TestTarLoadNames loads under several names, none, and repeated ones
// through a fake loader binary.
func TestTarLoadNames(t *testing.T) {
	dir := t.TempDir()
	m := newTestManifest(t, dir, "linux/amd64", newTestLayer(t, "a", "a"))
	id := "sha256:" + strings.Repeat("d", 64)
	for _, tc := range []struct {
		name      string
		names     []string
		say       string
		wantName  string
		wantNames []string
		wantTags  []string
	}{
		{"one", []string{"app:1"}, "Loaded image: app:1", "docker.io/library/app:1", []string{"docker.io/library/app:1"}, []string{"app:1"}},
		{"several, repeated", []string{"app:1", "docker.io/library/app:1", "registry.local/team/app", "app:1"}, "",
			"docker.io/library/app:1", []string{"docker.io/library/app:1", "registry.local/team/app:latest"}, []string{"app:1", "registry.local/team/app:latest"}},
		{"none, docker prints the ID", nil, "Loaded image ID: " + id, id, nil, []string{}},
		{"none, podman prints the ID", nil, "Loaded image: " + id, id, nil, []string{}},
		{"none, nothing printed: the config digest", nil, "", configDigest(m).String(), nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, args, tar := fakeTarLoader(t, t.TempDir(), "nerdctl")
			var progress bytes.Buffer
			ld, err := New(WithEnv([]string{"PATH=/usr/bin:/bin", "LOADER_BINARY=" + bin, "SAY=" + tc.say}), WithProgress(&progress))
			if err != nil {
				t.Fatal(err)
			}
			res, err := ld.Load(context.Background(), DaemonGeneric, tc.names, singleImage(m))
			if err != nil {
				t.Fatal(err)
			}
			if res.Name != tc.wantName || !reflect.DeepEqual(res.Names, tc.wantNames) || res.Via != "nerdctl image load" {
				t.Errorf("result name %q names %q via %q; want %q %q via nerdctl image load", res.Name, res.Names, res.Via, tc.wantName, tc.wantNames)
			}
			if got := repoTags(t, tar); !reflect.DeepEqual(got, tc.wantTags) {
				t.Errorf("RepoTags %q, want %q", got, tc.wantTags)
			}
			if got, _ := os.ReadFile(args); string(got) != "image load\n" {
				t.Errorf("the loader ran with %q, want image load", got)
			}
			want := "loaded " + strings.Join(tc.wantNames, ", ")
			if len(tc.wantNames) == 0 {
				want = "loaded " + tc.wantName + " (no name)"
			}
			if !strings.Contains(progress.String(), want+" with nerdctl image load: sent 3 blobs") {
				t.Errorf("progress does not contain %q:\n%s", want, progress.String())
			}
		})
	}
}

// TestLoaderBinary: $LOADER_BINARY takes the tar of daemon generic, and of
// docker and podman in place of `docker load` and `podman load`.
func TestLoaderBinary(t *testing.T) {
	dir := t.TempDir()
	m := newTestManifest(t, dir, "linux/amd64", newTestLayer(t, "a", "a"))
	classic := `{"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"]]}`
	for _, tc := range []struct {
		name   string
		daemon string
		// docker is the `docker info` of a fake docker, "" for none.
		docker string
		// loader is false for no $LOADER_BINARY, missing for one that does
		// not exist.
		loader, missing bool
		wantVia         string
		wantDaemon      string
		wantNote        string
		wantErr         string
		wantIs          error
	}{
		{name: "generic", daemon: DaemonGeneric, loader: true, wantVia: "loader image load", wantDaemon: DaemonGeneric},
		{name: "generic without LOADER_BINARY", daemon: DaemonGeneric, wantErr: "daemon generic needs $LOADER_BINARY", wantIs: ErrInvalid},
		{name: "generic, LOADER_BINARY not found", daemon: DaemonGeneric, loader: true, missing: true, wantErr: "$LOADER_BINARY: nowhere: executable file not found"},
		{name: "podman replaced", daemon: DaemonPodman, loader: true, wantVia: "loader image load", wantDaemon: DaemonPodman},
		{name: "podman without podman", daemon: DaemonPodman, wantErr: "podman: no container runtime reachable", wantIs: ErrNoDaemon},
		{name: "docker load replaced", daemon: DaemonDocker, docker: classic, loader: true, wantVia: "loader image load", wantDaemon: DaemonDocker,
			wantNote: "loading with loader image load (not incremental)"},
		{name: "docker load kept", daemon: DaemonDocker, docker: classic, wantVia: "docker load", wantDaemon: DaemonDocker},
		{name: "no docker, LOADER_BINARY", daemon: DaemonDocker, loader: true, wantVia: "loader image load", wantDaemon: DaemonDocker,
			wantNote: "note: docker: docker: executable file not found in $PATH; loading with $LOADER_BINARY "},
		{name: "no docker, no LOADER_BINARY", daemon: DaemonDocker, wantErr: "docker: docker: executable file not found", wantIs: ErrNoDaemon},
		{name: "auto, nothing but LOADER_BINARY", daemon: DaemonAuto, loader: true, wantVia: "loader image load", wantDaemon: DaemonGeneric},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// PATH has no podman and, without a fake docker, no docker.
			bindir := t.TempDir()
			path := bindir
			var env []string
			var loaderTar, dockerTar string
			if tc.docker != "" {
				denv, out := fakeDocker(t, tc.docker)
				path += ":" + strings.TrimPrefix(denv[0], "PATH=")
				env, dockerTar = denv[1:], out
			}
			env = append(env, "PATH="+path)
			if tc.loader {
				var bin string
				bin, _, loaderTar = fakeTarLoader(t, bindir, "loader")
				if tc.missing {
					bin = "nowhere"
				}
				env = append(env, "LOADER_BINARY="+bin)
			}
			var progress bytes.Buffer
			ld, err := New(WithEnv(env), WithProgress(&progress), WithContainerdSockets(filepath.Join(bindir, "none.sock")))
			if err != nil {
				t.Fatal(err)
			}
			res, err := ld.Load(context.Background(), tc.daemon, []string{"app:1"}, singleImage(m))
			t.Logf("progress:\n%s", progress.String())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) {
					t.Fatalf("Load() error %v, want %q (%v)", err, tc.wantErr, tc.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Via != tc.wantVia || res.Daemon != tc.wantDaemon {
				t.Errorf("loaded by %s via %q, want %s via %q", res.Daemon, res.Via, tc.wantDaemon, tc.wantVia)
			}
			if !strings.Contains(progress.String(), tc.wantNote) {
				t.Errorf("progress does not contain %q", tc.wantNote)
			}
			used, unused := loaderTar, dockerTar
			if tc.wantVia == "docker load" {
				used, unused = dockerTar, loaderTar
			}
			if st, err := os.Stat(used); err != nil || st.Size() == 0 {
				t.Errorf("%s read nothing: %v", tc.wantVia, err)
			}
			if unused != "" {
				if _, err := os.Stat(unused); err == nil {
					t.Errorf("%s was written too", unused)
				}
			}
		})
	}
}

func TestLoadedID(t *testing.T) {
	id := "sha256:" + strings.Repeat("e", 64)
	for _, tc := range []struct {
		out, want string
	}{
		{"Loaded image ID: " + id + "\n", id},
		{"Getting image source signatures\nLoaded image: " + id + "\n", id},
		{"Loaded image(s): " + id + "\n", id},
		{"Loaded image: app:1\n", ""},
		{"", ""},
	} {
		if got := loadedID(tc.out); got != tc.want {
			t.Errorf("loadedID(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}

func TestRecordNames(t *testing.T) {
	root := "sha256:" + strings.Repeat("f", 64)
	named := loadNames{full: []string{"docker.io/library/a:1", "docker.io/library/b:1"}, familiar: []string{"a:1", "b:1"}}
	for _, tc := range []struct {
		name      string
		n         loadNames
		ns        string
		viaDocker bool
		want      []string
	}{
		{"names", named, "k8s.io", false, named.full},
		{"no name in moby", loadNames{}, "moby", false, []string{"moby-dangling@" + root}},
		{"no name through Docker", loadNames{}, "other", true, []string{"moby-dangling@" + root}},
		{"no name elsewhere", loadNames{}, "k8s.io", false, []string{"untagged@" + root}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recordNames(tc.n, tc.ns, tc.viaDocker, root); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("recordNames() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestContainerdNames loads into the test containerd under two names, and
// without a name: the image is kept under a record named by its digest.
func TestContainerdNames(t *testing.T) {
	socket, client, ctx := testContainerd(t)
	dir := t.TempDir()
	host := "linux/" + runtime.GOARCH
	m := newTestManifest(t, dir, host, newTestLayer(t, "n.txt", fmt.Sprint(time.Now().UnixNano())))
	a, fullA := uniqueName(t, client, ctx, "names-a")
	b, fullB := uniqueName(t, client, ctx, "names-b")

	var progress bytes.Buffer
	res, err := newTestLoader(t, socket, &progress).Load(context.Background(), DaemonContainerd, []string{a, b, a}, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != fullA || !reflect.DeepEqual(res.Names, []string{fullA, fullB}) {
		t.Errorf("result name %q names %q", res.Name, res.Names)
	}
	checkImage(t, client, ctx, fullA, m.Descriptor.Digest, host)
	checkImage(t, client, ctx, fullB, m.Descriptor.Digest, host)

	record := "untagged@" + m.Descriptor.Digest.String()
	t.Cleanup(func() { client.ImageService().Delete(ctx, record) })
	progress.Reset()
	res, err = newTestLoader(t, socket, &progress).Load(context.Background(), DaemonContainerd, nil, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("no name:\n%s", progress.String())
	if res.Name != record || len(res.Names) != 0 {
		t.Errorf("result name %q names %q, want %q and none", res.Name, res.Names, record)
	}
	if !strings.Contains(progress.String(), "loaded "+record+" (no name) into containerd") {
		t.Errorf("no summary in the progress")
	}
	checkImage(t, client, ctx, record, m.Descriptor.Digest, host)
	if _, err := client.ImageService().Get(ctx, "moby-dangling@"+m.Descriptor.Digest.String()); !errdefs.IsNotFound(err) {
		t.Errorf("a moby-dangling record outside namespace moby: %v", err)
	}
}

// TestDockerContainerdStoreNoName: a load without a name through Docker's
// containerd image store gets Docker's record of an image without a tag,
// and the result names the image by its ID, the manifest's digest.
func TestDockerContainerdStoreNoName(t *testing.T) {
	socket, client, ctx := testContainerd(t)
	dir := t.TempDir()
	env, _ := fakeDocker(t, containerdStoreInfo(socket, testNamespace))
	host := "linux/" + runtime.GOARCH
	m := newTestManifest(t, dir, host, newTestLayer(t, "d", fmt.Sprint(time.Now().UnixNano())))
	record := "moby-dangling@" + m.Descriptor.Digest.String()
	t.Cleanup(func() { client.ImageService().Delete(ctx, record) })
	var progress bytes.Buffer
	ld, err := New(WithEnv(env), WithProgress(&progress))
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	res, err := ld.Load(context.Background(), DaemonDocker, nil, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	if res.Name != m.Descriptor.Digest.String() || len(res.Names) != 0 || res.Daemon != DaemonContainerd {
		t.Errorf("result %+v, want the name %s", res, m.Descriptor.Digest)
	}
	checkImage(t, client, ctx, record, m.Descriptor.Digest, host)
}
