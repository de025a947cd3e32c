package pull

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// MetadataFile is the name of the metadata file in the output directory.
const MetadataFile = "pull.json"

// Metadata is the content of pull.json: what was pulled and from where.
// Field order is fixed and map keys are sorted, so equal pulls give equal
// bytes.
type Metadata struct {
	// Registry is the registry that served the pull, as given.
	Registry string `json:"registry"`
	// Repository is the repository, as given.
	Repository string `json:"repository"`
	// Tag is the requested tag; empty when only a digest was given.
	Tag string `json:"tag"`
	// Root is the manifest or index that the tag or digest names.
	Root Descriptor `json:"root"`
	// Manifests are the image manifests: the entries of the index in index
	// order, or the root alone when it is a manifest.
	Manifests []Manifest `json:"manifests"`
}

// Descriptor points at a blob.
type Descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// Platform of an image, from the index entry or else from the config.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// Manifest is one image manifest with its config and layers.
type Manifest struct {
	Descriptor
	Platform Platform   `json:"platform"`
	Config   Descriptor `json:"config"`
	Layers   []Layer    `json:"layers"`
}

// Layer is a layer descriptor with the diff_id from the config.
type Layer struct {
	Descriptor
	// DiffID is the config's rootfs.diff_ids entry for this layer.
	DiffID string `json:"diff_id"`
	// Annotations of the layer descriptor; never nil.
	Annotations map[string]string `json:"annotations"`
}

// Encode returns the pull.json bytes of m.
func (m *Metadata) Encode() ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// ReadMetadata decodes a pull.json strictly: unknown fields are errors.
func ReadMetadata(path string) (*Metadata, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pull metadata: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Metadata
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("pull metadata %s: %w", path, err)
	}
	return &m, nil
}
