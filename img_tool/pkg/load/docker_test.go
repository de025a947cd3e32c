package load

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// TestDockerLoad loads with `docker load` into the Docker engine at
// $RULES_IMG_TEST_DOCKER_HOST (e.g. tools/services/dockerd.sh start), which
// does not use the containerd image store.
func TestDockerLoad(t *testing.T) {
	host := os.Getenv("RULES_IMG_TEST_DOCKER_HOST")
	if host == "" {
		t.Skip("RULES_IMG_TEST_DOCKER_HOST is unset")
	}
	env := append(os.Environ(), "DOCKER_HOST="+host)
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	platform := "linux/" + runtime.GOARCH
	a := newTestLayer(t, "a.txt", fmt.Sprintf("a %d\n", seed))
	amd := newTestManifest(t, dir, platform, a, newTestLayer(t, "b.txt", fmt.Sprintf("b %d\n", seed)))
	other := newTestManifest(t, dir, "linux/s390x", a)
	name := fmt.Sprintf("rules-img-test/docker:%d", seed)
	t.Cleanup(func() {
		cmd := exec.Command("docker", "image", "rm", name)
		cmd.Env = env
		cmd.Run()
	})

	var progress bytes.Buffer
	ld, err := New(WithEnv(env), WithProgress(&progress), WithContainerdSockets(dir+"/none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	for i := 0; i < 2; i++ {
		res, err := ld.Load(context.Background(), DaemonDocker, []string{name}, indexImage(t, amd, other))
		if err != nil {
			t.Fatal(err)
		}
		if res.Daemon != DaemonDocker || res.Via != "docker load" || res.Blobs != 4 {
			t.Errorf("result %+v", res)
		}
	}
	t.Logf("progress:\n%s", progress.String())
	warning := "warning: Docker does not use the containerd image store; loading with docker load (not incremental)\n"
	if strings.Count(progress.String(), warning) != 1 {
		t.Errorf("progress has not once %q", warning)
	}
	if !strings.Contains(progress.String(), "loaded docker.io/"+name+" with docker load: sent 4 blobs (") {
		t.Errorf("no summary in the progress")
	}
	cmd := exec.Command("docker", "image", "inspect", "--format", "{{.Id}} {{.Os}}/{{.Architecture}}", name)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker image inspect: %v: %s", err, out)
	}
	if want := digest.FromBytes(amd.Config).String() + " " + platform; strings.TrimSpace(string(out)) != want {
		t.Errorf("docker image inspect: %q, want %q", out, want)
	}
}

// fakeDocker writes a docker program whose `docker info` prints info and
// whose `docker load` copies its stdin to out.
func fakeDocker(t *testing.T, info string) (env []string, out string) {
	t.Helper()
	dir := t.TempDir()
	out = dir + "/loaded.tar"
	bin := dir + "/docker"
	script := "#!/bin/sh\ncase \"$1\" in\ninfo) cat \"$INFO\" ;;\nload) cat > \"$OUT\"; echo Loaded image ;;\n*) exit 2 ;;\nesac\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/info.json", []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + dir + ":/usr/bin:/bin", "INFO=" + dir + "/info.json", "OUT=" + out}, out
}

func containerdStoreInfo(socket, ns string) string {
	return fmt.Sprintf(`{"Driver":"overlayfs","DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]],"Containerd":{"Address":%q,"Namespaces":{"Containers":%q}}}`, socket, ns)
}

// TestDockerContainerdStoreUnreachable: Docker says it uses the containerd
// image store, but its containerd socket is not there: docker load.
func TestDockerContainerdStoreUnreachable(t *testing.T) {
	dir := t.TempDir()
	env, out := fakeDocker(t, containerdStoreInfo(dir+"/gone.sock", "moby"))
	m := newTestManifest(t, dir, "linux/amd64", newTestLayer(t, "a", "a"))
	var progress bytes.Buffer
	ld, err := New(WithEnv(env), WithProgress(&progress))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ld.Load(context.Background(), DaemonDocker, []string{"app:1"}, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	if res.Daemon != DaemonDocker || res.Via != "docker load" {
		t.Errorf("result %+v", res)
	}
	want := "warning: Docker uses the containerd image store, but its containerd cannot be reached from here (containerd: no socket answered; tried " + dir + "/gone.sock (no such socket)); loading with docker load (not incremental)\n"
	if !strings.Contains(progress.String(), want) {
		t.Errorf("progress does not contain %q", want)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Errorf("docker load read nothing: %v", err)
	}
}

// TestDockerContainerdStore: Docker says it uses the containerd image store
// at the test containerd: the load goes there, in Docker's namespace.
func TestDockerContainerdStore(t *testing.T) {
	socket, client, ctx := testContainerd(t)
	dir := t.TempDir()
	env, out := fakeDocker(t, containerdStoreInfo(socket, testNamespace))
	m := newTestManifest(t, dir, "linux/"+runtime.GOARCH, newTestLayer(t, "a", fmt.Sprint(time.Now().UnixNano())))
	name, full := uniqueName(t, client, ctx, "docker-store")
	var progress bytes.Buffer
	ld, err := New(WithEnv(env), WithProgress(&progress), WithNamespace("ignored"))
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	res, err := ld.Load(context.Background(), DaemonDocker, []string{name}, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	if res.Daemon != DaemonContainerd || res.Via != socket || res.Namespace != testNamespace || res.Written != 3 {
		t.Errorf("result %+v, want 3 blobs written into containerd %s namespace %s", res, socket, testNamespace)
	}
	if strings.Contains(progress.String(), "warning") {
		t.Errorf("a warning in the progress")
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("docker load ran")
	}
	checkImage(t, client, ctx, full, m.Descriptor.Digest, "linux/"+runtime.GOARCH)
}

// TestDockerLoadNoName loads an image without a name into the Docker engine
// at $RULES_IMG_TEST_DOCKER_HOST: an untagged image, found by the ID that
// the result names.
func TestDockerLoadNoName(t *testing.T) {
	host := os.Getenv("RULES_IMG_TEST_DOCKER_HOST")
	if host == "" {
		t.Skip("RULES_IMG_TEST_DOCKER_HOST is unset")
	}
	env := append(os.Environ(), "DOCKER_HOST="+host)
	dir := t.TempDir()
	m := newTestManifest(t, dir, "linux/"+runtime.GOARCH, newTestLayer(t, "n.txt", fmt.Sprintf("n %d\n", time.Now().UnixNano())))
	id := digest.FromBytes(m.Config).String()
	t.Cleanup(func() {
		cmd := exec.Command("docker", "image", "rm", id)
		cmd.Env = env
		cmd.Run()
	})
	var progress bytes.Buffer
	ld, err := New(WithEnv(env), WithProgress(&progress), WithContainerdSockets(dir+"/none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	res, err := ld.Load(context.Background(), DaemonDocker, nil, singleImage(m))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	if res.Name != id || len(res.Names) != 0 {
		t.Errorf("result name %q names %q, want %s and none", res.Name, res.Names, id)
	}
	cmd := exec.Command("docker", "image", "inspect", "--format", "{{.Id}} {{len .RepoTags}}", res.Name)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker image inspect: %v: %s", err, out)
	}
	if want := id + " 0"; strings.TrimSpace(string(out)) != want {
		t.Errorf("docker image inspect: %q, want %q", out, want)
	}
}
