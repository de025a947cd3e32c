// Package pull fetches base images for the pull repository rule.
//
// A shallow pull writes only the root manifest or index, the image
// manifests and their configs; layers stay in the registry and are fetched
// later, if ever, by digest (DownloadBlob). An eager pull writes the layers
// too. Every blob is verified against its digest before it is kept.
package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/limits"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// LayerHandling says which blobs a pull writes.
type LayerHandling string

const (
	// Shallow writes manifests and configs; layers stay in the registry.
	Shallow LayerHandling = "shallow"
	// Eager writes the layers too.
	Eager LayerHandling = "eager"
	// Lazy fetches like Shallow; layers are fetched when a build needs them.
	Lazy LayerHandling = "lazy"
)

// MaxConfigSize bounds the image configs that a pull reads.
const MaxConfigSize = limits.MaxConfigSize

// layerJobs is the number of layers an eager pull downloads at once.
const layerJobs = 4

// Request says what to pull and where to write it.
type Request struct {
	// Registries are tried in order (mirrors first, typically); the first
	// that serves the pull is used for all of it. See registry.Fetch for
	// which errors move on to the next registry.
	Registries []string
	// Repository is the repository on every registry, e.g. "library/ubuntu".
	Repository string
	// Tag is resolved when Digest is empty, and recorded in pull.json.
	Tag string
	// Digest ("sha256:...") pins the root manifest or index. The fetched
	// bytes must hash to it.
	Digest string
	// LayerHandling defaults to Shallow.
	LayerHandling LayerHandling
	// OutputDir receives blobs/sha256/<hex> and pull.json. It is written
	// beside and renamed into place at the end: after an error it is as
	// before, and an existing directory is replaced only on success.
	OutputDir string
	// RegistryOptions configure credentials, TLS and plain HTTP.
	RegistryOptions []registry.Option
}

// Result describes a successful pull.
type Result struct {
	// Metadata is the content of pull.json.
	Metadata *Metadata
	// Fetched counts the response bytes read from the network, including
	// failed attempts and registries that did not serve the pull.
	Fetched int64
	// Total is the size of every distinct blob of the image: root,
	// manifests, configs and layers.
	Total int64
	// LayersLeft is the number of distinct layers not written (0 for Eager).
	LayersLeft int
}

func (r *Request) validate() error {
	switch {
	case len(r.Registries) == 0:
		return errors.New("no registry given")
	case r.Repository == "":
		return errors.New("no repository given")
	case r.Tag == "" && r.Digest == "":
		return errors.New("want a tag or a digest")
	case r.Digest != "" && !metadata.ValidDigest(r.Digest):
		return fmt.Errorf("digest %q is not sha256: and 64 lowercase hex digits", r.Digest)
	case r.OutputDir == "":
		return errors.New("no output directory given")
	}
	switch r.LayerHandling {
	case "":
		r.LayerHandling = Shallow
	case Shallow, Eager, Lazy:
	default:
		return fmt.Errorf("layer handling %q: want shallow, eager or lazy", r.LayerHandling)
	}
	return nil
}

// Pull fetches the image that req names and writes it to req.OutputDir.
func Pull(ctx context.Context, req Request) (Result, error) {
	if err := req.validate(); err != nil {
		return Result{}, fmt.Errorf("pull %s: %w", req.Repository, err)
	}
	client, err := registry.New(req.RegistryOptions...)
	if err != nil {
		return Result{}, fmt.Errorf("pull %s: %w", req.Repository, err)
	}
	out := filepath.Clean(req.OutputDir)
	var p *puller
	_, err = client.Fetch(ctx, req.Registries, func(ctx context.Context, host string) error {
		repo, err := client.Repository(host, req.Repository)
		if err != nil {
			return err
		}
		stage, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
		if err != nil {
			return fmt.Errorf("output %s: %w", out, err)
		}
		attempt := newPuller(repo, req, stage)
		if err := attempt.run(ctx); err != nil {
			os.RemoveAll(stage)
			return err
		}
		p = attempt
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if err := p.commit(out); err != nil {
		os.RemoveAll(p.dir)
		return Result{}, fmt.Errorf("output %s: %w", out, err)
	}
	res := Result{Metadata: &p.md, Fetched: client.BytesRead()}
	for d, size := range p.sizes {
		res.Total += size
		if p.layers[d] && !p.written[d] {
			res.LayersLeft++
		}
	}
	return res, nil
}

// puller is one attempt on one registry; it writes into dir.
type puller struct {
	repo *registry.Repository
	req  Request
	dir  string
	md   Metadata

	// sizes holds every distinct blob of the image; layers marks the
	// layers among them; written marks the blobs in dir.
	sizes   map[string]int64
	layers  map[string]bool
	mu      sync.Mutex
	written map[string]bool
}

func newPuller(repo *registry.Repository, req Request, dir string) *puller {
	return &puller{
		repo:    repo,
		req:     req,
		dir:     dir,
		md:      Metadata{Registry: repo.Registry(), Repository: req.Repository, Tag: req.Tag, Manifests: []Manifest{}},
		sizes:   map[string]int64{},
		layers:  map[string]bool{},
		written: map[string]bool{},
	}
}

func (p *puller) blobPath(digest string) string {
	return filepath.Join(p.dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// keep writes a verified blob.
func (p *puller) keep(digest string, data []byte) error {
	p.sizes[digest] = int64(len(data))
	if p.written[digest] {
		return nil
	}
	if err := os.WriteFile(p.blobPath(digest), data, 0o644); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	p.written[digest] = true
	return nil
}

func (p *puller) run(ctx context.Context) error {
	if err := os.Chmod(p.dir, 0o755); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(p.dir, "blobs", "sha256"), 0o755); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	ref := p.req.Digest
	if ref == "" {
		ref = p.req.Tag
	}
	root, err := p.repo.Manifest(ctx, ref)
	if err != nil {
		return err
	}
	if p.req.Digest != "" && root.Digest != p.req.Digest {
		return p.repo.Errorf("manifest digest is %s, pinned digest is %s", root.Digest, p.req.Digest)
	}
	p.md.Root = Descriptor{MediaType: root.MediaType, Digest: root.Digest, Size: int64(len(root.Bytes))}
	if err := p.keep(root.Digest, root.Bytes); err != nil {
		return err
	}
	mt := types.MediaType(root.MediaType)
	switch {
	case mt.IsIndex():
		err = p.index(ctx, root)
	case mt.IsImage():
		var m Manifest
		m, err = p.image(ctx, root, p.md.Root, nil)
		p.md.Manifests = append(p.md.Manifests, m)
	case mt.IsSchema1():
		err = p.repo.Errorf("manifest %s is a Docker schema 1 manifest, which is not supported", root.Digest)
	default:
		err = p.repo.Errorf("manifest %s has media type %q, want an image manifest or index", root.Digest, root.MediaType)
	}
	if err != nil {
		return err
	}
	if p.req.LayerHandling == Eager {
		return p.downloadLayers(ctx)
	}
	return nil
}

// index fetches every manifest of the root index and its config.
func (p *puller) index(ctx context.Context, root *registry.Manifest) error {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(root.Bytes))
	if err != nil {
		return p.repo.Errorf("index %s: %w", root.Digest, err)
	}
	if len(idx.Manifests) == 0 {
		return p.repo.Errorf("index %s lists no manifests", root.Digest)
	}
	for i, d := range idx.Manifests {
		where := fmt.Sprintf("index %s entry %d (%s)", root.Digest, i, d.Digest)
		if d.MediaType.IsIndex() {
			return p.repo.Errorf("%s is an index; nested indexes are not supported", where)
		}
		if err := sha256Only(d.Digest); err != nil {
			return p.repo.Errorf("%s: %w", where, err)
		}
		if err := registry.CheckSize(d.Size); err != nil {
			return p.repo.Errorf("%s: %w", where, err)
		}
		if d.Size > registry.MaxManifestSize {
			return p.repo.Errorf("%s: size %d is more than the limit of %d bytes for a manifest", where, d.Size, registry.MaxManifestSize)
		}
		child, err := p.repo.Manifest(ctx, d.Digest.String())
		if err != nil {
			return err
		}
		if child.Digest != d.Digest.String() {
			return p.repo.Errorf("%s: content has digest %s", where, child.Digest)
		}
		if int64(len(child.Bytes)) != d.Size {
			return p.repo.Errorf("%s: %d bytes, index says %d", where, len(child.Bytes), d.Size)
		}
		if types.MediaType(child.MediaType).IsIndex() {
			return p.repo.Errorf("%s is an index; nested indexes are not supported", where)
		}
		if err := p.keep(child.Digest, child.Bytes); err != nil {
			return err
		}
		desc := Descriptor{MediaType: string(d.MediaType), Digest: child.Digest, Size: d.Size}
		if desc.MediaType == "" {
			desc.MediaType = child.MediaType
		}
		m, err := p.image(ctx, child, desc, d.Platform)
		if err != nil {
			return err
		}
		p.md.Manifests = append(p.md.Manifests, m)
	}
	return nil
}

// image fetches the config of an image manifest and describes its layers.
// platform is the index entry's, or nil.
func (p *puller) image(ctx context.Context, raw *registry.Manifest, desc Descriptor, platform *v1.Platform) (Manifest, error) {
	mt := types.MediaType(raw.MediaType)
	if !mt.IsImage() {
		return Manifest{}, p.repo.Errorf("manifest %s has media type %q, want an image manifest", raw.Digest, raw.MediaType)
	}
	mf, err := v1.ParseManifest(bytes.NewReader(raw.Bytes))
	if err != nil {
		return Manifest{}, p.repo.Errorf("manifest %s: %w", raw.Digest, err)
	}
	if !mf.Config.MediaType.IsConfig() {
		return Manifest{}, p.repo.Errorf("manifest %s: config media type %q is not an image config", raw.Digest, mf.Config.MediaType)
	}
	if err := sha256Only(mf.Config.Digest); err != nil {
		return Manifest{}, p.repo.Errorf("manifest %s: config: %w", raw.Digest, err)
	}
	cfgDigest := mf.Config.Digest.String()
	if err := registry.CheckSize(mf.Config.Size); err != nil {
		return Manifest{}, p.repo.Errorf("manifest %s: config %s: %w", raw.Digest, cfgDigest, err)
	}
	data, err := p.repo.ReadBlob(ctx, cfgDigest, mf.Config.Size, MaxConfigSize)
	if err != nil {
		return Manifest{}, err
	}
	if err := p.keep(cfgDigest, data); err != nil {
		return Manifest{}, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(data))
	if err != nil {
		return Manifest{}, p.repo.Errorf("manifest %s: config %s: %w", raw.Digest, cfgDigest, err)
	}
	if len(cf.RootFS.DiffIDs) != len(mf.Layers) {
		return Manifest{}, p.repo.Errorf("manifest %s: %d layers, but config %s has %d diff_ids", raw.Digest, len(mf.Layers), cfgDigest, len(cf.RootFS.DiffIDs))
	}
	m := Manifest{
		Descriptor: desc,
		Platform:   Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
		Config:     Descriptor{MediaType: string(mf.Config.MediaType), Digest: cfgDigest, Size: mf.Config.Size},
		Layers:     make([]Layer, len(mf.Layers)),
	}
	if platform != nil && platform.OS != "" {
		m.Platform = Platform{OS: platform.OS, Architecture: platform.Architecture, Variant: platform.Variant}
	}
	for i, l := range mf.Layers {
		if err := sha256Only(l.Digest); err != nil {
			return Manifest{}, p.repo.Errorf("manifest %s: layer %d: %w", raw.Digest, i, err)
		}
		if err := registry.CheckSize(l.Size); err != nil {
			return Manifest{}, p.repo.Errorf("manifest %s: layer %d (%s): %w", raw.Digest, i, l.Digest, err)
		}
		annotations := map[string]string{}
		maps.Copy(annotations, l.Annotations)
		m.Layers[i] = Layer{
			Descriptor:  Descriptor{MediaType: string(l.MediaType), Digest: l.Digest.String(), Size: l.Size},
			DiffID:      cf.RootFS.DiffIDs[i].String(),
			Annotations: annotations,
		}
		p.sizes[l.Digest.String()] = l.Size
		p.layers[l.Digest.String()] = true
	}
	return m, nil
}

// downloadLayers streams every distinct layer into dir.
func (p *puller) downloadLayers(ctx context.Context) error {
	var todo []Layer
	seen := map[string]bool{}
	for _, m := range p.md.Manifests {
		for _, l := range m.Layers {
			if !seen[l.Digest] && !p.written[l.Digest] {
				seen[l.Digest] = true
				todo = append(todo, l)
			}
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(layerJobs)
	for _, l := range todo {
		g.Go(func() error {
			if err := fetchBlobFile(ctx, p.repo, l.Digest, l.Size, p.blobPath(l.Digest)); err != nil {
				return err
			}
			p.mu.Lock()
			p.written[l.Digest] = true
			p.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// commit writes pull.json and renames dir to out, replacing what was there.
func (p *puller) commit(out string) error {
	data, err := p.md.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.dir, MetadataFile), data, 0o644); err != nil {
		return err
	}
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		return os.Rename(p.dir, out)
	}
	// Move the old output aside, under a name derived from the unique
	// staging directory, move the new one in, then delete the old one.
	aside := p.dir + ".old"
	if err := os.Rename(out, aside); err != nil {
		return err
	}
	if err := os.Rename(p.dir, out); err != nil {
		os.Rename(aside, out)
		return err
	}
	return os.RemoveAll(aside)
}

func sha256Only(h v1.Hash) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("digest %s: only sha256 is supported", h)
	}
	return nil
}

// blobAttempts bounds the downloads of one blob whose connection broke off
// mid-stream; requests that fail before the body are retried by the
// registry client.
const blobAttempts = 3

// fetchBlobFile streams a blob to path atomically, verifying size (unless
// -1) and digest. A connection that breaks off mid-stream starts over.
func fetchBlobFile(ctx context.Context, repo *registry.Repository, digest string, size int64, path string) error {
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err := fetchBlobFileOnce(ctx, repo, digest, size, path)
		if err == nil || attempt == blobAttempts || !brokenOff(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func fetchBlobFileOnce(ctx context.Context, repo *registry.Repository, digest string, size int64, path string) error {
	rc, err := repo.Blob(ctx, digest, size)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := io.Copy(f, rc); err != nil {
		return err
	}
	return f.Commit()
}

// brokenOff reports whether err is a connection that broke off mid-stream.
func brokenOff(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// DownloadBlob streams the blob with the given digest from repository to
// outPath, trying the registries in order (see registry.Fetch). The blob is
// verified against digest before it appears at outPath; after an error
// nothing is written there.
func DownloadBlob(ctx context.Context, registries []string, repository, digest, outPath string, opts ...registry.Option) error {
	return DownloadBlobSized(ctx, registries, repository, digest, -1, outPath, opts...)
}

// DownloadBlobSized is DownloadBlob for a blob of known size: a blob longer
// or shorter than size is an error naming registry, repository and digest.
// size -1 means unknown: then the client's maximum blob size bounds it (see
// registry.WithMaxBlobSize). The whole download, with retries and mirrors,
// stays within the client's total timeout.
func DownloadBlobSized(ctx context.Context, registries []string, repository, digest string, size int64, outPath string, opts ...registry.Option) error {
	if !metadata.ValidDigest(digest) {
		return fmt.Errorf("download blob %q: not sha256: and 64 lowercase hex digits", digest)
	}
	if size != -1 {
		if err := registry.CheckSize(size); err != nil {
			return fmt.Errorf("download blob %s: %w", digest, err)
		}
	}
	if outPath == "" {
		return fmt.Errorf("download blob %s: no output path given", digest)
	}
	client, err := registry.New(opts...)
	if err != nil {
		return fmt.Errorf("download blob %s: %w", digest, err)
	}
	_, err = client.Fetch(ctx, registries, func(ctx context.Context, host string) error {
		repo, err := client.Repository(host, repository)
		if err != nil {
			return err
		}
		return fetchBlobFile(ctx, repo, digest, size, outPath)
	})
	return err
}
