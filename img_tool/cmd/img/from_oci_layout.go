//go:build !img_build_actions

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/layoutimport"
)

// runFromOCILayout imports an image, or an index of images, from an OCI
// image layout directory (image_manifest_from_oci_layout and
// image_index_from_oci_layout).
func runFromOCILayout(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("from-oci-layout", "[flags]")
	var (
		layout, name                                 string
		platforms, mediaTypes, blobs, metadataFiles  listFlag
		manifests, configs, descriptors, digests     listFlag
		indexOut, indexDescriptorOut, indexDigestOut string
	)
	fs.StringVar(&layout, "layout", "", "The OCI image layout directory (required).")
	fs.StringVar(&name, "name", "", "Name recorded in the layer metadata, as NAME@DIGEST. Defaults to the digest.")
	fs.Var(&platforms, "platform", "os/architecture[/variant] of an image to import. Repeatable: one per image, in index order; exactly one without --index.")
	fs.Var(&mediaTypes, "layer-media-type", "Media type of a layer, bottom first; every imported image must have exactly these layers. Repeatable.")
	fs.Var(&manifests, "manifest", "Write the manifest JSON of an image here. Repeatable: one per --platform, in order.")
	fs.Var(&configs, "config", "Write the config JSON of an image here. Repeatable: one per --platform.")
	fs.Var(&descriptors, "descriptor", "Write the descriptor JSON of an image's manifest here. Repeatable: one per --platform.")
	fs.Var(&digests, "digest", `Write the manifest digest ("sha256:...", no newline) of an image here. Repeatable: one per --platform.`)
	fs.Var(&blobs, "layer-blob", "Write a copy of a layer blob here. Repeatable: for each --platform in order, one per --layer-media-type.")
	fs.Var(&metadataFiles, "layer-metadata", "Write the metadata JSON of a layer here. Repeatable, as --layer-blob.")
	fs.StringVar(&indexOut, "index", "", "Write the index JSON here; imports an index of the --platform images.")
	fs.StringVar(&indexDescriptorOut, "index-descriptor", "", "Write the index's descriptor JSON here (with --index).")
	fs.StringVar(&indexDigestOut, "index-digest", "", `Write the index digest ("sha256:...", no newline) here (with --index).`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if layout == "" {
		return fmt.Errorf("--layout is required")
	}
	n := len(platforms)
	switch {
	case n == 0:
		return fmt.Errorf("layout %s: at least one --platform is required", layout)
	case indexOut == "" && n != 1:
		return fmt.Errorf("layout %s: %d --platform flags without --index; an image has one", layout, n)
	case indexOut == "" && (indexDescriptorOut != "" || indexDigestOut != ""):
		return fmt.Errorf("layout %s: --index-descriptor and --index-digest need --index", layout)
	}
	for _, f := range []struct {
		flag string
		got  int
	}{{"manifest", len(manifests)}, {"config", len(configs)}} {
		if f.got != n {
			return fmt.Errorf("layout %s: %d --%s flags for %d --platform flags", layout, f.got, f.flag, n)
		}
	}
	for _, f := range []struct {
		flag string
		got  int
	}{{"descriptor", len(descriptors)}, {"digest", len(digests)}} {
		if f.got != 0 && f.got != n {
			return fmt.Errorf("layout %s: %d --%s flags for %d --platform flags", layout, f.got, f.flag, n)
		}
	}
	perImage := len(mediaTypes)
	if len(blobs) != n*perImage || len(metadataFiles) != n*perImage {
		return fmt.Errorf("layout %s: %d --layer-blob and %d --layer-metadata flags; want %d each (%d images of %d layers)",
			layout, len(blobs), len(metadataFiles), n*perImage, n, perImage)
	}
	reqs := make([]layoutimport.ManifestRequest, n)
	for i, ps := range platforms {
		p, err := layoutimport.ParsePlatform(ps)
		if err != nil {
			return fmt.Errorf("layout %s: %w", layout, err)
		}
		r := layoutimport.ManifestRequest{
			Platform:        p,
			LayerMediaTypes: mediaTypes,
			Manifest:        manifests[i],
			Config:          configs[i],
		}
		if len(descriptors) > 0 {
			r.Descriptor = descriptors[i]
		}
		if len(digests) > 0 {
			r.Digest = digests[i]
		}
		for j := range perImage {
			r.Layers = append(r.Layers, layoutimport.LayerOutput{Blob: blobs[i*perImage+j], Metadata: metadataFiles[i*perImage+j]})
		}
		reqs[i] = r
	}
	l, err := layoutimport.Open(layout, layoutimport.WithName(name))
	if err != nil {
		return err
	}
	if indexOut == "" {
		_, err = l.ImportManifest(ctx, reqs[0])
		return err
	}
	_, err = l.ImportIndex(ctx, reqs, layoutimport.IndexOutputs{Index: indexOut, Descriptor: indexDescriptorOut, Digest: indexDigestOut})
	return err
}
