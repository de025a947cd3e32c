package image

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// baseManifestDoc is a manifest plus the field that marks an index, so
// that an index passed as a base manifest is reported as such.
type baseManifestDoc struct {
	ocispec.Manifest
	Manifests json.RawMessage `json:"manifests,omitempty"`
}

// readBase reads and validates a base image's manifest and config. The
// config must match the manifest's config descriptor in digest and size,
// and have one diff_id per layer.
func readBase(manifestPath, configPath string) (*ocispec.Manifest, *ocispec.Image, error) {
	var doc baseManifestDoc
	if err := jsondoc.Read(manifestPath, &doc, false); err != nil {
		return nil, nil, fmt.Errorf("base manifest %s: %w", manifestPath, err)
	}
	m := &doc.Manifest
	if err := validateBaseManifest(&doc); err != nil {
		return nil, nil, fmt.Errorf("base manifest %s: %w", manifestPath, err)
	}

	data, err := jsondoc.ReadFile(configPath)
	if err != nil {
		return nil, nil, fmt.Errorf("base config: %w", err)
	}
	if got := m.Config.Digest.Algorithm().FromBytes(data); got != m.Config.Digest || int64(len(data)) != m.Config.Size {
		return nil, nil, fmt.Errorf("base config %s: %d bytes with digest %s, but base manifest %s wants %d bytes with digest %s",
			configPath, len(data), got, manifestPath, m.Config.Size, m.Config.Digest)
	}
	var cfg ocispec.Image
	if err := jsondoc.Decode(data, &cfg, false); err != nil {
		return nil, nil, fmt.Errorf("base config %s: %w", configPath, err)
	}
	if cfg.RootFS.Type != "layers" {
		return nil, nil, fmt.Errorf("base config %s: rootfs.type is %q, want \"layers\"", configPath, cfg.RootFS.Type)
	}
	for i, d := range cfg.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return nil, nil, fmt.Errorf("base config %s: rootfs.diff_ids[%d] %q: %w", configPath, i, d, err)
		}
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, nil, fmt.Errorf("base config %s has %d diff_ids, but base manifest %s has %d layers",
			configPath, len(cfg.RootFS.DiffIDs), manifestPath, len(m.Layers))
	}
	return m, &cfg, nil
}

func validateBaseManifest(doc *baseManifestDoc) error {
	m := &doc.Manifest
	switch m.MediaType {
	case ocispec.MediaTypeImageIndex, MediaTypeDockerManifestList:
		return fmt.Errorf("is an index (%s), want an image manifest", m.MediaType)
	case "", ocispec.MediaTypeImageManifest, MediaTypeDockerManifest:
	default:
		return fmt.Errorf("mediaType %q is not an image manifest", m.MediaType)
	}
	if doc.Manifests != nil {
		return errors.New(`has "manifests": is an index, want an image manifest`)
	}
	if m.SchemaVersion != 2 {
		return fmt.Errorf("schemaVersion is %d, want 2", m.SchemaVersion)
	}
	switch m.Config.MediaType {
	case ocispec.MediaTypeImageConfig, MediaTypeDockerConfig:
	default:
		return fmt.Errorf("config mediaType %q is not an image config", m.Config.MediaType)
	}
	if err := jsondoc.ValidateDescriptor(&m.Config); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if m.Layers == nil {
		m.Layers = []ocispec.Descriptor{}
	}
	if m.Config.Size > jsondoc.MaxInputSize {
		return fmt.Errorf("config: size %d is above the limit of %d bytes", m.Config.Size, jsondoc.MaxInputSize)
	}
	for i := range m.Layers {
		if err := jsondoc.ValidateDescriptor(&m.Layers[i]); err != nil {
			return fmt.Errorf("layers[%d]: %w", i, err)
		}
		if m.Layers[i].Size > metadata.MaxSize {
			return fmt.Errorf("layers[%d]: size %d is above the limit of %d bytes", i, m.Layers[i].Size, int64(metadata.MaxSize))
		}
	}
	return nil
}
