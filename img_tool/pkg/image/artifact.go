package image

import (
	"context"
	"errors"
	"fmt"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image/imageconfig"
	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// WithArtifactType makes BuildManifest write an artifact manifest (OCI
// image-spec 1.1): the manifest's artifactType is t, its config is the
// empty JSON blob `{}` (application/vnd.oci.empty.v1+json), and its layers
// may be artifact blobs of any media type (metadata.Layer.IsArtifactBlob)
// as well as tar layers. An artifact has no image config, so a base, a
// config fragment, config overrides, a creation time and the config options
// (user, env, entrypoint, cmd, working dir, labels, stop signal) are
// errors; manifest annotations are kept. The default "" builds an image.
func WithArtifactType(t string) Option {
	return func(o *options) error {
		if t != "" && !metadata.ValidMediaType(t) {
			return fmt.Errorf(`artifact type %q is not a media type of the form "type/subtype"`, t)
		}
		o.artifactType = t
		return nil
	}
}

// emptyJSON is the content of the empty config of an artifact manifest.
var emptyJSON = []byte("{}")

// buildArtifact is BuildManifest for WithArtifactType.
func buildArtifact(ctx context.Context, o *options) (*Manifest, error) {
	for _, c := range []struct {
		what string
		set  bool
	}{
		{"a base image", o.baseManifest != ""},
		{"a config fragment", o.fragment != ""},
		{"config overrides", o.overrides != ""},
		{"a creation time", o.created != nil},
		{"a user", o.user != ""},
		{"a working dir", o.workingDir != ""},
		{"a stop signal", o.stop != ""},
		{"env", len(o.env) > 0},
		{"labels", len(o.labels) > 0},
		{"an entrypoint", len(o.entrypoint) > 0},
		{"a cmd", len(o.cmd) > 0},
	} {
		if c.set {
			return nil, fmt.Errorf("artifact type %s: %s is given, but an artifact has no image config", o.artifactType, c.what)
		}
	}
	annotations := o.annotations
	if o.templates != "" {
		tmpl, err := imageconfig.ReadTemplates(o.templates)
		if err != nil {
			return nil, err
		}
		if len(tmpl.Env) > 0 || len(tmpl.Labels) > 0 {
			return nil, fmt.Errorf("config templates %s: env or labels are given, but an artifact of type %s has no image config", o.templates, o.artifactType)
		}
		if tmpl.Annotations != nil {
			annotations = tmpl.Annotations
		}
	}
	if len(o.layers) == 0 {
		return nil, fmt.Errorf("artifact type %s: no blobs; an artifact manifest needs at least one", o.artifactType)
	}
	layers := make([]ocispec.Descriptor, 0, len(o.layers))
	for _, path := range o.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := metadata.Read(path)
		if err != nil {
			return nil, err
		}
		if !l.IsArtifactBlob() && !metadata.IsLayer(l.MediaType) {
			return nil, fmt.Errorf("layer metadata %s: field mediaType: %q is an attestation; an artifact holds artifact blobs and tar layers", path, l.MediaType)
		}
		layers = append(layers, layerDescriptor(l))
	}
	empty := ocispec.DescriptorEmptyJSON
	config := jsondoc.Blob{Data: emptyJSON, Descriptor: ocispec.Descriptor{MediaType: empty.MediaType, Digest: empty.Digest, Size: empty.Size}}
	if err := checkEmptyDescriptor(config); err != nil {
		return nil, err
	}
	m := ocispec.Manifest{
		Versioned:    ocispec.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: o.artifactType,
		Config:       config.Descriptor,
		Layers:       layers,
		Annotations:  nonEmpty(annotations),
	}
	manifest, err := jsondoc.New(ocispec.MediaTypeImageManifest, m, &ocispec.Platform{OS: o.os, Architecture: o.arch, Variant: o.variant})
	if err != nil {
		return nil, err
	}
	// The index and the deploy read artifactType from the manifest, not
	// from the descriptor; it is set here so that an index lists it.
	manifest.Descriptor.ArtifactType = o.artifactType
	return &Manifest{Config: config, Manifest: manifest}, nil
}

// checkEmptyDescriptor guards against a library whose empty descriptor
// would not describe `{}`.
func checkEmptyDescriptor(b jsondoc.Blob) error {
	if b.Descriptor.Digest.Algorithm().FromBytes(b.Data) != b.Descriptor.Digest || b.Descriptor.Size != int64(len(b.Data)) {
		return errors.New("the empty descriptor does not describe {}")
	}
	return nil
}

// layerDescriptor is the manifest's descriptor of a layer or blob.
func layerDescriptor(l *metadata.Layer) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType:   l.MediaType,
		Digest:      ocispec.Digest(l.Digest),
		Size:        l.Size,
		Annotations: nonEmpty(l.Annotations),
	}
}
