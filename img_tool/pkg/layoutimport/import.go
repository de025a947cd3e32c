package layoutimport

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/layoutimport/layoutdir"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// LayerOutput names the files written for one layer.
type LayerOutput struct {
	// Blob receives a copy of the layer blob.
	Blob string
	// Metadata receives the layer metadata JSON (see package metadata).
	Metadata string
}

// ManifestRequest selects one image of the layout and names its outputs.
type ManifestRequest struct {
	// Platform selects the manifest. linux/arm64 and linux/arm64/v8 are
	// the same platform.
	Platform Platform
	// LayerMediaTypes are the media types of the image's layers, bottom
	// first: the image must have exactly these layers.
	LayerMediaTypes []string
	// Manifest and Config receive the manifest and config JSON, byte for
	// byte as in the layout (so the manifest digest is kept).
	Manifest, Config string
	// Descriptor receives the manifest's descriptor JSON with its
	// platform; Digest the manifest digest ("sha256:<hex>", no newline).
	// Either may be empty to skip it.
	Descriptor, Digest string
	// Layers are the outputs of each layer, one per LayerMediaTypes entry.
	Layers []LayerOutput
}

// IndexOutputs names the files written for an index. Empty names are
// skipped.
type IndexOutputs struct {
	Index, Descriptor, Digest string
}

func (r *ManifestRequest) check() error {
	if r.Manifest == "" || r.Config == "" {
		return fmt.Errorf("platform %s: the manifest and config outputs are required: %w", r.Platform, ErrInvalidArgument)
	}
	if len(r.LayerMediaTypes) != len(r.Layers) {
		return fmt.Errorf("platform %s: %d layer media types but %d layer outputs: %w", r.Platform, len(r.LayerMediaTypes), len(r.Layers), ErrInvalidArgument)
	}
	for i, mt := range r.LayerMediaTypes {
		if !metadata.IsLayer(mt) {
			return fmt.Errorf("platform %s: layer %d: media type %q is not a tar layer media type; want one of %s: %w",
				r.Platform, i, mt, strings.Join(metadata.LayerMediaTypes, ", "), ErrInvalidArgument)
		}
		if r.Layers[i].Blob == "" || r.Layers[i].Metadata == "" {
			return fmt.Errorf("platform %s: layer %d: blob and metadata outputs are required: %w", r.Platform, i, ErrInvalidArgument)
		}
	}
	return nil
}

// ImportManifest writes the outputs of the image for req.Platform: the
// one image manifest of the layout for that platform, found in index.json
// or in the image index that index.json points to. It returns the
// manifest's descriptor.
func (l *Layout) ImportManifest(ctx context.Context, req ManifestRequest) (ispec.Descriptor, error) {
	if err := req.check(); err != nil {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %w", l.Root(), err)
	}
	s, err := l.source()
	if err != nil {
		return ispec.Descriptor{}, err
	}
	d, err := l.find(s, req.Platform)
	if err != nil {
		return ispec.Descriptor{}, err
	}
	return l.importImage(ctx, d, req)
}

// ImportIndex writes the outputs of an index of the images for reqs, in
// this order, and of each image. When the layout holds one image index
// (index.json points to it) and reqs select all its manifests in its
// order, that index is written byte for byte, so its digest is kept;
// otherwise a new OCI index of the selected manifests' descriptors is
// written (with the source index's annotations, if it is one).
func (l *Layout) ImportIndex(ctx context.Context, reqs []ManifestRequest, out IndexOutputs) (ispec.Descriptor, error) {
	if len(reqs) == 0 {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: no platforms requested: %w", l.Root(), ErrInvalidArgument)
	}
	for i := range reqs {
		if err := reqs[i].check(); err != nil {
			return ispec.Descriptor{}, fmt.Errorf("layout %s: %w", l.Root(), err)
		}
	}
	s, err := l.source()
	if err != nil {
		return ispec.Descriptor{}, err
	}
	selected := make([]ispec.Descriptor, len(reqs))
	for i, r := range reqs {
		d, err := l.find(s, r.Platform)
		if err != nil {
			return ispec.Descriptor{}, err
		}
		for j := range i {
			if selected[j].Digest == d.Digest {
				return ispec.Descriptor{}, fmt.Errorf("layout %s: platforms %s and %s select the same manifest %s: %w",
					l.Root(), reqs[j].Platform, r.Platform, d.Digest, ErrInvalidArgument)
			}
		}
		selected[i] = d
	}
	descs := make([]ispec.Descriptor, len(reqs))
	for i, r := range reqs {
		if descs[i], err = l.importImage(ctx, selected[i], r); err != nil {
			return ispec.Descriptor{}, err
		}
	}
	raw, mediaType := s.raw, ""
	if s.desc != nil {
		mediaType = s.desc.MediaType
	}
	if !s.keepsAll(selected) {
		idx := ispec.Index{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ispec.MediaTypeImageIndex,
			Manifests: descs,
		}
		if s.desc != nil {
			idx.Annotations = s.index.Annotations
		}
		if raw, err = json.Marshal(idx); err != nil {
			return ispec.Descriptor{}, fmt.Errorf("layout %s: encode index: %w", l.Root(), err)
		}
		mediaType = ispec.MediaTypeImageIndex
	}
	desc := ispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := writeDocument(out.Index, out.Descriptor, out.Digest, raw, desc); err != nil {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %w", l.Root(), err)
	}
	return desc, nil
}

// keepsAll reports whether the source is an index blob and selected are
// all its manifests, in its order.
func (s *source) keepsAll(selected []ispec.Descriptor) bool {
	if s.desc == nil || len(selected) != len(s.index.Manifests) {
		return false
	}
	for i, d := range s.index.Manifests {
		if d.Digest != selected[i].Digest {
			return false
		}
	}
	return true
}

// imageConfig is the part of an image config that the import checks.
type imageConfig struct {
	OS         string   `json:"os"`
	Arch       string   `json:"architecture"`
	Variant    string   `json:"variant"`
	OSVersion  string   `json:"os.version"`
	OSFeatures []string `json:"os.features"`
	RootFS     struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// importImage writes the outputs of the image of d.
func (l *Layout) importImage(ctx context.Context, d ispec.Descriptor, req ManifestRequest) (ispec.Descriptor, error) {
	what := "manifest for " + req.Platform.String()
	raw, err := l.ReadBlob(what, d, l.o.maxJSON)
	if err != nil {
		return ispec.Descriptor{}, err
	}
	var m ispec.Manifest
	if err := layoutdir.DecodeStrict(raw, &m); err != nil {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %s %s: %v: %w", l.Root(), what, d.Digest, err, ErrInvalidArgument)
	}
	mediaType := m.MediaType
	if mediaType == "" {
		mediaType = d.MediaType
	}
	if m.SchemaVersion != 2 || !layoutdir.IsManifest(mediaType) || m.MediaType != "" && d.MediaType != "" && m.MediaType != d.MediaType {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %s %s: schemaVersion %d, mediaType %q (entry says %q): not an image manifest: %w",
			l.Root(), what, d.Digest, m.SchemaVersion, m.MediaType, d.MediaType, ErrInvalidArgument)
	}
	cfgRaw, err := l.ReadBlob("config of "+what, m.Config, l.o.maxConfigLen)
	if err != nil {
		return ispec.Descriptor{}, err
	}
	var c imageConfig
	if err := layoutdir.DecodeStrict(cfgRaw, &c); err != nil {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: config %s of %s: %v: %w", l.Root(), m.Config.Digest, what, err, ErrInvalidArgument)
	}
	p := req.Platform
	if c.OS != p.OS || c.Arch != p.Architecture || c.Variant != "" && p.Variant != "" && variant(c.Arch, c.Variant) != variant(p.Architecture, p.Variant) {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: config %s of %s is for %s: %w",
			l.Root(), m.Config.Digest, what, Platform{c.OS, c.Arch, c.Variant}, ErrNoMatch)
	}
	if err := l.checkLayers(what, d, m, c, req.LayerMediaTypes); err != nil {
		return ispec.Descriptor{}, err
	}
	for i, ld := range m.Layers {
		if err := ctx.Err(); err != nil {
			return ispec.Descriptor{}, err
		}
		lwhat := fmt.Sprintf("layer %d of %s", i, what)
		if err := l.CopyBlob(lwhat, ld, req.Layers[i].Blob); err != nil {
			return ispec.Descriptor{}, err
		}
		name := string(ld.Digest)
		if l.o.name != "" {
			name = l.o.name + "@" + name
		}
		md := &metadata.Layer{
			Name:        name,
			DiffID:      c.RootFS.DiffIDs[i],
			MediaType:   ld.MediaType,
			Digest:      string(ld.Digest),
			Size:        ld.Size,
			Annotations: ld.Annotations,
		}
		if err := metadata.Write(req.Layers[i].Metadata, md); err != nil {
			return ispec.Descriptor{}, fmt.Errorf("layout %s: %s: %w", l.Root(), lwhat, err)
		}
	}
	if err := atomicfile.WriteFile(req.Config, cfgRaw, 0o644); err != nil {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %w", l.Root(), err)
	}
	platform := d.Platform
	if platform == nil || platform.OS == "" || platform.Architecture == "" {
		platform = &ispec.Platform{OS: c.OS, Architecture: c.Arch, Variant: c.Variant, OSVersion: c.OSVersion, OSFeatures: c.OSFeatures}
	}
	desc := ispec.Descriptor{MediaType: mediaType, Digest: d.Digest, Size: d.Size, Platform: platform}
	if err := writeDocument(req.Manifest, req.Descriptor, req.Digest, raw, desc); err != nil {
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %w", l.Root(), err)
	}
	return desc, nil
}

// checkLayers checks the layer descriptors and diff_ids of the image, and
// that its layers have the media types asked for. A difference is reported
// with the media types the image has, as a list to paste into `layers`.
func (l *Layout) checkLayers(what string, d ispec.Descriptor, m ispec.Manifest, c imageConfig, want []string) error {
	have := make([]string, len(m.Layers))
	for i, ld := range m.Layers {
		if err := l.CheckDescriptor(fmt.Sprintf("layer %d of %s", i, what), ld); err != nil {
			return err
		}
		have[i] = ld.MediaType
	}
	if len(c.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("layout %s: %s %s has %d layers, its config %s %d diff_ids: %w",
			l.Root(), what, d.Digest, len(m.Layers), m.Config.Digest, len(c.RootFS.DiffIDs), ErrInvalidArgument)
	}
	for i, id := range c.RootFS.DiffIDs {
		if !metadata.ValidDigest(id) {
			return fmt.Errorf("layout %s: config %s of %s: diff_id %d %q is not a sha256 digest: %w", l.Root(), m.Config.Digest, what, i, id, ErrInvalidArgument)
		}
	}
	same := len(have) == len(want)
	for i := 0; same && i < len(have); i++ {
		same = have[i] == want[i]
	}
	if !same {
		return fmt.Errorf("layout %s: %s %s has %d layers with media types %s, but %d were declared (%s): %w",
			l.Root(), what, d.Digest, len(have), starlarkList(have), len(want), starlarkList(want), ErrNoMatch)
	}
	return nil
}

// starlarkList formats strings as a Starlark list literal.
func starlarkList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// writeDocument writes a JSON document, its descriptor and its digest;
// empty paths are skipped. The document's bytes are checked against desc
// before it is renamed into place.
func writeDocument(path, descPath, digestPath string, raw []byte, desc ispec.Descriptor) error {
	if path != "" {
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); got != string(desc.Digest) || int64(len(raw)) != desc.Size {
			return fmt.Errorf("%s: %s (%d bytes) is not %s (%d bytes): %w", path, got, len(raw), desc.Digest, desc.Size, ErrMismatch)
		}
		if err := atomicfile.WriteFile(path, raw, 0o644); err != nil {
			return err
		}
	}
	if descPath != "" {
		data, err := json.Marshal(desc)
		if err != nil {
			return fmt.Errorf("%s: %w", descPath, err)
		}
		if err := atomicfile.WriteFile(descPath, data, 0o644); err != nil {
			return err
		}
	}
	if digestPath != "" {
		if err := atomicfile.WriteFile(digestPath, []byte(desc.Digest), 0o644); err != nil {
			return err
		}
	}
	return nil
}
