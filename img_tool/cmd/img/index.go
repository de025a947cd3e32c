package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/image"
)

func runIndex(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("index", "[flags]")
	var (
		descriptors                        listFlag
		annotations                        = kvFlag{name: "annotation"}
		indexOut, descriptorOut, digestOut string
		templates                          string
	)
	fs.Var(&descriptors, "manifest-descriptor", `Descriptor JSON of a manifest (from "img manifest --descriptor"). Repeatable, in index order.`)
	fs.Var(&annotations, "annotation", "KEY=VALUE index annotation. Repeatable.")
	fs.StringVar(&templates, "config-templates", "", `JSON {"annotations":{}} of template-expanded values; the map replaces --annotation.`)
	fs.StringVar(&indexOut, "index", "", "Write the index JSON here.")
	fs.StringVar(&descriptorOut, "descriptor", "", "Write the index's descriptor JSON here.")
	fs.StringVar(&digestOut, "digest", "", `Write the index digest ("sha256:...", no newline) here.`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	idx, err := image.BuildIndex(ctx, descriptors, image.WithIndexAnnotations(annotations.Map()), image.WithIndexTemplates(templates))
	if err != nil {
		return err
	}
	return idx.Write(indexOut, descriptorOut, digestOut)
}
