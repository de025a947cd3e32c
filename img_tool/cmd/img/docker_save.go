package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
)

func runDockerSave(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("docker-save", "[flags] --manifest FILE --config FILE --layer METADATA=BLOB... --output PATH")
	var (
		manifests, configs, tags listFlag
		layers                   = kvFlag{name: "layer"}
		output, format           string
		verify                   bool
	)
	fs.Var(&manifests, "manifest", "Manifest JSON of the image.")
	fs.Var(&configs, "config", "Config JSON of the image.")
	fs.Var(&layers, "layer", "METADATA=BLOB: layer metadata JSON and its blob; every layer of the manifest needs one. Repeatable.")
	fs.Var(&tags, "tag", `Image name for RepoTags, e.g. "app:latest". Repeatable.`)
	fs.StringVar(&format, "format", "tar", "Output format: tar or directory.")
	fs.StringVar(&output, "output", "", "Output tar file or directory (created).")
	fs.BoolVar(&verify, "verify-digests", false, "Hash every layer blob; by default only sizes are checked for large blobs linked into a directory.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, images, err := layoutOptions(fs.NArg(), output, format, manifests, configs, layers)
	if err != nil {
		return err
	}
	if len(images) != 1 {
		return fmt.Errorf("want one --manifest, got %d", len(images))
	}
	for _, t := range tags {
		opts = append(opts, layout.WithTag(t))
	}
	opts = append(opts, layout.WithVerifyDigests(verify))
	return layout.WriteDockerSave(ctx, output, images[0], opts...)
}
