package image

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image/imageconfig"
	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
)

// IndexOption configures BuildIndex.
type IndexOption func(*indexOptions) error

type indexOptions struct {
	annotations map[string]string
	templates   string
}

// WithIndexAnnotations sets the annotations of the index. The default is
// none.
func WithIndexAnnotations(annotations map[string]string) IndexOption {
	return func(o *indexOptions) error { o.annotations = maps.Clone(annotations); return nil }
}

// WithIndexTemplates reads a config templates file as WithConfigTemplates
// does; its "annotations" map, if present, replaces the one given by
// WithIndexAnnotations. Other maps in it are ignored. The default is none.
func WithIndexTemplates(path string) IndexOption {
	return func(o *indexOptions) error { o.templates = path; return nil }
}

// ReadDescriptor reads a manifest descriptor file as written by
// jsondoc.Blob.Write. Unknown fields are errors; the media type must be that
// of an image manifest (OCI or Docker v2) and the platform must name an os
// and an architecture, else the error wraps ErrMissingPlatform.
func ReadDescriptor(path string) (*ocispec.Descriptor, error) {
	var d ocispec.Descriptor
	if err := jsondoc.Read(path, &d, true); err != nil {
		return nil, fmt.Errorf("manifest descriptor %s: %w", path, err)
	}
	if err := jsondoc.ValidateDescriptor(&d); err != nil {
		return nil, fmt.Errorf("manifest descriptor %s: %w", path, err)
	}
	switch d.MediaType {
	case ocispec.MediaTypeImageManifest, MediaTypeDockerManifest:
	default:
		return nil, fmt.Errorf("manifest descriptor %s: mediaType %q is not an image manifest", path, d.MediaType)
	}
	if d.Size == 0 {
		return nil, fmt.Errorf("manifest descriptor %s: size is 0", path)
	}
	if d.Size > jsondoc.MaxInputSize {
		return nil, fmt.Errorf("manifest descriptor %s: field size: %d is above the limit of %d bytes for a manifest", path, d.Size, jsondoc.MaxInputSize)
	}
	if d.Platform == nil || d.Platform.OS == "" || d.Platform.Architecture == "" {
		return nil, fmt.Errorf("manifest descriptor %s: no platform with os and architecture: %w", path, ErrMissingPlatform)
	}
	return &d, nil
}

// BuildIndex assembles an image index of the manifests described by the
// descriptor files, in the given order. At least one manifest is needed.
// Two manifests with the same os, architecture and variant fail with
// ErrDuplicatePlatform, naming both files.
func BuildIndex(ctx context.Context, descriptorPaths []string, opts ...IndexOption) (jsondoc.Blob, error) {
	var o indexOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return jsondoc.Blob{}, err
		}
	}
	if o.templates != "" {
		tmpl, err := imageconfig.ReadTemplates(o.templates)
		if err != nil {
			return jsondoc.Blob{}, err
		}
		if tmpl.Annotations != nil {
			o.annotations = tmpl.Annotations
		}
	}
	if len(descriptorPaths) == 0 {
		return jsondoc.Blob{}, errors.New("no manifest descriptors given")
	}
	manifests := make([]ocispec.Descriptor, 0, len(descriptorPaths))
	for _, path := range descriptorPaths {
		if err := ctx.Err(); err != nil {
			return jsondoc.Blob{}, err
		}
		d, err := ReadDescriptor(path)
		if err != nil {
			return jsondoc.Blob{}, err
		}
		manifests = append(manifests, *d)
	}
	idx := ocispec.Index{
		Versioned:   ocispec.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageIndex,
		Manifests:   manifests,
		Annotations: nonEmpty(o.annotations),
	}
	return jsondoc.New(ocispec.MediaTypeImageIndex, idx, nil)
}
