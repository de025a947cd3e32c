// Package layoutimport turns an OCI image layout directory (index.json,
// oci-layout and blobs/sha256/, as `crane pull --format=oci`, rules_oci or
// another tool writes it) into the files that rules_img's rules pass
// along: manifest and config JSON, the manifest's descriptor and digest,
// each layer blob with its layer metadata JSON, and for an index the index
// JSON with its descriptor and digest.
//
// Every blob is checked while it is read: its size and sha256 digest must
// be those of the descriptor that names it, and JSON documents are read
// only up to a bound. Only the names index.json, oci-layout and
// blobs/sha256/<hex> are opened. A relative symlink inside the layout
// whose target leaves the layout directory is refused; an absolute symlink
// is followed (Bazel stages the inputs of sandboxed actions as absolute
// symlinks), and what it points to must still match its digest. The
// layout is read by package layoutdir, which makes these checks.
//
// Outputs are atomic: each file is written beside its path and renamed
// into place after its checks passed.
package layoutimport

import (
	"errors"
	"fmt"
	"strings"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/layoutimport/layoutdir"
	"github.com/rules-img/rules_img/img_tool/pkg/limits"
)

// Errors that callers may test with errors.Is. Those of reading the
// layout are layoutdir's.
var (
	// ErrMissingBlob: a blob that the selected image needs is not in the
	// layout.
	ErrMissingBlob = layoutdir.ErrMissingBlob
	// ErrMismatch: a blob's size or digest differs from its descriptor.
	ErrMismatch = layoutdir.ErrMismatch
	// ErrEscape: a symlink in the layout points outside the layout.
	ErrEscape = layoutdir.ErrEscape
	// ErrTooLarge: a JSON document is larger than its bound.
	ErrTooLarge = layoutdir.ErrTooLarge
	// ErrNoMatch: the layout has no manifest for a requested platform, or
	// the manifest's layers are not the ones requested.
	ErrNoMatch = errors.New("not in the layout")
	// ErrInvalidArgument: a malformed layout document or request.
	ErrInvalidArgument = layoutdir.ErrInvalidArgument
)

// Layout is an OCI image layout directory opened for an import; it reads
// the layout as layoutdir.Layout does, with its checks.
type Layout struct {
	*layoutdir.Layout
	o options
}

// Open checks that root is an OCI image layout (see layoutdir.Open).
func Open(root string, opts ...Option) (*Layout, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("layout %s: %w", root, err)
		}
	}
	d, err := layoutdir.Open(root, layoutdir.WithMaxJSONSize(o.maxJSON))
	if err != nil {
		return nil, err
	}
	return &Layout{Layout: d, o: o}, nil
}

// Platform is os/architecture[/variant].
type Platform struct {
	OS, Architecture, Variant string
}

// ParsePlatform parses "os/architecture" or "os/architecture/variant".
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, fmt.Errorf("platform %q: want os/architecture or os/architecture/variant: %w", s, ErrInvalidArgument)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		if parts[2] == "" {
			return Platform{}, fmt.Errorf("platform %q: empty variant: %w", s, ErrInvalidArgument)
		}
		p.Variant = parts[2]
	}
	return p, nil
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// variant is the variant with the default of arm64 ("v8") filled in, so
// that linux/arm64 and linux/arm64/v8 are the same platform.
func variant(arch, v string) string {
	if v == "" && arch == "arm64" {
		return "v8"
	}
	return v
}

// matches reports whether the descriptor platform q is p.
func (p Platform) matches(q *ispec.Platform) bool {
	return q != nil && q.OS == p.OS && q.Architecture == p.Architecture &&
		variant(q.Architecture, q.Variant) == variant(p.Architecture, p.Variant)
}

func platformOf(q *ispec.Platform) string {
	if q == nil {
		return "(no platform)"
	}
	return Platform{q.OS, q.Architecture, q.Variant}.String()
}

// Option configures Open.
type Option func(*options) error

type options struct {
	name                  string
	maxJSON, maxConfigLen int64
}

// WithName sets the name recorded in the layer metadata: NAME@DIGEST for
// each layer (e.g. the Bazel label of the target). The default is the
// layer digest alone.
func WithName(name string) Option {
	return func(o *options) error {
		if strings.ContainsAny(name, "\x00\n") {
			return fmt.Errorf("name %q holds a NUL or newline: %w", name, ErrInvalidArgument)
		}
		o.name = name
		return nil
	}
}

// WithMaxJSONSize bounds every JSON document read (index.json, indexes,
// manifests, configs). The defaults are those of a registry pull:
// limits.MaxManifestSize for indexes and manifests, limits.MaxConfigSize
// for configs.
func WithMaxJSONSize(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("maximum JSON size %d is not positive: %w", n, ErrInvalidArgument)
		}
		o.maxJSON, o.maxConfigLen = n, n
		return nil
	}
}

func defaultOptions() options {
	return options{maxJSON: limits.MaxManifestSize, maxConfigLen: limits.MaxConfigSize}
}
