// Package layoutdir reads an OCI image layout directory (oci-layout,
// index.json and blobs/sha256/) as untrusted input: only those names are
// opened, only regular files are read, a relative symlink whose target
// leaves the layout directory is refused, JSON documents are read up to a
// bound, and every blob is checked against the size and sha256 digest of
// its descriptor while it is read. An absolute symlink is followed (Bazel
// stages the inputs of sandboxed actions as absolute symlinks); what it
// points to must still match its digest.
//
// Errors name the layout, the document or blob and its digest, and wrap
// one of the errors below where the layout is at fault.
package layoutdir

import (
	"errors"
	"fmt"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Errors that callers may test with errors.Is.
var (
	// ErrMissingBlob: a file that is read is not in the layout.
	ErrMissingBlob = errors.New("missing blob")
	// ErrMismatch: a blob's size or digest differs from its descriptor.
	ErrMismatch = errors.New("content does not match its descriptor")
	// ErrEscape: a symlink in the layout points outside the layout.
	ErrEscape = errors.New("symlink leaves the layout directory")
	// ErrTooLarge: a JSON document is larger than its bound.
	ErrTooLarge = errors.New("too large")
	// ErrInvalidArgument: a malformed layout document, descriptor or
	// option, or a file that is not a regular file.
	ErrInvalidArgument = errors.New("invalid argument")
)

// Media types of Docker's image format, which the OCI types stand in for.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IsIndex reports whether mediaType is an image index (OCI or Docker).
func IsIndex(mediaType string) bool {
	return mediaType == ispec.MediaTypeImageIndex || mediaType == mediaTypeDockerManifestList
}

// IsManifest reports whether mediaType is an image manifest (OCI or
// Docker).
func IsManifest(mediaType string) bool {
	return mediaType == ispec.MediaTypeImageManifest || mediaType == mediaTypeDockerManifest
}

// Option configures Open.
type Option func(*options) error

type options struct {
	maxJSON int64
}

// WithMaxJSONSize bounds index.json and the indexes read by ReadIndex. The
// default is limits.MaxManifestSize, the bound of a registry pull.
func WithMaxJSONSize(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("maximum JSON size %d is not positive: %w", n, ErrInvalidArgument)
		}
		o.maxJSON = n
		return nil
	}
}
