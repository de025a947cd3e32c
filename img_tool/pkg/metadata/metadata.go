// Package metadata defines the layer metadata JSON that every layer action
// writes beside its blob. Later actions (manifest, index, deploy) read only
// this file, never the blob.
package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

// Media types of layer blobs.
const (
	MediaTypeTar     = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
)

// Annotation keys of eStargz layers.
const (
	AnnotationTOCDigest        = "containerd.io/snapshot/stargz/toc.digest"
	AnnotationUncompressedSize = "io.containers.estargz.uncompressed-size"
)

// Layer describes one layer blob.
type Layer struct {
	// Name is a human-readable name, usually the Bazel label of the layer.
	Name string `json:"name"`
	// DiffID is the sha256 digest of the uncompressed tar stream.
	DiffID string `json:"diff_id"`
	// MediaType is the OCI media type of the blob.
	MediaType string `json:"mediaType"`
	// Digest is the sha256 digest of the blob as stored.
	Digest string `json:"digest"`
	// Size is the size of the blob in bytes.
	Size int64 `json:"size"`
	// Annotations go into the layer descriptor of the manifest.
	Annotations map[string]string `json:"annotations"`
}

// Validate checks that the fields are well formed.
func (l *Layer) Validate() error {
	for _, d := range []struct{ field, value string }{{"digest", l.Digest}, {"diff_id", l.DiffID}} {
		if !ValidDigest(d.value) {
			return fmt.Errorf("%s %q is not a sha256 digest", d.field, d.value)
		}
	}
	if l.Size < 0 {
		return fmt.Errorf("size %d is negative", l.Size)
	}
	if l.MediaType == "" {
		return fmt.Errorf("mediaType is empty")
	}
	return nil
}

// ValidDigest reports whether s is "sha256:" followed by 64 lowercase hex digits.
func ValidDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Read decodes a layer metadata file strictly: unknown fields are errors.
func Read(path string) (*Layer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("layer metadata: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l Layer
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("layer metadata %s: %w", path, err)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("layer metadata %s: %w", path, err)
	}
	return &l, nil
}

// Write encodes l to path atomically. Map keys are sorted by encoding/json,
// so equal metadata gives equal bytes.
func Write(path string, l *Layer) error {
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("layer metadata %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}
