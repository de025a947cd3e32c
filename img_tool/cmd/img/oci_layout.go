package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

func runOCILayout(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("oci-layout", "[flags] --manifest FILE --config FILE [--index FILE --manifest FILE --config FILE ...] --output PATH")
	var (
		manifests, configs listFlag
		layers             = kvFlag{name: "layer"}
		index, tag, output string
		format             string
		allowMissing       bool
		verify             bool
	)
	fs.Var(&manifests, "manifest", "Manifest JSON of an image; pairs with the --config at the same position. Repeatable with --index.")
	fs.Var(&configs, "config", "Config JSON of the image of the --manifest at the same position. Repeatable with --index.")
	fs.StringVar(&index, "index", "", "Image index JSON; the --manifest files are the manifests it lists (matched by digest).")
	fs.Var(&layers, "layer", "METADATA=BLOB: layer metadata JSON and its blob. Repeatable.")
	fs.BoolVar(&allowMissing, "allow-missing-blobs", false, "Leave out layers without a --layer (of a shallow base image): an incomplete layout.")
	fs.StringVar(&tag, "tag", "", `Image name for index.json, e.g. "registry.local/app:latest".`)
	fs.StringVar(&format, "format", "directory", "Output format: directory or tar.")
	fs.StringVar(&output, "output", "", "Output directory (created) or tar file.")
	fs.BoolVar(&verify, "verify-digests", false, "Hash every layer blob; by default only sizes are checked for large blobs linked into a directory.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, images, err := layoutOptions(fs.NArg(), output, format, manifests, configs, layers)
	if err != nil {
		return err
	}
	if len(images) > 1 && index == "" {
		return fmt.Errorf("%d --manifest flags without --index, want one", len(images))
	}
	if index != "" {
		opts = append(opts, layout.WithIndex(index))
	}
	if tag != "" {
		opts = append(opts, layout.WithTag(tag))
	}
	opts = append(opts, layout.WithAllowMissingBlobs(allowMissing), layout.WithVerifyDigests(verify))
	return layout.WriteOCILayout(ctx, output, images, opts...)
}

// layoutOptions checks the flags that oci-layout and docker-save share and
// turns them into images and options.
func layoutOptions(nargs int, output, format string, manifests, configs listFlag, layers kvFlag) ([]layout.Option, []layout.Image, error) {
	if nargs != 0 {
		return nil, nil, fmt.Errorf("want no arguments, got %d", nargs)
	}
	if output == "" {
		return nil, nil, fmt.Errorf("--output is required")
	}
	if len(manifests) == 0 || len(manifests) != len(configs) {
		return nil, nil, fmt.Errorf("want --manifest and --config in pairs, got %d --manifest and %d --config", len(manifests), len(configs))
	}
	f, err := layout.ParseFormat(format)
	if err != nil {
		return nil, nil, fmt.Errorf("--format: %w", err)
	}
	images := make([]layout.Image, len(manifests))
	for i := range manifests {
		images[i] = layout.Image{Manifest: manifests[i], Config: configs[i]}
	}
	ls := make([]layout.Layer, 0, len(layers.pairs))
	for _, p := range layers.pairs {
		md, err := metadata.Read(p[0])
		if err != nil {
			return nil, nil, fmt.Errorf("--layer %s=%s: %w", p[0], p[1], err)
		}
		if p[1] == "" {
			return nil, nil, fmt.Errorf("--layer %s=: want METADATA=BLOB", p[0])
		}
		ls = append(ls, layout.Layer{Metadata: *md, Blob: p[1]})
	}
	return []layout.Option{layout.WithFormat(f), layout.WithLayers(ls...)}, images, nil
}
