package image

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// ReplaceLayers rewrites an image whose layer blobs were rewritten one for
// one (recompressed, or re-framed as eStargz), as image_optimize does. The
// manifest and config at manifestPath and configPath are validated as a
// base image is (see WithBase); layerPaths are the metadata files of the
// new blobs, one per layer, in the manifest's order.
//
// Everything else is kept: every config field (unknown ones too) but
// rootfs.diff_ids, and every manifest field (annotations, subject) but the
// config and layer descriptors. A Docker v2 manifest becomes an OCI
// manifest with an OCI config media type, since the new layers have OCI
// media types. Each layer descriptor keeps its annotations, minus the
// eStargz ones, under those of the new metadata.
//
// A new layer must keep its diff_id, because recompressing leaves the tar
// unchanged; only an eStargz layer (with a TOC digest annotation) may have
// another one, since eStargz adds entries to the tar. A layer count that
// differs, a new blob that is not a tar layer, or a changed diff_id is an
// error naming the metadata file. The manifest descriptor gets platform.
func ReplaceLayers(ctx context.Context, manifestPath, configPath string, layerPaths []string, platform ocispec.Platform) (*Manifest, error) {
	src, srcCfg, err := readBase(manifestPath, configPath)
	if err != nil {
		return nil, err
	}
	if len(layerPaths) != len(src.Layers) {
		return nil, fmt.Errorf("manifest %s has %d layers, but %d new layers are given", manifestPath, len(src.Layers), len(layerPaths))
	}
	layers := make([]ocispec.Descriptor, len(layerPaths))
	diffIDs := make([]ocispec.Digest, len(layerPaths))
	for i, path := range layerPaths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := metadata.Read(path)
		if err != nil {
			return nil, err
		}
		if !metadata.IsLayer(l.MediaType) {
			return nil, fmt.Errorf("layer metadata %s: field mediaType: %q is not a tar layer; only tar layers are rewritten", path, l.MediaType)
		}
		_, estargz := l.Annotations[metadata.AnnotationTOCDigest]
		if old := srcCfg.RootFS.DiffIDs[i]; string(old) != l.DiffID && !estargz {
			return nil, fmt.Errorf("layer metadata %s: diff_id %s differs from layer %d's %s in %s; a rewritten layer keeps its tar", path, l.DiffID, i, old, configPath)
		}
		ann := maps.Clone(src.Layers[i].Annotations)
		delete(ann, metadata.AnnotationTOCDigest)
		delete(ann, metadata.AnnotationUncompressedSize)
		if ann == nil {
			ann = map[string]string{}
		}
		maps.Copy(ann, l.Annotations)
		l.Annotations = ann
		layers[i] = layerDescriptor(l)
		diffIDs[i] = ocispec.Digest(l.DiffID)
	}

	var cfg, m map[string]json.RawMessage
	if err := jsondoc.Read(configPath, &cfg, false); err != nil {
		return nil, fmt.Errorf("config %s: %w", configPath, err)
	}
	if err := jsondoc.Read(manifestPath, &m, false); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", manifestPath, err)
	}
	rootfs, err := json.Marshal(ocispec.RootFS{Type: "layers", DiffIDs: diffIDs})
	if err != nil {
		return nil, err
	}
	cfg["rootfs"] = rootfs
	config, err := jsondoc.New(ocispec.MediaTypeImageConfig, cfg, nil)
	if err != nil {
		return nil, err
	}
	configDesc := config.Descriptor
	configDesc.Annotations = src.Config.Annotations
	for k, v := range map[string]any{
		"schemaVersion": 2,
		"mediaType":     ocispec.MediaTypeImageManifest,
		"config":        configDesc,
		"layers":        layers,
	} {
		if m[k], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	manifest, err := jsondoc.New(ocispec.MediaTypeImageManifest, m, &platform)
	if err != nil {
		return nil, err
	}
	return &Manifest{Config: config, Manifest: manifest}, nil
}
