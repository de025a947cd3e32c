// Package limits holds the size bounds that several packages share: the
// registry client, the pull and the OCI layout import read the same kinds
// of documents and must refuse the same sizes. It imports only the standard library, so that
// the build-action tools can use the bounds without linking the clients.
package limits

import "fmt"

// MaxManifestSize bounds an image manifest or index read from a registry or
// a layout.
const MaxManifestSize = 32 << 20

// MaxConfigSize bounds an image config read from a registry or a layout.
const MaxConfigSize = 32 << 20

// MaxBlobSize is the largest blob size accepted at all: a descriptor or flag
// that claims more is rejected as absurd.
const MaxBlobSize = 1 << 40

// CheckSize returns an error for a blob size that no registry or layout may
// claim: negative, or more than MaxBlobSize.
func CheckSize(size int64) error {
	switch {
	case size < 0:
		return fmt.Errorf("size %d is negative", size)
	case size > MaxBlobSize:
		return fmt.Errorf("size %d is more than the limit of %d bytes (1 TiB)", size, int64(MaxBlobSize))
	}
	return nil
}
