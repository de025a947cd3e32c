package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/limits"
	"github.com/rules-img/rules_img/img_tool/pkg/load"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// WithLoadNames adds names (e.g. "app:dev") to every load operation,
// after the operation's own names; a name given twice is loaded once. The
// default loads the names of the deploy manifest only (none: a load
// without a name).
func WithLoadNames(names ...string) Option {
	return func(o *options) error {
		for _, n := range names {
			if err := load.ValidateName(n); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		}
		o.loadNames = append(o.loadNames, names...)
		return nil
	}
}

// WithDaemon replaces the daemon of every load operation: one of
// load.Daemons. The default keeps the daemon of the deploy manifest.
func WithDaemon(daemon string) Option {
	return func(o *options) error {
		if !oneOf(daemon, load.Daemons) {
			return invalidf("daemon %q: want one of %s", daemon, strings.Join(load.Daemons, ", "))
		}
		o.daemon = daemon
		return nil
	}
}

// WithLoadOptions configures the loader of the load operations: platforms,
// environment, containerd sockets. The default is load.New's, with the
// progress writer and jobs of Run.
func WithLoadOptions(opts ...load.Option) Option {
	return func(o *options) error {
		o.loadOptions = append(o.loadOptions, opts...)
		return nil
	}
}

// Report describes the operations of a run.
type Report struct {
	// Pushes are the results of the push operations, in order.
	Pushes []PushResult
	// Loads are the results of the load operations, in order.
	Loads []load.Result
}

// Has reports whether d has an operation with the command.
func (d *Dispatch) Has(command string) bool {
	for _, op := range d.Operations {
		if op.Command == command {
			return true
		}
	}
	return false
}

// opLoad is one load operation, read from the runfiles and checked.
type opLoad struct {
	index  int
	target string
	names  []string
	daemon string
	image  *load.Image
}

// prepareLoad reads the manifests of load operation i, to be loaded under
// names, and checks them; it reaches neither the network nor a daemon.
func prepareLoad(i int, op *Operation, names []string, rf Runfiles, client *registry.Client, o *options) (*opLoad, error) {
	r := &opLoad{index: i, target: op.Target, names: names, daemon: op.Daemon}
	if o.daemon != "" {
		r.daemon = o.daemon
	}
	what := op.Root.Digest + " (no name)"
	if len(names) > 0 {
		what = strings.Join(names, ", ")
	}
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("%s: load of %s: %w", opName(i, op.Target), what, fmt.Errorf(format, args...))
	}
	for _, n := range names {
		if err := load.ValidateName(n); err != nil {
			return nil, errorf("%w: %w", ErrInvalid, err)
		}
	}
	if !oneOf(r.daemon, load.Daemons) {
		return nil, errorf("%w", invalidf("daemon %q: want one of %s", r.daemon, strings.Join(load.Daemons, ", ")))
	}
	fetcher := &layerFetcher{
		base:  &baseFetcher{client: client, origins: map[digest.Digest]BaseOrigin{}},
		o:     o,
		built: map[digest.Digest]LayerOrigin{},
	}
	img := &load.Image{Root: ociDescriptor(op.Root), Fetcher: fetcher}
	if op.RootKind == RootIndex {
		data, err := readCheckedRunfile(rf, RootPath(i), op.Root)
		if err != nil {
			return nil, errorf("%w", err)
		}
		img.Index = data
	}
	for m, mi := range op.Manifests {
		data, err := readCheckedRunfile(rf, ManifestPath(i, m), mi.Descriptor)
		if err != nil {
			return nil, errorf("%w", err)
		}
		config, err := readCheckedRunfile(rf, ConfigPath(i, m), mi.Config)
		if err != nil {
			return nil, errorf("%w", err)
		}
		lm := load.Manifest{Descriptor: ociDescriptor(mi.Descriptor), Data: data, Config: config}
		for j, l := range mi.LayerBlobs {
			// Layers outside the runfiles (lazy loads, shallow base layers)
			// are fetched: built ones from the remote cache or the output
			// tree, base ones from the base image's registries.
			p, err := rf.Path(LayerPath(i, m, j))
			if err != nil || !isFile(p) {
				p = ""
				if mi.Missing(l.Digest) {
					if _, ok := fetcher.base.origins[digest.Digest(l.Digest)]; !ok {
						fetcher.base.origins[digest.Digest(l.Digest)] = op.BaseOrigin(m)
					}
				} else {
					fetcher.built[digest.Digest(l.Digest)] = mi.Origin(j)
				}
			}
			lm.Layers = append(lm.Layers, load.Layer{Descriptor: ociDescriptor(l), Path: p})
		}
		img.Manifests = append(img.Manifests, lm)
	}
	r.image = img
	return r, nil
}

// readCheckedRunfile reads a runfile and checks it against its descriptor.
func readCheckedRunfile(rf Runfiles, path string, want Descriptor) ([]byte, error) {
	data, err := readRunfile(rf, path, limits.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	if got := digestOf(data); got != want.Digest || int64(len(data)) != want.Size {
		return nil, fmt.Errorf("runfile %s is %s (%d bytes), the deploy manifest says %s (%d bytes)", path, got, len(data), want.Digest, want.Size)
	}
	return data, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func ociDescriptor(d Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: digest.Digest(d.Digest), Size: d.Size}
}

// baseFetcher opens missing blobs of the base images from their
// registries.
type baseFetcher struct {
	client *registry.Client
	// origins says where each missing blob comes from (see
	// Operation.BaseOrigin).
	origins map[digest.Digest]BaseOrigin
}

// Open streams the blob from the first original registry that has it.
func (f *baseFetcher) Open(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	src := f.origins[desc.Digest]
	if len(src.Registries) == 0 || src.Repository == "" {
		return nil, errors.New("a missing blob of the base image, and the deploy manifest names no original registry and repository to fetch it from")
	}
	var rc io.ReadCloser
	_, err := registry.Fetch(ctx, src.Registries, func(ctx context.Context, host string) error {
		repo, err := f.client.Repository(host, src.Repository)
		if err != nil {
			return err
		}
		rc, err = repo.Blob(ctx, desc.Digest.String(), desc.Size)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// layerFetcher opens the layers of a load that are not in the runfiles.
type layerFetcher struct {
	base  *baseFetcher
	o     *options
	built map[digest.Digest]LayerOrigin
}

func (f *layerFetcher) Open(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	origin, ok := f.built[desc.Digest]
	if !ok {
		return f.base.Open(ctx, desc)
	}
	d, err := reapi.FromOCI(desc.Digest.String(), desc.Size)
	if err != nil {
		return nil, err
	}
	rc, _, err := openBuilt(ctx, f.o, origin, d)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return rc, nil
}

// newLoader returns the loader of the load operations, or nil when there
// are none. The caller closes it.
func newLoader(loads []*opLoad, o *options) (*load.Loader, error) {
	if len(loads) == 0 {
		return nil, nil
	}
	opts := append([]load.Option{load.WithProgress(o.progress), load.WithJobs(o.jobs)}, o.loadOptions...)
	l, err := load.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	return l, nil
}

// runLoads runs the load operations in order.
func runLoads(ctx context.Context, l *load.Loader, loads []*opLoad) ([]load.Result, error) {
	var results []load.Result
	for _, op := range loads {
		res, err := l.Load(ctx, op.daemon, op.names, op.image)
		if err != nil {
			return results, fmt.Errorf("%s: %w", opName(op.index, op.target), err)
		}
		results = append(results, *res)
	}
	return results, nil
}
