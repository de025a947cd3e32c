package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/defaults"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/leases"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/rules-img/rules_img/img_tool/pkg/progress"
	"github.com/rules-img/rules_img/img_tool/pkg/verify"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultNamespace is the containerd namespace of a load without
// $CONTAINERD_NAMESPACE: the one of Docker's containerd image store.
const DefaultNamespace = "moby"

// DefaultContainerdSockets are the sockets that a containerd load tries
// after $CONTAINERD_ADDRESS, in order: containerd's own, then the ones of
// the containerd that dockerd starts as its child.
func DefaultContainerdSockets() []string {
	return []string{
		"/run/containerd/containerd.sock",
		"/run/docker/containerd/containerd.sock",
		"/var/run/docker/containerd/containerd.sock",
	}
}

// Time limits for reaching containerd: to connect to a socket, and for
// its first answer.
const (
	dialTimeout  = 3 * time.Second
	probeTimeout = 5 * time.Second
	// leaseExpiry bounds how long the blobs of a failed load are kept for
	// the next load.
	leaseExpiry = time.Hour
)

// containerd GC labels: a manifest refers to its config and layers, an
// index to its manifests, so that what the image record reaches is kept.
const (
	gcRefConfig   = "containerd.io/gc.ref.content.config"
	gcRefLayer    = "containerd.io/gc.ref.content.l."
	gcRefManifest = "containerd.io/gc.ref.content.m."
)

// manifestGCLabels are the GC labels of an image manifest.
func manifestGCLabels(m *ocispec.Manifest) map[string]string {
	labels := map[string]string{gcRefConfig: m.Config.Digest.String()}
	for i, l := range m.Layers {
		labels[fmt.Sprintf("%s%d", gcRefLayer, i)] = l.Digest.String()
	}
	return labels
}

// indexGCLabels are the GC labels of an index: one per entry, also for the
// entries of platforms that are not loaded (a label whose content is
// absent keeps nothing).
func indexGCLabels(entries []ocispec.Descriptor) map[string]string {
	labels := make(map[string]string, len(entries))
	for i, e := range entries {
		labels[fmt.Sprintf("%s%d", gcRefManifest, i)] = e.Digest.String()
	}
	return labels
}

// ctrdConn is a containerd client that answered.
type ctrdConn struct {
	client *containerd.Client
	socket string
	ns     string
}

// socketsHint ends the error of a containerd load that found no socket.
const socketsHint = " (set CONTAINERD_ADDRESS to the socket of the containerd to load into)"

// noDaemonDetail is the message of an ErrNoDaemon error without its
// prefix.
func noDaemonDetail(err error) string {
	return strings.TrimPrefix(err.Error(), ErrNoDaemon.Error()+": ")
}

// sockets are the containerd sockets to try (see WithContainerdSockets).
func (l *Loader) sockets() []string {
	if l.o.socketsSet {
		return l.o.sockets
	}
	var out []string
	if a := l.env.get("CONTAINERD_ADDRESS"); a != "" {
		out = append(out, a)
	}
	for _, s := range DefaultContainerdSockets() {
		if !oneOf(s, out) {
			out = append(out, s)
		}
	}
	return out
}

// namespace is the namespace of a containerd load (see WithNamespace).
func (l *Loader) namespace() string {
	if l.o.namespace != "" {
		return l.o.namespace
	}
	if ns := l.env.get("CONTAINERD_NAMESPACE"); ns != "" {
		return ns
	}
	return DefaultNamespace
}

// containerd returns a client of the first socket that answers. The error
// wraps ErrNoDaemon and names every socket tried with its failure, then
// the hint.
func (l *Loader) containerd(ctx context.Context, sockets []string, ns, hint string) (*ctrdConn, error) {
	var tried []string
	for _, s := range sockets {
		addr := strings.TrimPrefix(s, "unix://")
		if c := l.ctrd[addr]; c != nil {
			return &ctrdConn{client: c.client, socket: addr, ns: ns}, nil
		}
		err, done := l.tried["containerd "+addr]
		if !done {
			var c *containerd.Client
			c, err = dialContainerd(ctx, addr)
			if err == nil {
				l.ctrd[addr] = &ctrdConn{client: c, socket: addr}
				l.closers = append(l.closers, c)
				return &ctrdConn{client: c, socket: addr, ns: ns}, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			l.tried["containerd "+addr] = err
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", addr, err))
	}
	return nil, fmt.Errorf("%w: containerd: no socket answered; tried %s%s", ErrNoDaemon, strings.Join(tried, ", "), hint)
}

// dialContainerd connects to the containerd socket at addr and asks for
// its version.
func dialContainerd(ctx context.Context, addr string) (*containerd.Client, error) {
	st, err := os.Stat(addr)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("no such socket")
	case err != nil:
		return nil, err
	case st.Mode()&fs.ModeSocket == 0:
		return nil, errors.New("not a socket")
	}
	c, err := containerd.New(addr, containerd.WithTimeout(dialTimeout))
	if err != nil {
		return nil, unwrapDial(err)
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := c.Version(pctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("no containerd answer: %w", err)
	}
	return c, nil
}

// unwrapDial shortens containerd's dial errors to their cause, e.g.
// "connect: permission denied".
func unwrapDial(err error) error {
	var cause error = err
	for u := errors.Unwrap(cause); u != nil; u = errors.Unwrap(cause) {
		cause = u
	}
	if cause != err {
		return fmt.Errorf("%w", cause)
	}
	return err
}

// errFetch marks the errors of fetched blobs.
var errFetch = errors.New("fetch")

// ctrdBlob is one blob of a containerd load.
type ctrdBlob struct {
	desc ocispec.Descriptor
	what string
	// data is the content of manifests, configs and the index.
	data []byte
	// layer is the layer of data-less blobs.
	layer  Layer
	labels map[string]string
}

// ctrdLoad is one load into containerd.
type ctrdLoad struct {
	l        *Loader
	c        *ctrdConn
	im       *image
	cs       content.Store
	lm       leases.Manager
	lease    leases.Lease
	progress *lockedWriter
	res      *Result
	mu       sync.Mutex
}

// wrap adds the socket to err, and says so when containerd stopped
// answering: the error says the connection broke, or containerd does not
// answer a version request any more.
func (c *ctrdConn) wrap(err error) error {
	if isGone(err) || !c.answers() {
		return fmt.Errorf("containerd at %s stopped answering during the load (the blobs written so far are complete; load again to finish): %w", c.socket, err)
	}
	return fmt.Errorf("containerd at %s: %w", c.socket, err)
}

// answers asks containerd for its version.
func (c *ctrdConn) answers() bool {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	_, err := c.client.Version(ctx)
	return err == nil
}

// isGone reports whether err says the containerd connection broke.
func isGone(err error) bool {
	if errdefs.IsUnavailable(err) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := status.FromError(e); ok && s.Code() == codes.Unavailable {
			return true
		}
	}
	return false
}

// Names of the image record of a containerd load without a name: Docker's
// name for an image without a tag (in Docker's namespace and for loads
// through Docker), and the name elsewhere. The root's digest follows "@".
const (
	danglingDocker = "moby-dangling"
	danglingOther  = "untagged"
)

// recordNames are the image records of a containerd load: its names, or
// one record named by the root's digest for a load without a name.
func recordNames(n loadNames, ns string, viaDocker bool, root string) []string {
	if len(n.full) > 0 {
		return n.full
	}
	if viaDocker || ns == DefaultNamespace {
		return []string{danglingDocker + "@" + root}
	}
	return []string{danglingOther + "@" + root}
}

// loadContainerd writes the blobs of the selected manifests, the image
// records and the snapshots. viaDocker is true for a load through Docker's
// containerd image store.
func (l *Loader) loadContainerd(ctx context.Context, c *ctrdConn, viaDocker bool, n loadNames, im *image, sel []int) (*Result, error) {
	ctx = namespaces.WithNamespace(ctx, c.ns)
	records := recordNames(n, c.ns, viaDocker, im.Root.Digest.String())
	ld := &ctrdLoad{
		l: l, c: c, im: im,
		cs:       c.client.ContentStore(),
		lm:       c.client.LeasesService(),
		progress: &lockedWriter{w: l.o.progress},
		res:      &Result{Name: records[0], Names: n.full, Daemon: DaemonContainerd, Via: c.socket, Namespace: c.ns},
	}
	if len(n.full) == 0 && viaDocker {
		// Docker shows and runs the image by its ID, the root's digest.
		ld.res.Name = im.Root.Digest.String()
	}
	lease, err := ld.lm.Create(ctx, leases.WithRandomID(), leases.WithExpiration(leaseExpiry),
		leases.WithLabels(map[string]string{"rules_img/load": records[0]}))
	if err != nil {
		return nil, c.wrap(fmt.Errorf("create a lease: %w", err))
	}
	ld.lease = lease
	ctx = leases.WithLease(ctx, lease.ID)

	phases := ld.blobs(sel)
	for _, p := range phases {
		ld.res.Blobs += len(p)
		for _, b := range p {
			ld.res.Bytes += b.desc.Size
		}
	}
	for _, m := range sel {
		ld.res.Platforms = append(ld.res.Platforms, formatPlatform(im.manifests[m].platform))
	}
	for _, p := range phases {
		if err := ld.writeAll(ctx, p); err != nil {
			// The lease keeps what was written until it expires.
			return nil, err
		}
	}
	target := ocispec.Descriptor{MediaType: im.Root.MediaType, Digest: im.Root.Digest, Size: im.Root.Size}
	is := c.client.ImageService()
	var rec images.Image
	for _, name := range records {
		rec = images.Image{Name: name, Target: target}
		if _, err := is.Create(ctx, rec); errdefs.IsAlreadyExists(err) {
			_, err = is.Update(ctx, rec, "target")
			if err != nil {
				return nil, c.wrap(fmt.Errorf("update image %s: %w", name, err))
			}
		} else if err != nil {
			return nil, c.wrap(fmt.Errorf("create image %s: %w", name, err))
		}
	}
	// The records share their target: unpacking one unpacks them all.
	if err := ld.unpack(ctx, rec, sel); err != nil {
		return nil, err
	}
	if err := ld.lm.Delete(ctx, lease); err != nil {
		return nil, c.wrap(fmt.Errorf("delete lease %s: %w", lease.ID, err))
	}
	return ld.res, nil
}

// blobs lists the distinct blobs of the selected manifests in three
// phases, written in order: configs and layers; manifests; the index.
func (ld *ctrdLoad) blobs(sel []int) [][]*ctrdBlob {
	seen := map[string]*ctrdBlob{}
	var data, manifests, index []*ctrdBlob
	add := func(list *[]*ctrdBlob, b *ctrdBlob) {
		if prev := seen[b.desc.Digest.String()]; prev != nil {
			// A layer in several manifests: a file wins over a fetch.
			if prev.data == nil && prev.layer.Path == "" && b.layer.Path != "" {
				prev.layer = b.layer
			}
			return
		}
		seen[b.desc.Digest.String()] = b
		*list = append(*list, b)
	}
	for _, m := range sel {
		pm := &ld.im.manifests[m]
		cfg := pm.manifest.Config
		add(&data, &ctrdBlob{desc: descOf(cfg), what: fmt.Sprintf("config of manifest %d", m), data: pm.Config})
		for j, layer := range pm.Layers {
			add(&data, &ctrdBlob{desc: descOf(layer.Descriptor), what: fmt.Sprintf("layer %d of manifest %d", j, m), layer: layer})
		}
		add(&manifests, &ctrdBlob{desc: descOf(pm.Descriptor), what: fmt.Sprintf("manifest %d", m), data: pm.Data, labels: manifestGCLabels(&pm.manifest)})
	}
	if ld.im.Index != nil {
		add(&index, &ctrdBlob{desc: descOf(ld.im.Root), what: "index", data: ld.im.Index, labels: indexGCLabels(ld.im.entries)})
	}
	return [][]*ctrdBlob{data, manifests, index}
}

// descOf is the plain descriptor of a blob: media type, digest, size.
func descOf(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// writeAll writes the blobs in parallel; it returns the first error.
func (ld *ctrdLoad) writeAll(ctx context.Context, blobs []*ctrdBlob) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ld.l.o.jobs)
	for _, b := range blobs {
		g.Go(func() error {
			written, err := ld.write(gctx, b)
			if err != nil {
				err = fmt.Errorf("blob %s (%s): %w", b.desc.Digest, b.what, err)
				if gctx.Err() == nil && !errors.Is(err, errFetch) {
					err = ld.c.wrap(err)
				}
				return err
			}
			word := "exists"
			if written {
				word = "written"
				ld.mu.Lock()
				ld.res.Written++
				ld.res.WrittenBytes += b.desc.Size
				ld.mu.Unlock()
			}
			ld.progress.printf("%-7s %s (%s)\n", word, progress.ShortDigest(b.desc.Digest.String()), progress.HumanSize(b.desc.Size))
			return nil
		})
	}
	return g.Wait()
}

// write makes one blob present in the content store: Info first; an
// existing blob joins the lease and gets the GC labels it lacks, a missing
// one is written atomically under the lease.
func (ld *ctrdLoad) write(ctx context.Context, b *ctrdBlob) (written bool, err error) {
	info, err := ld.cs.Info(ctx, b.desc.Digest)
	if err == nil {
		// Keep it until the image record refers to it.
		if err := ld.lm.AddResource(ctx, ld.lease, leases.Resource{ID: b.desc.Digest.String(), Type: "content"}); err != nil {
			return false, fmt.Errorf("add to lease: %w", err)
		}
		var paths []string
		for k, v := range b.labels {
			if info.Labels[k] != v {
				paths = append(paths, "labels."+k)
			}
		}
		if len(paths) > 0 {
			if _, err := ld.cs.Update(ctx, content.Info{Digest: b.desc.Digest, Labels: b.labels}, paths...); err != nil {
				return false, fmt.Errorf("set GC labels: %w", err)
			}
		}
		return false, nil
	}
	if !errdefs.IsNotFound(err) {
		return false, fmt.Errorf("info: %w", err)
	}
	r, err := ld.open(ctx, b)
	if err != nil {
		return false, err
	}
	defer r.Close()
	var opts []content.Opt
	if b.labels != nil {
		opts = append(opts, content.WithLabels(b.labels))
	}
	if err := content.WriteBlob(ctx, ld.cs, "rules_img-load-"+b.desc.Digest.String(), r, b.desc, opts...); err != nil {
		return false, err
	}
	return true, nil
}

// open returns a reader of the blob that fails instead of returning io.EOF
// when the content does not match the descriptor.
func (ld *ctrdLoad) open(ctx context.Context, b *ctrdBlob) (io.ReadCloser, error) {
	if b.data != nil {
		return io.NopCloser(bytes.NewReader(b.data)), nil
	}
	return openLayer(ctx, ld.im.Fetcher, b.layer)
}

// openLayer opens a layer from its file, or from the fetcher; either way
// the reader is verified.
func openLayer(ctx context.Context, f Fetcher, l Layer) (io.ReadCloser, error) {
	if l.Path != "" {
		rc, err := os.Open(l.Path)
		if err != nil {
			return nil, err
		}
		return verify.NewReader(rc, l.Path, l.Descriptor.Digest.String(), l.Descriptor.Size), nil
	}
	if f == nil {
		return nil, errors.New("no file and no fetcher")
	}
	rc, err := f.Open(ctx, descOf(l.Descriptor))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errFetch, err)
	}
	return fetchReader{verify.NewReader(rc, "fetched blob", l.Descriptor.Digest.String(), l.Descriptor.Size)}, nil
}

// fetchReader marks the read errors of a fetched blob with errFetch.
type fetchReader struct{ io.ReadCloser }

func (r fetchReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errFetch, err)
	}
	return n, err
}

// unpack unpacks each selected manifest into the snapshotter.
func (ld *ctrdLoad) unpack(ctx context.Context, rec images.Image, sel []int) error {
	sn, err := ld.snapshotter(ctx)
	if err != nil {
		return ld.c.wrap(fmt.Errorf("snapshotter: %w", err))
	}
	for _, m := range sel {
		p := ld.im.manifests[m].platform
		var match platforms.MatchComparer = platforms.All
		if p != nil {
			match = platforms.OnlyStrict(*p)
		}
		img := containerd.NewImageWithPlatform(ld.c.client, rec, match)
		if err := img.Unpack(ctx, sn); err != nil {
			return ld.c.wrap(fmt.Errorf("unpack %s (manifest %d) into snapshotter %s: %w", formatPlatform(p), m, sn, err))
		}
		what := formatPlatform(p)
		if p == nil {
			what = fmt.Sprintf("manifest %d", m)
		}
		ld.progress.printf("unpacked %s into snapshotter %s\n", what, sn)
	}
	return nil
}

// snapshotter is the option, else $CONTAINERD_SNAPSHOTTER, else the
// namespace's default snapshotter label, else containerd's default.
func (ld *ctrdLoad) snapshotter(ctx context.Context) (string, error) {
	if ld.l.o.snapshotter != "" {
		return ld.l.o.snapshotter, nil
	}
	if s := ld.l.env.get("CONTAINERD_SNAPSHOTTER"); s != "" {
		return s, nil
	}
	s, err := ld.c.client.GetLabel(ctx, defaults.DefaultSnapshotterNSLabel)
	if err != nil {
		return "", err
	}
	if s == "" {
		s = containerd.DefaultSnapshotter
	}
	return s, nil
}
