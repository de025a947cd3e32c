// Package load loads images into a local container runtime: containerd
// (through its API, writing only the blobs it lacks), Docker (through
// Docker's containerd when Docker uses the containerd image store, else
// `docker load`), podman (`podman load`), Apple's container CLI
// (`container image load`) or `$LOADER_BINARY image load` (any program
// that takes a `docker save` tar on stdin that way, e.g. nerdctl; when set
// it also replaces `docker load`, `podman load` and `container`). It also
// writes the tar that those commands read to a writer of the caller's
// (daemon tar), e.g. the standard output of `bazel run`.
//
// A loader reads the image from files that earlier build actions wrote;
// base layers that the build never had come from a Fetcher.
package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/rules-img/rules_img/img_tool/pkg/progress"
)

// Daemons, the values of WithDaemon and of the daemon of a load.
const (
	// DaemonAuto uses Docker if it answers (through containerd when Docker
	// uses the containerd image store), else containerd, else
	// $LOADER_BINARY when set, else podman. The rules resolve "auto" at
	// analysis time; the launcher still takes it from older manifests.
	DaemonAuto = "auto"
	// DaemonContainerd loads through the containerd API.
	DaemonContainerd = "containerd"
	// DaemonDocker loads through Docker's containerd when Docker uses the
	// containerd image store, else with `docker load`.
	DaemonDocker = "docker"
	// DaemonPodman loads with `podman load`.
	DaemonPodman = "podman"
	// DaemonContainerization pipes a tar that is both a `docker save`
	// archive and an OCI layout (of the whole index when the image is one)
	// into `container image load`, the CLI of Apple's Containerization
	// framework ($LOADER_BINARY replaces `container`).
	DaemonContainerization = "containerization"
	// DaemonTar loads into no runtime: it writes the tar of
	// DaemonContainerization to the writer of WithTarOutput.
	DaemonTar = "tar"
	// DaemonGeneric pipes a `docker save` tar into `$LOADER_BINARY image
	// load`.
	DaemonGeneric = "generic"
)

// Daemons are the valid daemons, in the order that messages list them.
var Daemons = []string{DaemonAuto, DaemonDocker, DaemonContainerd, DaemonPodman, DaemonContainerization, DaemonTar, DaemonGeneric}

// ErrInvalid is wrapped by every error about a malformed image, name,
// platform or option.
var ErrInvalid = errors.New("invalid")

// ErrNoDaemon is wrapped by the errors that say no runtime could be
// reached: no containerd socket answered, `docker` failed, and so on.
var ErrNoDaemon = errors.New("no container runtime reachable")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Image is what Load loads: a root manifest or index, its image manifests,
// their configs and their layers.
type Image struct {
	// Root is the descriptor of the manifest or index that the name will
	// point to.
	Root ocispec.Descriptor
	// Index is the content of Root when Root is an index; nil when Root
	// is an image manifest (then Manifests[0] is Root).
	Index []byte
	// Manifests are the image manifests: the root itself, or every entry
	// of the index in index order.
	Manifests []Manifest
	// Fetcher opens the layers that have no Path. It may be nil when
	// every layer has one.
	Fetcher Fetcher
}

// Manifest is one image manifest with its config and layers.
type Manifest struct {
	Descriptor ocispec.Descriptor
	// Data is the manifest as the build wrote it; its digest and size are
	// those of Descriptor.
	Data []byte
	// Config is the config blob; Data's config descriptor names it.
	Config []byte
	// Layers are the layer blobs in manifest order.
	Layers []Layer
}

// Layer is one layer blob and where its bytes are.
type Layer struct {
	Descriptor ocispec.Descriptor
	// Path is a file with the blob, or "" when the build never had it (a
	// base layer of a shallow pull): the image's Fetcher opens it then.
	Path string
}

// Fetcher opens blobs that are not files: the base layers of a shallow
// pull, from the registry they came from.
//
// Open returns a reader of the blob's bytes that the caller closes. It is
// called at most once per blob and load, only when the runtime lacks the
// blob. The reader must fail instead of returning io.EOF when the bytes do
// not match the descriptor's size and digest. Errors say where the blob
// was looked for.
type Fetcher interface {
	Open(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error)
}

// Option configures a Loader.
type Option func(*options) error

type options struct {
	platforms   platformSpec
	progress    io.Writer
	env         []string
	sockets     []string
	socketsSet  bool
	namespace   string
	snapshotter string
	jobs        int
	tarOut      io.Writer
	tarOutName  string
}

// DefaultJobs is the number of blobs that a containerd load writes at
// once.
const DefaultJobs = 4

// WithPlatforms selects which manifests of an index are loaded: "all", or
// a comma-separated list of os/arch[/variant] such as
// "linux/amd64,linux/arm64". A platform without a variant matches every
// variant of its architecture. Each platform loads the first manifest of
// the index that matches it; platforms that match nothing are skipped
// with a note, and none matching at all is an error. An image that is a
// single manifest is loaded whatever its platform unless a list was given
// that does not match it.
//
// The default depends on the daemon of the load: every manifest for
// DaemonContainerd; for the others (Docker, podman and tar loads take one
// platform) $DOCKER_DEFAULT_PLATFORM when set, else linux/GOARCH, the
// host's architecture (containers on macOS and Windows run in a Linux VM).
// An index of one manifest loads that one by default.
//
// DaemonTar and DaemonContainerization write every manifest of an index
// into the tar's OCI layout, whatever the selection; it picks the one
// manifest that the tar's manifest.json lists for `docker load`: the first
// selected one. By default that is the host's (or $DOCKER_DEFAULT_PLATFORM's)
// manifest, or the index's first when it has none for that platform.
func WithPlatforms(spec string) Option {
	return func(o *options) error {
		p, err := parsePlatforms(spec)
		if err != nil {
			return err
		}
		o.platforms = p
		return nil
	}
}

// WithProgress writes one line per blob, notes and warnings, and a summary
// per load to w. The default writes nothing.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			w = io.Discard
		}
		o.progress = w
		return nil
	}
}

// WithEnv sets the environment ("KEY=value" entries) that the loader reads
// (CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, CONTAINERD_SNAPSHOTTER,
// DOCKER, LOADER_BINARY, PATH) and that `docker`, `podman` and the loader
// binary run with (DOCKER_HOST, CONTAINERS_CONF, ...). The default is the
// process's environment.
func WithEnv(env []string) Option {
	return func(o *options) error {
		// An empty env is an empty environment, not the process's.
		o.env = append([]string{}, env...)
		return nil
	}
}

// WithContainerdSockets sets the containerd sockets to try, in order. The
// default is $CONTAINERD_ADDRESS (when set), then DefaultContainerdSockets.
func WithContainerdSockets(sockets ...string) Option {
	return func(o *options) error {
		if len(sockets) == 0 {
			return invalidf("no containerd sockets")
		}
		o.sockets = append([]string(nil), sockets...)
		o.socketsSet = true
		return nil
	}
}

// WithNamespace sets the containerd namespace of a containerd load. The
// default is $CONTAINERD_NAMESPACE, else "moby", where Docker's containerd
// image store keeps its images. A load through Docker always uses
// Docker's namespace.
func WithNamespace(ns string) Option {
	return func(o *options) error {
		if ns == "" || strings.ContainsAny(ns, "/ \t\n") {
			return invalidf("containerd namespace %q: empty or has / or white space", ns)
		}
		o.namespace = ns
		return nil
	}
}

// WithSnapshotter sets the snapshotter that a containerd load unpacks the
// image into. The default is $CONTAINERD_SNAPSHOTTER, else containerd's
// default for the namespace (overlayfs on Linux).
func WithSnapshotter(name string) Option {
	return func(o *options) error {
		if name == "" {
			return invalidf("empty snapshotter")
		}
		o.snapshotter = name
		return nil
	}
}

// WithJobs sets how many blobs a containerd load writes at once. The
// default is DefaultJobs.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalidf("jobs %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithTarOutput sets where DaemonTar writes its tar: w, called name in
// messages (e.g. "stdout"). The tar is complete before its first byte is
// written to w, so a load that fails writes nothing; at most one tar is
// written to w (a second tar load is an error). The default is no output:
// DaemonTar loads fail.
func WithTarOutput(name string, w io.Writer) Option {
	return func(o *options) error {
		if w == nil || name == "" {
			return invalidf("tar output %q: want a name and a writer", name)
		}
		o.tarOut, o.tarOutName = w, name
		return nil
	}
}

// Loader loads images. It finds each runtime once and keeps its
// connection until Close. It is not safe for concurrent use.
type Loader struct {
	o       options
	env     env
	tried   map[string]error // daemon detection failures, by daemon
	ctrd    map[string]*ctrdConn
	docker  *dockerInfo
	warned  bool
	tarDone bool // a tar was written to the tar output
	closers []io.Closer
}

// New returns a Loader. It reaches no runtime before the first Load.
func New(opts ...Option) (*Loader, error) {
	o := options{progress: io.Discard, jobs: DefaultJobs}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	if o.env == nil {
		o.env = os.Environ()
	}
	return &Loader{o: o, env: newEnv(o.env), tried: map[string]error{}, ctrd: map[string]*ctrdConn{}}, nil
}

// Close closes the connections of the loader.
func (l *Loader) Close() error {
	var errs []error
	for _, c := range l.closers {
		errs = append(errs, c.Close())
	}
	l.closers = nil
	l.ctrd = map[string]*ctrdConn{}
	return errors.Join(errs...)
}

// Result describes one load.
type Result struct {
	// Name is the first name that was loaded, normalized, e.g.
	// "docker.io/library/app:1". For a load without a name it is what
	// finds the image: its ID ("sha256:...", as `docker images` shows it)
	// for loads through Docker, podman or the loader binary, the image
	// record ("moby-dangling@sha256:..." in Docker's namespace moby, else
	// "untagged@sha256:...") for a containerd load, the digest of the
	// image's root (manifest or index) for DaemonTar and, unless
	// `container` names an ID, DaemonContainerization.
	Name string
	// Names are the normalized names that were loaded, in order; none for
	// a load without a name.
	Names []string
	// Daemon is the runtime that took the image: DaemonContainerd (also
	// for Docker with the containerd image store), DaemonDocker,
	// DaemonPodman, DaemonContainerization or DaemonGeneric; DaemonTar
	// when the tar went to the tar output.
	Daemon string
	// Via is the containerd socket, the command that read the tar
	// ("docker load", "podman load", "container image load", the loader
	// binary), or the name of the tar output.
	Via string
	// Namespace is the containerd namespace; empty for tar loads.
	Namespace string
	// Platforms are the platforms of the loaded manifests ("linux/amd64";
	// "unknown" when an image names none).
	Platforms []string
	// Blobs is the number of distinct blobs of the loaded manifests
	// (index, manifests, configs, layers), Bytes their size.
	Blobs int
	Bytes int64
	// Written blobs were written into containerd, WrittenBytes their
	// size; the others existed. For tar loads every blob is written.
	Written      int
	WrittenBytes int64
}

// Summary is the line that the loader writes at the end of a load.
func (r *Result) Summary() string {
	what := r.Name + " (no name)"
	if len(r.Names) > 0 {
		what = strings.Join(r.Names, ", ")
	}
	if r.Namespace != "" {
		return fmt.Sprintf("loaded %s into containerd %s (namespace %s): wrote %d of %d blobs (%s of %s)",
			what, r.Via, r.Namespace, r.Written, r.Blobs, progress.HumanSize(r.WrittenBytes), progress.HumanSize(r.Bytes))
	}
	s := fmt.Sprintf("loaded %s with %s: sent %d blobs (%s)", what, r.Via, r.Blobs, progress.HumanSize(r.Bytes))
	if r.Daemon == DaemonTar {
		s = fmt.Sprintf("wrote %s to %s: a docker-save and OCI layout tar of %d blobs (%s)", what, r.Via, r.Blobs, progress.HumanSize(r.Bytes))
	}
	if len(r.Platforms) > 1 || len(r.Platforms) == 1 && r.Platforms[0] != "unknown" {
		s += " of " + strings.Join(r.Platforms, ", ")
	}
	return s
}

// Load loads img under names (see ParseName; a name given twice is loaded
// once) into daemon (one of Daemons). What is loaded are the manifests of
// the selected platforms (see WithPlatforms); a tar load takes exactly one,
// except that DaemonTar and DaemonContainerization take the whole index.
//
// Without names the image is loaded all the same, and Result.Name says how
// to reach it: a tar load is an untagged image (reached by its ID), a
// containerd load gets an image record named by the root's digest (so that
// containerd keeps its content): "moby-dangling@DIGEST" in Docker's
// namespace moby and for loads through Docker (Docker lists it as an image
// without a tag, ID DIGEST), "untagged@DIGEST" in other namespaces.
//
// A containerd load writes, in this order, the layers and configs the
// daemon lacks, the manifests, the index; then it points the image record
// name at the root and unpacks the image into the snapshotter. Each blob
// write is atomic, so a load that fails (the daemon died, a fetch failed)
// leaves no partial blob and no image record pointing at missing content
// of a selected platform; the blobs it wrote are kept by a lease for an
// hour, and the next load writes what is still missing.
func (l *Loader) Load(ctx context.Context, daemon string, names []string, img *Image) (*Result, error) {
	var n loadNames
	for _, name := range names {
		full, familiar, err := ParseName(name)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if !oneOf(full, n.full) {
			n.full = append(n.full, full)
			n.familiar = append(n.familiar, familiar)
		}
	}
	what := strings.Join(n.full, ", ")
	if img != nil && len(n.full) == 0 {
		what = img.Root.Digest.String() + " (no name)"
	}
	if !oneOf(daemon, Daemons) {
		return nil, fmt.Errorf("load of %s: %w", what, invalidf("daemon %q: want one of %s", daemon, strings.Join(Daemons, ", ")))
	}
	im, err := readImage(img)
	if err != nil {
		return nil, fmt.Errorf("load of %s: %w", what, err)
	}
	sel, err := l.selectManifests(im, daemon)
	if err != nil {
		return nil, fmt.Errorf("load of %s: %w", what, err)
	}
	res, err := l.load(ctx, daemon, n, im, sel)
	if err != nil {
		return nil, fmt.Errorf("load of %s: %w", what, err)
	}
	l.printf("%s\n", res.Summary())
	return res, nil
}

// loadNames are the names of a load, normalized (full) and short
// (familiar, for the RepoTags of a tar); empty for a load without a name.
type loadNames struct {
	full, familiar []string
}

// loaderBinary is $LOADER_BINARY found in the loader's PATH, or "" when
// it is unset.
func (l *Loader) loaderBinary() (string, error) {
	name := l.env.get("LOADER_BINARY")
	if name == "" {
		return "", nil
	}
	p, err := l.lookPath(name)
	if err != nil {
		return "", fmt.Errorf("$LOADER_BINARY: %w", err)
	}
	return p, nil
}

// loaderArgv is the command of a tar load through $LOADER_BINARY.
func loaderArgv(bin string) []string { return []string{bin, "image", "load"} }

// load finds the runtime of daemon and loads into it.
func (l *Loader) load(ctx context.Context, daemon string, n loadNames, im *image, sel []int) (*Result, error) {
	switch daemon {
	case DaemonContainerd:
		c, err := l.containerd(ctx, l.sockets(), l.namespace(), socketsHint)
		if err != nil {
			return nil, err
		}
		return l.loadContainerd(ctx, c, false, n, im, sel)
	case DaemonDocker:
		return l.loadDocker(ctx, n, im, sel)
	case DaemonPodman:
		argv, err := l.podmanArgv()
		if err != nil {
			return nil, err
		}
		return l.loadTar(ctx, DaemonPodman, argv, n, im, sel)
	case DaemonContainerization:
		argv, err := l.containerArgv()
		if err != nil {
			return nil, err
		}
		return l.loadTar(ctx, DaemonContainerization, argv, n, im, sel)
	case DaemonTar:
		return l.writeTar(ctx, n, im, sel)
	case DaemonGeneric:
		bin, err := l.loaderBinary()
		if err != nil {
			return nil, err
		}
		if bin == "" {
			return nil, invalidf("daemon generic needs $LOADER_BINARY, the program that `$LOADER_BINARY image load` feeds a docker save tar on stdin (e.g. nerdctl)")
		}
		return l.loadTar(ctx, DaemonGeneric, loaderArgv(bin), n, im, sel)
	}
	return l.loadAuto(ctx, n, im, sel)
}

// podmanArgv is `$LOADER_BINARY image load` when $LOADER_BINARY is set,
// else `podman load`.
func (l *Loader) podmanArgv() ([]string, error) {
	bin, err := l.loaderBinary()
	if err != nil || bin != "" {
		return loaderArgv(bin), err
	}
	bin, err = l.lookPath("podman")
	if err != nil {
		return nil, fmt.Errorf("podman: %w: %w", ErrNoDaemon, err)
	}
	return []string{bin, "load"}, nil
}

// containerArgv is `$LOADER_BINARY image load` when $LOADER_BINARY is set,
// else `container image load`: the `container` CLI reads the tar on stdin
// when no --input is given.
func (l *Loader) containerArgv() ([]string, error) {
	bin, err := l.loaderBinary()
	if err != nil || bin != "" {
		return loaderArgv(bin), err
	}
	bin, err = l.lookPath("container")
	if err != nil {
		return nil, fmt.Errorf("containerization: %w: %w (the CLI of Apple's container, macOS; set $LOADER_BINARY to use another program)", ErrNoDaemon, err)
	}
	return []string{bin, "image", "load"}, nil
}

// unifiedTar reports whether daemon takes the tar that is both a docker
// save archive and an OCI layout of the whole image.
func unifiedTar(daemon string) bool {
	return daemon == DaemonTar || daemon == DaemonContainerization
}

// loadAuto tries Docker (which itself loads through containerd when it uses
// the containerd image store), then containerd, then $LOADER_BINARY when it
// is set, else podman: an image loaded for a Docker user must be visible
// to `docker images`.
func (l *Loader) loadAuto(ctx context.Context, n loadNames, im *image, sel []int) (*Result, error) {
	var tried []string
	if _, err := l.dockerInfo(ctx); err == nil {
		return l.loadDocker(ctx, n, im, sel)
	} else if !errors.Is(err, ErrNoDaemon) {
		return nil, err
	} else {
		tried = append(tried, noDaemonDetail(err))
	}
	c, err := l.containerd(ctx, l.sockets(), l.namespace(), socketsHint)
	if err == nil {
		return l.loadContainerd(ctx, c, false, n, im, sel)
	}
	if !errors.Is(err, ErrNoDaemon) {
		return nil, err
	}
	tried = append(tried, noDaemonDetail(err))
	if bin, err := l.loaderBinary(); err != nil || bin != "" {
		if err != nil {
			return nil, err
		}
		return l.loadTar(ctx, DaemonGeneric, loaderArgv(bin), n, im, sel)
	}
	bin, err := l.lookPath("podman")
	if err == nil {
		err = l.runQuiet(ctx, bin, "version")
		if err == nil {
			return l.loadTar(ctx, DaemonPodman, []string{bin, "load"}, n, im, sel)
		}
	}
	tried = append(tried, fmt.Sprintf("podman: %v", err))
	return nil, fmt.Errorf("daemon auto: %w; tried: %s", ErrNoDaemon, strings.Join(tried, "; "))
}

func (l *Loader) printf(format string, args ...any) {
	fmt.Fprintf(l.o.progress, format, args...)
}

// lockedWriter writes whole lines from concurrent writers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

// image is an Image whose manifests and configs are parsed and checked.
type image struct {
	*Image
	manifests []parsedManifest
	// entries are the index's descriptors, nil for a manifest root.
	entries []ocispec.Descriptor
}

type parsedManifest struct {
	*Manifest
	manifest ocispec.Manifest
	platform *ocispec.Platform // nil when neither index nor config names one
	diffIDs  []string
}

// readImage parses and checks img: the index lists the manifests in order,
// each manifest names its config and layers.
func readImage(img *Image) (*image, error) {
	if img == nil || len(img.Manifests) == 0 {
		return nil, invalidf("an image without manifests")
	}
	im := &image{Image: img}
	if img.Index != nil {
		if err := checkBytes("index", img.Index, img.Root); err != nil {
			return nil, err
		}
		var idx ocispec.Index
		if err := json.Unmarshal(img.Index, &idx); err != nil {
			return nil, invalidf("index %s: %v", img.Root.Digest, err)
		}
		if len(idx.Manifests) != len(img.Manifests) {
			return nil, invalidf("index %s lists %d manifests, %d given", img.Root.Digest, len(idx.Manifests), len(img.Manifests))
		}
		im.entries = idx.Manifests
	} else if len(img.Manifests) != 1 || img.Manifests[0].Descriptor.Digest != img.Root.Digest {
		return nil, invalidf("a root manifest %s needs exactly that one manifest", img.Root.Digest)
	}
	for m := range img.Manifests {
		mi := &img.Manifests[m]
		what := fmt.Sprintf("manifest %d", m)
		if err := checkBytes(what, mi.Data, mi.Descriptor); err != nil {
			return nil, err
		}
		pm := parsedManifest{Manifest: mi}
		if err := json.Unmarshal(mi.Data, &pm.manifest); err != nil {
			return nil, invalidf("%s %s: %v", what, mi.Descriptor.Digest, err)
		}
		if err := checkBytes(what+": config", mi.Config, pm.manifest.Config); err != nil {
			return nil, err
		}
		if len(mi.Layers) != len(pm.manifest.Layers) {
			return nil, invalidf("%s %s has %d layers, %d given", what, mi.Descriptor.Digest, len(pm.manifest.Layers), len(mi.Layers))
		}
		for j, l := range mi.Layers {
			if d := pm.manifest.Layers[j]; l.Descriptor.Digest != d.Digest || l.Descriptor.Size != d.Size {
				return nil, invalidf("%s layer %d is %s (%d bytes), the manifest says %s (%d bytes)", what, j, l.Descriptor.Digest, l.Descriptor.Size, d.Digest, d.Size)
			}
			if l.Path == "" && img.Fetcher == nil {
				return nil, invalidf("%s layer %d %s has no file and the image no fetcher", what, j, l.Descriptor.Digest)
			}
		}
		var c struct {
			OS      string `json:"os"`
			Arch    string `json:"architecture"`
			Variant string `json:"variant"`
			RootFS  struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal(mi.Config, &c); err != nil {
			return nil, invalidf("%s config %s: %v", what, pm.manifest.Config.Digest, err)
		}
		pm.diffIDs = c.RootFS.DiffIDs
		if im.entries != nil {
			e := im.entries[m]
			if e.Digest != mi.Descriptor.Digest {
				return nil, invalidf("index entry %d is %s, manifest %d is %s", m, e.Digest, m, mi.Descriptor.Digest)
			}
			pm.platform = e.Platform
		}
		if pm.platform == nil && c.OS != "" && c.Arch != "" {
			pm.platform = &ocispec.Platform{OS: c.OS, Architecture: c.Arch, Variant: c.Variant}
		}
		im.manifests = append(im.manifests, pm)
	}
	return im, nil
}

func checkBytes(what string, data []byte, want ocispec.Descriptor) error {
	if got := digestBytes(data); got != want.Digest.String() || int64(len(data)) != want.Size {
		return invalidf("%s is %s (%d bytes), want %s (%d bytes)", what, got, len(data), want.Digest, want.Size)
	}
	return nil
}

func oneOf(s string, values []string) bool {
	for _, v := range values {
		if s == v {
			return true
		}
	}
	return false
}
