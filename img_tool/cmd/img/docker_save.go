package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
)

func runDockerSave(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("docker-save", "[flags] (--manifest FILE --config FILE | --index FILE (--manifest-path FILE --config-path FILE)...) --layer METADATA=BLOB... --output PATH")
	var (
		manifests, configs, tags   listFlag
		manifestPaths, configPaths listFlag
		layers                     = kvFlag{name: "layer"}
		index, output, format      string
		verify                     bool
		window                     zstdWindowFlag
	)
	fs.Var(&manifests, "manifest", "Manifest JSON of the image. Not with --index.")
	fs.Var(&configs, "config", "Config JSON of the image. Not with --index.")
	fs.StringVar(&index, "index", "", "Image index JSON: the tar is an OCI layout of the whole index and a docker load archive of its first manifest. Its manifests are the --manifest-path files (matched by digest).")
	fs.Var(&manifestPaths, "manifest-path", "With --index: manifest JSON of an image of the index; pairs with the --config-path at the same position. Repeatable.")
	fs.Var(&configPaths, "config-path", "With --index: config JSON of the image of the --manifest-path at the same position. Repeatable.")
	fs.Var(&layers, "layer", "METADATA=BLOB: layer metadata JSON and its blob; every layer of every manifest needs one. Repeatable.")
	fs.Var(&tags, "tag", `Image name for RepoTags and index.json, e.g. "app:latest". Repeatable.`)
	fs.StringVar(&format, "format", "tar", "Output format: tar or directory.")
	fs.StringVar(&output, "output", "", "Output tar file or directory (created).")
	fs.BoolVar(&verify, "verify-digests", false, "Hash every layer blob; by default only sizes are checked for large blobs linked into a directory.")
	window.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if index == "" {
		if len(manifestPaths)+len(configPaths) > 0 {
			return fmt.Errorf("--manifest-path and --config-path need --index; give one image with --manifest and --config")
		}
		opts, images, err := layoutOptions(fs.NArg(), output, format, manifests, configs, layers)
		if err != nil {
			return err
		}
		if len(images) != 1 {
			return fmt.Errorf("want one --manifest, got %d (an index takes --index and --manifest-path)", len(images))
		}
		opts = append(opts, tagOptions(tags, verify)...)
		opts = append(opts, layout.WithZstdMaxWindow(window.n))
		return layout.WriteDockerSave(ctx, output, images[0], opts...)
	}
	if len(manifests)+len(configs) > 0 {
		return fmt.Errorf("--index takes its images as --manifest-path and --config-path, not --manifest and --config")
	}
	if len(manifestPaths) == 0 || len(manifestPaths) != len(configPaths) {
		return fmt.Errorf("--index: want --manifest-path and --config-path in pairs, got %d --manifest-path and %d --config-path",
			len(manifestPaths), len(configPaths))
	}
	opts, images, err := layoutOptions(fs.NArg(), output, format, manifestPaths, configPaths, layers)
	if err != nil {
		return err
	}
	opts = append(opts, layout.WithIndex(index))
	opts = append(opts, tagOptions(tags, verify)...)
	opts = append(opts, layout.WithZstdMaxWindow(window.n))
	return layout.WriteDockerSaveIndex(ctx, output, images, opts...)
}

// tagOptions are the options of docker-save's --tag and --verify-digests.
func tagOptions(tags []string, verify bool) []layout.Option {
	opts := []layout.Option{layout.WithVerifyDigests(verify)}
	for _, t := range tags {
		opts = append(opts, layout.WithTag(t))
	}
	return opts
}
