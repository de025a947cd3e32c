package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/rules-img/rules_img/img_tool/pkg/limits"
	"github.com/rules-img/rules_img/img_tool/pkg/load"
	"github.com/rules-img/rules_img/img_tool/pkg/progress"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// DefaultJobs is the number of blobs that a push uploads at once.
const DefaultJobs = 4

// Option configures Run.
type Option func(*options) error

type options struct {
	jobs            int
	tags            []string
	registry        string
	repository      string
	progress        io.Writer
	registryOptions []registry.Option
	loadNames       []string
	daemon          string
	loadOptions     []load.Option
	source          BlobSource
	sourceName      string
	outputTree      string
	committer       Committer
	fromBES         bool
}

// WithBlobSource reads the blobs that the runfiles lack from src, the
// remote cache of lazy pushes; name (its endpoint) appears in messages.
// Without it such blobs come from the output tree or fail.
func WithBlobSource(src BlobSource, name string) Option {
	return func(o *options) error {
		o.source, o.sourceName = src, name
		return nil
	}
}

// WithOutputTree reads the layer blobs that neither the runfiles nor the
// blob source have from below dir, the execution root that the layer
// origins of the deploy manifest are relative to.
func WithOutputTree(dir string) Option {
	return func(o *options) error {
		o.outputTree = dir
		return nil
	}
}

// Committer is the blob cache of a registry that serves blobs from the
// remote cache (img registry, the cas_registry strategy).
type Committer interface {
	// Commit tells the registry that the blobs exist in the remote cache
	// and returns those that do not; the registry serves the others from
	// then on.
	Commit(ctx context.Context, blobs []reapi.Digest) (missing []reapi.Digest, err error)
}

// WithCommitter makes pushes commit their blobs to c first and upload
// only the blobs it reports missing (the cas_registry strategy).
func WithCommitter(c Committer) Option {
	return func(o *options) error {
		o.committer = c
		return nil
	}
}

// WithJobs sets how many blobs are uploaded at once. The default is
// DefaultJobs.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalidf("jobs %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithTags adds tags to every push operation, after the operation's own
// tags; a tag given twice is written once. The default writes the tags of
// the deploy manifest only (none: a push by digest only).
func WithTags(tags ...string) Option {
	return func(o *options) error {
		for _, t := range tags {
			if err := ValidateTag(t); err != nil {
				return err
			}
		}
		o.tags = append(o.tags, tags...)
		return nil
	}
}

// WithRegistry sets the registry of every push operation, also of those
// whose deploy manifest names none. The default keeps the registry of the
// deploy manifest.
func WithRegistry(host string) Option {
	return func(o *options) error {
		if err := ValidateRegistry(host); err != nil {
			return err
		}
		o.registry = host
		return nil
	}
}

// WithRepository sets the repository of every push operation, also of
// those whose deploy manifest names none. The default keeps the repository
// of the deploy manifest.
func WithRepository(repository string) Option {
	return func(o *options) error {
		if err := ValidateRepository(repository); err != nil {
			return err
		}
		o.repository = repository
		return nil
	}
}

// WithProgress writes one line per blob and a summary per push to w. The
// default writes nothing. Lines of parallel uploads do not interleave.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			w = io.Discard
		}
		o.progress = w
		return nil
	}
}

// WithRegistryOptions configures the registry client: credentials, TLS,
// plain HTTP, retries. The default is registry.New's.
func WithRegistryOptions(opts ...registry.Option) Option {
	return func(o *options) error {
		o.registryOptions = append(o.registryOptions, opts...)
		return nil
	}
}

// PushResult describes one push operation.
type PushResult struct {
	// Target is the label of the push target; empty when the deploy
	// manifest names none.
	Target     string
	Registry   string
	Repository string
	// Digest is the digest of the root manifest or index.
	Digest string
	// Tags were written, in order; none for a push by digest only.
	Tags []string
	// Blobs is the number of distinct blobs (configs and layers), Bytes
	// their size. Blobs = Uploaded + Mounted + Streamed + Existed.
	Blobs int
	Bytes int64
	// Uploaded blobs were sent from the runfiles; UploadedBytes is their
	// size.
	Uploaded      int
	UploadedBytes int64
	// Mounted blobs were mounted from the base image's repository on the
	// same registry.
	Mounted int
	// Streamed blobs were copied from the base image's registry.
	Streamed      int
	StreamedBytes int64
	// Cached blobs were copied from the remote cache (lazy); CachedBytes
	// is their size.
	Cached      int
	CachedBytes int64
	// Committed blobs were in the remote cache that the destination
	// registry reads (cas_registry): nothing was sent.
	Committed int
	// Existed blobs were in the destination already.
	Existed int
}

// Reference is "REGISTRY/REPOSITORY@DIGEST".
func (r *PushResult) Reference() string {
	return fmt.Sprintf("%s/%s@%s", r.Registry, r.Repository, r.Digest)
}

// References are the references that the push wrote, as the launcher
// prints them: Reference, then "REGISTRY/REPOSITORY:TAG" for each tag in
// the order written.
func (r *PushResult) References() []string {
	refs := []string{r.Reference()}
	for _, t := range r.Tags {
		refs = append(refs, fmt.Sprintf("%s/%s:%s", r.Registry, r.Repository, t))
	}
	return refs
}

// Summary is the line that Run writes at the end of a push.
func (r *PushResult) Summary() string {
	s := fmt.Sprintf("pushed %s: uploaded %d of %d blobs (%s of %s), mounted %d, streamed %d",
		r.Reference(), r.Uploaded, r.Blobs, progress.HumanSize(r.UploadedBytes), progress.HumanSize(r.Bytes), r.Mounted, r.Streamed)
	if r.Cached > 0 {
		s += fmt.Sprintf(", from the remote cache %d (%s)", r.Cached, progress.HumanSize(r.CachedBytes))
	}
	if r.Committed > 0 {
		s += fmt.Sprintf(", committed %d", r.Committed)
	}
	return s + fmt.Sprintf(", existed %d", r.Existed)
}

// Run runs the operations of d with blobs from rf and returns one result
// per push operation, in order (see RunAll).
func Run(ctx context.Context, d *Dispatch, rf Runfiles, opts ...Option) ([]PushResult, error) {
	rep, err := RunAll(ctx, d, rf, opts...)
	if rep == nil {
		return nil, err
	}
	return rep.Pushes, err
}

// RunAll runs the operations of d with blobs from rf: first every push,
// then every load, each in order.
//
// Every push works in this order: blobs (configs and layers, in parallel;
// each is checked with HEAD first, then uploaded from the runfiles, or for
// missing blobs mounted from or streamed from the base image's registry),
// then the image manifests by digest, then the index. Only when every
// push got this far are tags written, so a failed run leaves no tag of a
// partial image. (A run that fails while tagging may leave the tags
// written before, each pointing at a complete image.)
//
// Loads go to pkg/load, with the missing blobs of a shallow base fetched
// from its original registries. Every operation is read from the runfiles
// and checked before the first one starts: a destination that still holds
// template text (ErrUnresolvedTemplate) or a push without a registry or
// repository (ErrIncompleteDestination) fails the run before any request.
//
// Blobs that the runfiles lack (lazy strategies) come from the blob
// source (WithBlobSource), else the output tree (WithOutputTree); with a
// committer (WithCommitter, cas_registry) pushes commit their blobs first
// and send only those the registry's cache lacks. Pushes with strategy bes
// are skipped: the Build Event Service backend runs them (RunFromCAS).
func RunAll(ctx context.Context, d *Dispatch, rf Runfiles, opts ...Option) (*Report, error) {
	o := options{jobs: DefaultJobs, progress: io.Discard}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("deploy: %w", err)
		}
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("deploy manifest: %w", err)
	}
	ops := make([]Operation, len(d.Operations))
	loadNames := make([][]string, len(d.Operations))
	var skipped []int
	for i, op := range d.Operations {
		ops[i] = op
		switch op.Command {
		case CommandLoad:
			names := appendNew(op.LoadNames(), o.loadNames...)
			var fields []unresolvedField
			for _, n := range names {
				fields = collectUnresolved(fields, "name", n)
			}
			if err := unresolvedError(i, op.Target, fields); err != nil {
				return nil, err
			}
			loadNames[i] = names
			continue
		case CommandPush:
			switch d.Settings.PushStrategy {
			case StrategyCASRegistry:
				if o.committer == nil {
					return nil, fmt.Errorf("%s: push strategy cas_registry needs the blob cache of the registry: set IMG_BLOB_CACHE_ENDPOINT (grpc://HOST:PORT of img registry --grpc-port)", opName(i, op.Target))
				}
			case StrategyBES:
				if !o.fromBES {
					skipped = append(skipped, i)
					continue
				}
			}
		}
		if o.registry != "" {
			op.Registry = o.registry
		}
		if o.repository != "" {
			op.Repository = o.repository
		}
		op.Tags = appendNew(appendNew(nil, op.Tags...), o.tags...)
		if err := checkPushDestination(i, &op); err != nil {
			return nil, err
		}
		ops[i] = op
	}
	client, err := registry.New(o.registryOptions...)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	ropts := client.RemoteOptions(ctx)
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	p := &pushRun{o: o, rf: rf, client: client, pusher: pusher, puller: puller, progress: &lockedWriter{w: o.progress}}
	if p.o.source == nil {
		p.o.sourceName = ""
	}

	var pushes []*opPush
	var loads []*opLoad
	for i := range ops {
		if slices.Contains(skipped, i) {
			p.progress.printf("skipped %s: push strategy bes: the Build Event Service backend (img bes) pushes %s when a build streams its events to it (--bes_backend)\n", opName(i, ops[i].Target), ops[i].Repository)
			continue
		}
		if ops[i].Command == CommandLoad {
			op, err := prepareLoad(i, &ops[i], loadNames[i], rf, client, &o)
			if err != nil {
				return nil, err
			}
			loads = append(loads, op)
			continue
		}
		op, err := p.prepare(i, &ops[i])
		if err != nil {
			return nil, err
		}
		pushes = append(pushes, op)
	}
	loader, err := newLoader(loads, &o)
	if err != nil {
		return nil, err
	}
	if loader != nil {
		defer loader.Close()
	}
	rep := &Report{}
	for _, op := range pushes {
		if err := p.pushContent(ctx, op); err != nil {
			return rep, err
		}
	}
	for _, op := range pushes {
		if err := p.tag(ctx, op); err != nil {
			return rep, err
		}
		p.progress.printf("%s\n", op.result.Summary())
		rep.Pushes = append(rep.Pushes, op.result)
	}
	rep.Loads, err = runLoads(ctx, loader, loads)
	return rep, err
}

// ErrIncompleteDestination is wrapped by the error of a push whose
// registry or repository is still empty at run time.
var ErrIncompleteDestination = errors.New("incomplete destination")

// checkPushDestination checks the destination of push operation i after
// the run-time flags: no template text, a registry and a repository, valid
// names.
func checkPushDestination(i int, op *Operation) error {
	var fields []unresolvedField
	fields = collectUnresolved(fields, "registry", op.Registry)
	fields = collectUnresolved(fields, "repository", op.Repository)
	for _, t := range op.Tags {
		fields = collectUnresolved(fields, "tag", t)
	}
	if err := unresolvedError(i, op.Target, fields); err != nil {
		return err
	}
	if err := incompleteError(i, op); err != nil {
		return err
	}
	if err := ValidateDestination(op.Registry, op.Repository, op.Tags); err != nil {
		return fmt.Errorf("%s: %w", opName(i, op.Target), err)
	}
	return nil
}

// incompleteError says how to give the registry or repository that push
// operation i lacks; nil when it has both.
func incompleteError(i int, op *Operation) error {
	var what, attrs, flags, them string
	switch {
	case op.Registry == "" && op.Repository == "":
		what, attrs, flags, them = "no registry and no repository", "`registry` and `repository`", "--registry HOST --repository REPO", "them"
	case op.Registry == "":
		what, attrs, flags, them = "no registry", "`registry`", "--registry HOST", "it"
	case op.Repository == "":
		what, attrs, flags, them = "no repository", "`repository`", "--repository REPO", "it"
	default:
		return nil
	}
	on, run := "the target", "-- "+flags
	if op.Target != "" {
		on, run = op.Target, "bazel run "+op.Target+" -- "+flags
	}
	fix := fmt.Sprintf("set %s on %s", attrs, on)
	if op.Registry == "" {
		fix += ", build with --@rules_img//img/settings:destination_registry=HOST"
	}
	return fmt.Errorf("%s: %w: %s to push to: %s, or pass %s at run time: %s; nothing was pushed",
		opName(i, op.Target), ErrIncompleteDestination, what, fix, them, run)
}

// pushRun holds what the operations of one Run share.
type pushRun struct {
	o        options
	rf       Runfiles
	client   *registry.Client
	pusher   *remote.Pusher
	puller   *remote.Puller
	progress *lockedWriter
}

// opPush is one push operation, read from the runfiles and checked.
type opPush struct {
	index     int
	op        *Operation
	repo      name.Repository
	manifests []rawManifest
	// root is the index for RootIndex, else nil (the root is manifests[0]).
	root   *rawManifest
	blobs  []*blobJob
	result PushResult
}

// blobJob is one distinct blob of an operation.
type blobJob struct {
	desc Descriptor
	// what names the blob in messages: "config of manifest 0".
	what string
	// local is the runfiles path of the blob, "" when there is none.
	local string
	// missing is true for a missing blob of the base image.
	missing bool
	// origin is the target that wrote a layer and its path in the output
	// tree.
	origin LayerOrigin
	// base is where a missing blob is mounted or streamed from.
	base BaseOrigin
}

// rawManifest is a manifest or index to PUT, as the build wrote it.
type rawManifest struct {
	desc Descriptor
	data []byte
}

func (m *rawManifest) RawManifest() ([]byte, error) { return m.data, nil }
func (m *rawManifest) MediaType() (types.MediaType, error) {
	return types.MediaType(m.desc.MediaType), nil
}
func (m *rawManifest) Digest() (v1.Hash, error) { return v1.NewHash(m.desc.Digest) }
func (m *rawManifest) Size() (int64, error)     { return m.desc.Size, nil }

func (p *pushRun) errorf(op *opPush, format string, args ...any) error {
	return fmt.Errorf("%s: push to %s/%s: %w", opName(op.index, op.op.Target), op.op.Registry, op.op.Repository, fmt.Errorf(format, args...))
}

// prepare reads and checks the manifests of operation i and lists its
// distinct blobs; it does not reach the network.
func (p *pushRun) prepare(i int, op *Operation) (*opPush, error) {
	r := &opPush{index: i, op: op}
	repo, err := name.NewRepository(op.Registry+"/"+op.Repository, append([]name.Option{name.StrictValidation}, p.client.NameOptions(op.Registry)...)...)
	if err != nil {
		return nil, p.errorf(r, "%w", err)
	}
	r.repo = repo
	readChecked := func(path string, want Descriptor) (rawManifest, error) {
		data, err := readRunfile(p.rf, path, limits.MaxManifestSize)
		if errors.Is(err, fs.ErrNotExist) && p.o.source != nil {
			// The Build Event Service push has no runfiles.
			data, err = readSource(context.Background(), p.o.source, want)
		}
		if err != nil {
			return rawManifest{}, p.errorf(r, "%w", err)
		}
		if got := digestOf(data); got != want.Digest || int64(len(data)) != want.Size {
			return rawManifest{}, p.errorf(r, "runfile %s is %s (%d bytes), the deploy manifest says %s (%d bytes)", path, got, len(data), want.Digest, want.Size)
		}
		return rawManifest{desc: want, data: data}, nil
	}
	if op.RootKind == RootIndex {
		root, err := readChecked(RootPath(i), op.Root)
		if err != nil {
			return nil, err
		}
		r.root = &root
	}
	byDigest := map[string]*blobJob{}
	add := func(b *blobJob) {
		if prev, ok := byDigest[b.desc.Digest]; ok {
			// The same blob in several manifests: a local copy wins.
			if prev.local == "" && b.local != "" {
				prev.local, prev.what, prev.missing = b.local, b.what, false
			}
			return
		}
		byDigest[b.desc.Digest] = b
		r.blobs = append(r.blobs, b)
	}
	for m, mi := range op.Manifests {
		raw, err := readChecked(ManifestPath(i, m), mi.Descriptor)
		if err != nil {
			return nil, err
		}
		r.manifests = append(r.manifests, raw)
		config := &blobJob{desc: mi.Config, what: fmt.Sprintf("config of manifest %d", m), local: ConfigPath(i, m)}
		if !p.runfileExists(config.local) {
			config.local = ""
		}
		add(config)
		for j, l := range mi.LayerBlobs {
			b := &blobJob{desc: l, what: fmt.Sprintf("layer %d of manifest %d", j, m), local: LayerPath(i, m, j), missing: mi.Missing(l.Digest), origin: mi.Origin(j), base: op.BaseOrigin(m)}
			if !p.runfileExists(b.local) {
				b.local = ""
			}
			add(b)
		}
	}
	r.result = PushResult{Target: op.Target, Registry: op.Registry, Repository: op.Repository, Digest: op.Root.Digest}
	for _, b := range r.blobs {
		r.result.Blobs++
		r.result.Bytes += b.desc.Size
	}
	return r, nil
}

func (p *pushRun) runfileExists(name string) bool {
	f, err := openRunfile(p.rf, name)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// pushContent pushes the blobs, then the manifests, then the index.
func (p *pushRun) pushContent(ctx context.Context, op *opPush) error {
	committed, err := p.commit(ctx, op)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.o.jobs)
	var mu sync.Mutex
	for _, b := range op.blobs {
		g.Go(func() error {
			outcome, err := outcomeCommitted, error(nil)
			if !committed[b.desc.Digest] {
				outcome, err = p.pushBlob(gctx, op, b)
			}
			if err != nil {
				// After the first failure the others end canceled; Wait
				// returns the first.
				return p.errorf(op, "blob %s (%s): %w", b.desc.Digest, b.what, p.explain(op, err))
			}
			mu.Lock()
			switch outcome {
			case outcomeExists:
				op.result.Existed++
			case outcomeUploaded:
				op.result.Uploaded++
				op.result.UploadedBytes += b.desc.Size
			case outcomeMounted:
				op.result.Mounted++
			case outcomeStreamed:
				op.result.Streamed++
				op.result.StreamedBytes += b.desc.Size
			case outcomeCached:
				op.result.Cached++
				op.result.CachedBytes += b.desc.Size
			case outcomeCommitted:
				op.result.Committed++
			}
			mu.Unlock()
			p.progress.printf("%-7s %s (%s)\n", outcome, progress.ShortDigest(b.desc.Digest), progress.HumanSize(b.desc.Size))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for m := range op.manifests {
		if err := p.pusher.Put(ctx, op.repo.Digest(op.manifests[m].desc.Digest), &op.manifests[m]); err != nil {
			return p.errorf(op, "manifest %d %s: %w", m, op.manifests[m].desc.Digest, p.explain(op, err))
		}
	}
	if op.root != nil {
		if err := p.pusher.Put(ctx, op.repo.Digest(op.root.desc.Digest), op.root); err != nil {
			return p.errorf(op, "index %s: %w", op.root.desc.Digest, p.explain(op, err))
		}
	}
	return nil
}

// rootManifest is what the tags point to.
func (op *opPush) rootManifest() *rawManifest {
	if op.root != nil {
		return op.root
	}
	return &op.manifests[0]
}

// tag writes the tags of op. A tag whose PUT failed but that the registry
// shows pointing at the root (the answer was lost) counts as written.
func (p *pushRun) tag(ctx context.Context, op *opPush) error {
	root := op.rootManifest()
	for _, t := range op.op.Tags {
		ref := op.repo.Tag(t)
		err := p.pusher.Put(ctx, ref, root)
		if err != nil {
			if desc, herr := p.puller.Head(ctx, ref); herr == nil && desc.Digest.String() == root.desc.Digest {
				err = nil
			}
		}
		if err != nil {
			return p.errorf(op, "tag %s: %w", t, p.explain(op, err))
		}
		op.result.Tags = append(op.result.Tags, t)
		p.progress.printf("tagged  %s/%s:%s\n", op.op.Registry, op.op.Repository, t)
	}
	return nil
}

// Outcomes of one blob.
type outcome string

const (
	outcomeExists    outcome = "exists"
	outcomeUploaded  outcome = "uploaded"
	outcomeMounted   outcome = "mounted"
	outcomeStreamed  outcome = "streamed"
	outcomeCached    outcome = "cached"
	outcomeCommitted outcome = "commit"
)

// pushBlob makes one blob present at the destination. The pusher asks the
// destination with HEAD first and reads the blob only when it is absent
// there; every attempt (HEAD, POST, PATCH, PUT) is retried as a whole.
func (p *pushRun) pushBlob(ctx context.Context, op *opPush, b *blobJob) (outcome, error) {
	hash, err := v1.NewHash(b.desc.Digest)
	if err != nil {
		return "", err
	}
	if b.local != "" || !b.missing {
		return p.pushBuilt(ctx, op, b, hash)
	}

	// A missing blob of the base image: mounted from the base's repository
	// on the same registry, else streamed from the base's registries.
	src := b.base
	if len(src.Registries) == 0 || src.Repository == "" {
		return "", fmt.Errorf("a missing blob of the base image, and the deploy manifest names no original registry and repository to fetch it from")
	}
	l := &blobLayer{desc: b.desc, hash: hash, open: func() (io.ReadCloser, error) {
		var rc io.ReadCloser
		_, err := registry.Fetch(ctx, src.Registries, func(ctx context.Context, host string) error {
			repo, err := p.client.Repository(host, src.Repository)
			if err != nil {
				return err
			}
			rc, err = repo.Blob(ctx, b.desc.Digest, b.desc.Size)
			return err
		})
		return rc, err
	}}
	if !p.sameRegistry(op.repo.Registry, src.Registries) {
		if err := p.pusher.Upload(ctx, op.repo, l); err != nil {
			return "", err
		}
		if l.opens() == 0 {
			return outcomeExists, nil
		}
		return outcomeStreamed, nil
	}
	// The pusher does not say whether it found or mounted a blob; a HEAD of
	// our own tells. Its failure is not final: the pusher asks again.
	if exists, err := p.exists(ctx, op.repo.Digest(b.desc.Digest)); err == nil && exists {
		return outcomeExists, nil
	}
	from, err := name.NewDigest(op.repo.Registry.Name()+"/"+src.Repository+"@"+b.desc.Digest, p.client.NameOptions(op.op.Registry)...)
	if err != nil {
		return "", err
	}
	if err := p.pusher.Upload(ctx, op.repo, &remote.MountableLayer{Layer: l, Reference: from}); err != nil {
		return "", err
	}
	if l.opens() > 0 {
		return outcomeStreamed, nil
	}
	return outcomeMounted, nil
}

// exists asks the destination for a blob with HEAD.
func (p *pushRun) exists(ctx context.Context, ref name.Digest) (bool, error) {
	l, err := p.puller.Layer(ctx, ref)
	if err != nil {
		return false, err
	}
	if ml, ok := l.(*remote.MountableLayer); ok {
		// partial.Exists finds the HEAD of the remote layer only unwrapped.
		l = ml.Layer
	}
	return partial.Exists(l)
}

// sameRegistry reports whether reg is one of hosts, after normalization
// (docker.io is index.docker.io).
func (p *pushRun) sameRegistry(reg name.Registry, hosts []string) bool {
	for _, h := range hosts {
		r, err := name.NewRegistry(h, p.client.NameOptions(h)...)
		if err == nil && r.Name() == reg.Name() {
			return true
		}
	}
	return false
}

// explain turns a 401 or 403 answer into an error that says where
// credentials come from; other errors are returned sanitized (see
// registry.Sanitize).
func (p *pushRun) explain(op *opPush, err error) error {
	// The registry's answer is shown by status and error code only; its
	// messages may echo anything, e.g. the request's credentials.
	err = registry.Sanitize(err)
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return err
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("authentication required or failed (401 %s): credentials for %s come from %s or its credential helpers: %w",
			diagnostic(terr), op.op.Registry, p.client.ConfigPath(), err)
	case http.StatusForbidden:
		return fmt.Errorf("access denied (403 %s): the credentials for %s from %s have no push access to %s: %w",
			diagnostic(terr), op.op.Registry, p.client.ConfigPath(), op.op.Repository, err)
	}
	return err
}

// diagnostic is the registry's error code, if it looks like one (see
// registry.ErrorCode).
func diagnostic(terr *transport.Error) string { return registry.ErrorCode(terr) }

// lockedWriter writes whole lines from concurrent uploads.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}
