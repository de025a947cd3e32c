//go:build !img_build_actions

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/structuretest/layoutmeta"
)

// runOCILayoutMetadata writes what image_structure_test reads of an OCI
// image layout directory (image configs, layer metadata and listings).
func runOCILayoutMetadata(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("oci-layout-metadata", "--src LAYOUT --output DIR")
	var src, out string
	var window zstdWindowFlag
	fs.StringVar(&src, "src", "", "The OCI image layout directory.")
	fs.StringVar(&out, "output", "", "The directory to write images.json, <i>/config.json and <i>/layers/<j>.{json,mtree} into.")
	window.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if src == "" || out == "" || fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("want --src and --output and no arguments")
	}
	return layoutmeta.Write(src, out, window.limits())
}
