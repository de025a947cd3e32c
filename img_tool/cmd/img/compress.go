package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

func runCompress(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("compress", "[flags] INPUT OUTPUT")
	var (
		name, metadataOut, sourceFormat string
		annotations                     = kvFlag{name: "annotation"}
		comp                            compressionFlags
		window                          zstdWindowFlag
		listing                         mtreeFlag
	)
	fs.StringVar(&name, "name", "", "Name recorded in the metadata. Defaults to the digest.")
	fs.StringVar(&sourceFormat, "source-format", "", "Compression of INPUT (gzip, zstd, none); detected when empty.")
	fs.Var(&annotations, "annotation", "KEY=VALUE annotation for the layer descriptor. Repeatable.")
	fs.StringVar(&metadataOut, "metadata", "", "Write the layer metadata JSON here.")
	comp.register(fs, "")
	window.register(fs)
	listing.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want INPUT and OUTPUT arguments, got %d arguments", fs.NArg())
	}
	in, out := fs.Arg(0), fs.Arg(1)
	ident := in
	if name != "" {
		ident = name + " (" + in + ")"
	}
	if comp.format == "" {
		return fmt.Errorf("compress %s: --format is required", ident)
	}
	if sourceFormat != "" {
		if _, err := compress.ParseFormat(sourceFormat); err != nil {
			return fmt.Errorf("compress %s: --source-format: %w", ident, err)
		}
	}
	opts, err := comp.options()
	if err != nil {
		return fmt.Errorf("compress %s: %w", ident, err)
	}
	if err := listing.start(); err != nil {
		return fmt.Errorf("compress %s: %w", ident, err)
	}
	defer listing.abort()
	fill := func(w io.Writer) error {
		f, err := os.Open(in)
		if err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		defer f.Close()
		r, done, err := tarpolicy.Open(f, window.limits())
		if err != nil {
			return fmt.Errorf("compress %s: %w", ident, err)
		}
		defer done()
		// An eStargz blob is listed after it is written (listBlob).
		lw := listing.writer()
		if comp.estargz {
			lw = nil
		}
		if err := mtree.CopyChecked(w, r, lw); err != nil {
			return fmt.Errorf("compress %s: %w", ident, err)
		}
		return nil
	}
	restoreMemory := compress.LimitMemory(compress.MemoryFloor)
	res, err := compress.WriteFile(out, fill, opts...)
	restoreMemory()
	if err != nil {
		return err
	}
	if comp.estargz {
		if err := listing.listBlob(out, window.limits()); err != nil {
			os.Remove(out)
			return fmt.Errorf("compress %s: %w", ident, err)
		}
	}
	if err := writeMetadata(metadataOut, name, res, annotations.Map()); err != nil {
		os.Remove(out)
		return err
	}
	if err := listing.commit(); err != nil {
		os.Remove(out)
		if metadataOut != "" {
			os.Remove(metadataOut)
		}
		return fmt.Errorf("compress %s: %w", ident, err)
	}
	return nil
}
