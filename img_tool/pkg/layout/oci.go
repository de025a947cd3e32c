package layout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"
)

// AnnotationContainerdName is the annotation of an index.json entry that
// containerd (and Docker's containerd image store) names the image by.
const AnnotationContainerdName = "io.containerd.image.name"

// layoutFile is the content of the oci-layout file.
var layoutFile = []byte(`{"imageLayoutVersion":"1.0.0"}`)

// shallowHint is the remedy named when layers are missing.
const shallowHint = "//img/settings:shallow_oci_layout=i_know_what_i_am_doing"

// WriteOCILayout writes an OCI image layout to out: a directory (created;
// it may exist if it is empty) or a tar file, as WithFormat selects.
//
// Without WithIndex, images must hold exactly one image; index.json then
// lists its manifest, with the platform from its config. With WithIndex,
// images are the manifests of the index, matched by digest: each entry of
// the index must be among them and each of them in the index; index.json
// lists the index. blobs/sha256/ holds the index, every manifest and
// config, and the blob of every layer given with WithLayers. A layer
// without a blob is an ErrMissingBlob error unless WithAllowMissingBlobs.
func WriteOCILayout(ctx context.Context, out string, images []Image, opts ...Option) error {
	o, err := newOptions(Directory, opts)
	if err != nil {
		return fmt.Errorf("oci layout %s: %w", out, err)
	}
	if err := writeOCILayout(ctx, out, images, o); err != nil {
		return fmt.Errorf("oci layout %s: %w", out, err)
	}
	return nil
}

func writeOCILayout(ctx context.Context, out string, images []Image, o options) error {
	if len(o.tags) > 1 {
		return fmt.Errorf("%d tags %q, an OCI layout takes at most one: %w", len(o.tags), o.tags, ErrInvalidArgument)
	}
	if o.index == "" && len(images) != 1 {
		return fmt.Errorf("%d images without an index, want exactly one: %w", len(images), ErrInvalidArgument)
	}
	loaded := make([]*image, len(images))
	for i, img := range images {
		im, err := loadImage(img)
		if err != nil {
			return err
		}
		loaded[i] = im
	}
	t := tree{}
	var top ocispec.Descriptor
	if o.index != "" {
		ix, err := loadIndex(o.index, loaded)
		if err != nil {
			return err
		}
		loaded = ix.images
		t.addData(blobName(ix.digest), ix.raw)
		top = ix.descriptor()
	} else {
		top = loaded[0].descriptor()
	}
	layers := newLayerSet(o.layers)
	var missing []string
	for _, im := range loaded {
		t.addData(blobName(im.digest), im.raw)
		t.addData(blobName(string(im.manifest.Config.Digest)), im.config)
		for i, desc := range im.manifest.Layers {
			l, err := im.layerBlob(layers, i)
			if err != nil {
				return err
			}
			if l == nil {
				missing = append(missing, fmt.Sprintf("%s (manifest %s)", desc.Digest, im.Manifest))
				continue
			}
			t.addBlob(l.Blob, l.Metadata.Digest, l.Metadata.Size)
		}
	}
	if len(missing) > 0 && !o.allowMissing {
		return fmt.Errorf("no blob for layer %s: the base image was not downloaded (a shallow pull), so the layout would be incomplete; "+
			"set %s to write it without these layers: %w", strings.Join(missing, ", "), shallowHint, ErrMissingBlob)
	}
	if len(o.tags) == 1 {
		top.Annotations = tagAnnotations(o.tags[0])
	}
	if err := addIndexJSON(t, []ocispec.Descriptor{top}); err != nil {
		return err
	}
	return writeTree(ctx, out, o, t)
}

// tagAnnotations names an index.json entry for podman and for containerd.
func tagAnnotations(name string) map[string]string {
	return map[string]string{
		ocispec.AnnotationRefName: name,
		AnnotationContainerdName:  normalizeName(name),
	}
}

// addIndexJSON adds oci-layout and an index.json that lists descs.
func addIndexJSON(t tree, descs []ocispec.Descriptor) error {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: descs}
	idx.SchemaVersion = 2
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	t.addData("index.json", data)
	t.addData("oci-layout", layoutFile)
	return nil
}

// writeTree writes t to out.
func writeTree(ctx context.Context, out string, o options, t tree) error {
	w, err := newOutput(out, o.format, o.verify)
	if err != nil {
		return err
	}
	defer w.abort()
	return w.commit(ctx, t)
}

func digestOf(s string) ocispec.Digest { return ocispec.Digest(s) }
