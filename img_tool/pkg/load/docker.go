package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/progress"
)

// probeCommandTimeout bounds `docker info` and `podman version`.
const probeCommandTimeout = 30 * time.Second

// dockerInfo is what `docker info` says about the image store.
type dockerInfo struct {
	bin string
	// containerdStore is true when Docker keeps images in containerd
	// (the containerd image store, "containerd-snapshotter").
	containerdStore bool
	// socket and namespace are Docker's containerd; empty when Docker does
	// not say (before API 1.46).
	socket    string
	namespace string
}

// dockerInfoJSON is the part of `docker info --format '{{json .}}'` that
// the loader reads.
type dockerInfoJSON struct {
	Driver       string
	DriverStatus [][]string
	Containerd   *struct {
		Address    string
		Namespaces struct {
			Containers string
		}
	}
	ServerErrors []string
}

// parseDockerInfo reads the output of `docker info --format '{{json .}}'`.
// Docker uses the containerd image store when its driver status names a
// containerd snapshotter ("driver-type": "io.containerd.snapshotter.v1").
func parseDockerInfo(out []byte) (*dockerInfo, error) {
	var j dockerInfoJSON
	if err := json.Unmarshal(bytes.TrimSpace(out), &j); err != nil {
		return nil, fmt.Errorf("docker info: %v", err)
	}
	if len(j.ServerErrors) > 0 {
		return nil, fmt.Errorf("docker info: %s", strings.Join(j.ServerErrors, "; "))
	}
	info := &dockerInfo{}
	for _, kv := range j.DriverStatus {
		for _, s := range kv {
			if strings.HasPrefix(s, "io.containerd.snapshotter.") {
				info.containerdStore = true
			}
		}
	}
	if j.Containerd != nil {
		info.socket = j.Containerd.Address
		info.namespace = j.Containerd.Namespaces.Containers
	}
	return info, nil
}

// dockerInfo runs `docker info` once per loader. The error wraps
// ErrNoDaemon when Docker does not answer.
func (l *Loader) dockerInfo(ctx context.Context) (*dockerInfo, error) {
	if l.docker != nil {
		return l.docker, nil
	}
	if err, ok := l.tried["docker"]; ok {
		return nil, err
	}
	info, err := l.probeDocker(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		err = fmt.Errorf("%w: docker: %w", ErrNoDaemon, err)
		l.tried["docker"] = err
		return nil, err
	}
	l.docker = info
	return info, nil
}

func (l *Loader) probeDocker(ctx context.Context) (*dockerInfo, error) {
	name := l.env.get("DOCKER")
	if name == "" {
		name = "docker"
	}
	bin, err := l.lookPath(name)
	if err != nil {
		return nil, err
	}
	out, err := l.output(ctx, bin, "info", "--format", "{{json .}}")
	if err != nil {
		return nil, err
	}
	info, err := parseDockerInfo(out)
	if err != nil {
		return nil, err
	}
	info.bin = bin
	return info, nil
}

// loadDocker loads through Docker's containerd when Docker uses the
// containerd image store and its socket answers here, else with
// `docker load`, or `$LOADER_BINARY image load` when $LOADER_BINARY is set
// (also when Docker does not answer).
func (l *Loader) loadDocker(ctx context.Context, n loadNames, im *image, sel []int) (*Result, error) {
	loader, err := l.loaderBinary()
	if err != nil {
		return nil, err
	}
	info, err := l.dockerInfo(ctx)
	if err != nil {
		if loader == "" || !errors.Is(err, ErrNoDaemon) {
			return nil, err
		}
		l.printf("note: %s; loading with $LOADER_BINARY %s\n", noDaemonDetail(err), loader)
		return l.loadTar(ctx, DaemonDocker, loaderArgv(loader), n, im, sel)
	}
	argv := []string{info.bin, "load"}
	if loader != "" {
		argv = loaderArgv(loader)
	}
	via := commandName(argv)
	if !info.containerdStore {
		l.warnOnce(fmt.Sprintf("warning: Docker does not use the containerd image store; loading with %s (not incremental)\n", via))
		return l.loadTar(ctx, DaemonDocker, argv, n, im, sel)
	}
	var why string
	if host := l.env.get("DOCKER_HOST"); host != "" && !strings.HasPrefix(host, "unix://") {
		why = fmt.Sprintf("DOCKER_HOST %s is not a local socket", host)
	} else {
		sockets := DefaultContainerdSockets()
		if info.socket != "" {
			sockets = []string{info.socket}
		}
		ns := info.namespace
		if ns == "" {
			ns = DefaultNamespace
		}
		c, err := l.containerd(ctx, sockets, ns, "")
		if err == nil {
			return l.loadContainerd(ctx, c, true, n, im, sel)
		}
		if !errors.Is(err, ErrNoDaemon) {
			return nil, err
		}
		why = noDaemonDetail(err)
	}
	l.warnOnce(fmt.Sprintf("warning: Docker uses the containerd image store, but its containerd cannot be reached from here (%s); loading with %s (not incremental)\n", why, via))
	return l.loadTar(ctx, DaemonDocker, argv, n, im, sel)
}

// commandName is argv with the program's base name: "docker load".
func commandName(argv []string) string {
	return strings.Join(append([]string{filepath.Base(argv[0])}, argv[1:]...), " ")
}

// loadedID finds the image ID in the output of `docker load` ("Loaded
// image ID: sha256:..."; podman: "Loaded image: sha256:..."), "" when it
// names none.
func loadedID(out string) string {
	id := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		for _, prefix := range []string{"Loaded image ID: ", "Loaded image: ", "Loaded image(s): "} {
			if v, ok := strings.CutPrefix(line, prefix); ok && strings.HasPrefix(v, "sha256:") {
				id = strings.Fields(v)[0]
			}
		}
	}
	return id
}

func (l *Loader) warnOnce(msg string) {
	if l.warned {
		return
	}
	l.warned = true
	l.printf("%s", msg)
}

// loadTar writes the tar of the selected manifest (see buildTar; the
// whole index for DaemonContainerization) and pipes it into argv. Without
// names the tar has no RepoTags: the result names the image by the ID that
// the command printed, else by its config's digest (the image ID of Docker
// without the containerd image store), or for DaemonContainerization the
// digest of the image's root.
func (l *Loader) loadTar(ctx context.Context, daemon string, argv []string, n loadNames, im *image, sel []int) (*Result, error) {
	via := commandName(argv)
	dir, err := os.MkdirTemp("", "img-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	t, err := l.buildTar(ctx, dir, via, daemon == DaemonContainerization, n, im, sel)
	if err != nil {
		return nil, err
	}
	res := t.result(daemon, via, n)
	pm := &im.manifests[t.manifest]
	id := pm.manifest.Config.Digest.String()
	if daemon == DaemonContainerization {
		id = im.Root.Digest.String()
	}
	f, err := os.Open(t.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	what := id + " (no name)"
	if len(n.familiar) > 0 {
		what = strings.Join(n.familiar, ", ")
	}
	l.printf("sending %s (%d blobs, %s) to %s\n", what, res.Blobs, progress.HumanSize(res.Bytes), via)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = f
	cmd.Env = l.o.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", via, err, strings.TrimSpace(out.String()))
	}
	l.printf("%s", out.String())
	if len(n.full) > 0 {
		res.Name = n.full[0]
	} else if res.Name = loadedID(out.String()); res.Name == "" {
		res.Name = id
	}
	return res, nil
}

// fetchTo writes a fetched layer to path.
func (l *Loader) fetchTo(ctx context.Context, f Fetcher, layer Layer, path string) error {
	rc, err := openLayer(ctx, f, layer)
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// output runs a probe command and returns its stdout; the error has its
// stderr.
func (l *Loader) output(ctx context.Context, bin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, probeCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = l.o.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// runQuiet runs a probe command for its exit code.
func (l *Loader) runQuiet(ctx context.Context, bin string, args ...string) error {
	_, err := l.output(ctx, bin, args...)
	return err
}
