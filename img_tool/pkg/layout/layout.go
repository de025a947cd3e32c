// Package layout writes images in the two on-disk formats that local tools
// load: the OCI image layout (index.json, oci-layout and blobs/sha256/) and
// the `docker load` archive (the same tree plus manifest.json), of one
// image or of a whole index.
//
// The inputs are the files that earlier actions wrote: manifest and config
// JSON, an optional index, and layer blobs with their metadata. Nothing is
// recompressed, except that the docker writers add zstd layers decompressed
// because older Docker engines cannot load them.
//
// The writers are atomic: the output is built beside its final path and
// renamed into place; after an error no output exists.
package layout

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// Errors that callers may test with errors.Is.
var (
	// ErrMissingBlob means that a blob the output needs was not given:
	// a layer of a manifest, or a manifest listed by the index.
	ErrMissingBlob = errors.New("missing blob")
	// ErrMismatch means that a file disagrees with the descriptor or the
	// metadata that names it: digest, size or diff_id.
	ErrMismatch = errors.New("content does not match its descriptor")
	// ErrInvalidArgument means a malformed input or conflicting options.
	ErrInvalidArgument = errors.New("invalid argument")
)

// Format is the shape of the output.
type Format string

const (
	// Directory writes the tree as a directory.
	Directory Format = "directory"
	// Tar writes the tree as one deterministic tar file: names sorted,
	// mtime 0, uid and gid 0, mode 0755 for directories and 0644 for files.
	Tar Format = "tar"
)

// ParseFormat parses "directory" or "tar".
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Directory, Tar:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want directory or tar: %w", s, ErrInvalidArgument)
}

// Image is one image as files: its manifest JSON and its config JSON, as
// written by `img manifest`. The manifest's config descriptor must match
// the config file.
type Image struct {
	Manifest string
	Config   string
}

// Layer is a layer blob on disk and the metadata that describes it. The
// writers match layers to the manifests by Metadata.Digest.
type Layer struct {
	Metadata metadata.Layer
	Blob     string
}

// Option configures WriteOCILayout, WriteDockerSave and
// WriteDockerSaveIndex.
type Option func(*options) error

type options struct {
	format       Format
	index        string
	layers       []Layer
	tags         []string
	allowMissing bool
	verify       bool
	dockerImage  string
	limits       tarpolicy.Limits
}

// WithZstdMaxWindow sets the largest zstd window a layer that the docker
// writers decompress may declare (0: tarpolicy.DefaultZstdMaxWindow).
func WithZstdMaxWindow(n uint64) Option {
	return func(o *options) error {
		o.limits.ZstdMaxWindow = n
		return nil
	}
}

// WithFormat selects the output format. The default is Directory for
// WriteOCILayout and Tar for the docker writers.
func WithFormat(f Format) Option {
	return func(o *options) error {
		if _, err := ParseFormat(string(f)); err != nil {
			return err
		}
		o.format = f
		return nil
	}
}

// WithIndex makes the image index at path the top-level entry of an OCI
// layout; the images given to WriteOCILayout or WriteDockerSaveIndex are
// then the manifests it lists. The default is no index: one image is the
// top-level entry. WriteDockerSaveIndex requires it and WriteDockerSave
// rejects it.
func WithIndex(path string) Option {
	return func(o *options) error {
		if path == "" {
			return fmt.Errorf("index path is empty: %w", ErrInvalidArgument)
		}
		if o.index != "" {
			return fmt.Errorf("two indexes, %s and %s: %w", o.index, path, ErrInvalidArgument)
		}
		o.index = path
		return nil
	}
}

// WithLayers adds layer blobs; it may be given several times. Layers that
// no manifest references are ignored. By default there are none.
func WithLayers(layers ...Layer) Option {
	return func(o *options) error {
		for _, l := range layers {
			if err := l.Metadata.Validate(); err != nil {
				return fmt.Errorf("layer %s: %v: %w", l.Blob, err, ErrInvalidArgument)
			}
			if l.Blob == "" {
				return fmt.Errorf("layer %s: blob path is empty: %w", l.Metadata.Digest, ErrInvalidArgument)
			}
		}
		o.layers = append(o.layers, layers...)
		return nil
	}
}

// WithTag names the image, e.g. "registry.local/app:latest". It may be
// given several times for the docker writers (the RepoTags, and one
// index.json entry each) but at most once for WriteOCILayout. The default
// is no name.
//
// In index.json the top-level descriptor gets the annotation
// org.opencontainers.image.ref.name with the name as given (podman reads
// it) and io.containerd.image.name with the name normalized as Docker
// does, e.g. "app" becomes "docker.io/library/app:latest" (containerd and
// Docker's containerd image store read it).
func WithTag(name string) Option {
	return func(o *options) error {
		if name == "" || strings.ContainsAny(name, " \t\r\n") {
			return fmt.Errorf("tag %q: empty or contains white space: %w", name, ErrInvalidArgument)
		}
		for _, t := range o.tags {
			if t == name {
				return nil
			}
		}
		o.tags = append(o.tags, name)
		return nil
	}
}

// WithAllowMissingBlobs lets WriteOCILayout leave out the layers that have
// no blob (those of a shallow base image), writing an incomplete layout.
// The default is false: a missing layer is an ErrMissingBlob error.
// The docker writers reject true: docker load needs every layer.
func WithAllowMissingBlobs(allow bool) Option {
	return func(o *options) error {
		o.allowMissing = allow
		return nil
	}
}

// WithDockerImage chooses, by manifest digest, the image of the index
// that the manifest.json of WriteDockerSaveIndex lists (the one `docker
// load` takes). The default is the index's first manifest.
func WithDockerImage(manifestDigest string) Option {
	return func(o *options) error {
		if manifestDigest == "" {
			return fmt.Errorf("docker image digest is empty: %w", ErrInvalidArgument)
		}
		o.dockerImage = manifestDigest
		return nil
	}
}

// WithVerifyDigests(true) hashes every layer blob and compares it with
// its digest. The default, false, always checks sizes but hashes only
// blobs smaller than 1 MiB and those whose bytes pass through the process
// anyway (everything written into a tar, decompressed layers); a large
// blob that is linked or copied into a directory is not read.
func WithVerifyDigests(verify bool) Option {
	return func(o *options) error {
		o.verify = verify
		return nil
	}
}

func newOptions(defaultFormat Format, opts []Option) (options, error) {
	o := options{}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.format == "" {
		o.format = defaultFormat
	}
	return o, nil
}

// layerSet finds the given layers by digest; the first of several with the
// same digest wins.
type layerSet map[string]*Layer

func newLayerSet(layers []Layer) layerSet {
	s := make(layerSet, len(layers))
	for i := range layers {
		if _, ok := s[layers[i].Metadata.Digest]; !ok {
			s[layers[i].Metadata.Digest] = &layers[i]
		}
	}
	return s
}
