package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

func runLayerMetadata(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("layer-metadata", "[flags] LAYER OUTPUT")
	var (
		name        string
		annotations = kvFlag{name: "annotation"}
		window      zstdWindowFlag
	)
	fs.StringVar(&name, "name", "", "Name recorded in the metadata. Defaults to the digest.")
	fs.Var(&annotations, "annotation", "KEY=VALUE annotation for the layer descriptor. Repeatable.")
	window.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want LAYER and OUTPUT arguments, got %d arguments", fs.NArg())
	}
	in, out := fs.Arg(0), fs.Arg(1)
	res, err := describeBlob(in, window.limits())
	if err != nil {
		if name != "" {
			return fmt.Errorf("layer-metadata %s (%s): %w", name, in, err)
		}
		return fmt.Errorf("layer-metadata %s: %w", in, err)
	}
	return writeMetadata(out, name, res, annotations.Map())
}

// describeBlob reads an existing layer blob once: the raw bytes are hashed
// for the digest while the decompressed stream is hashed for the diff_id
// and parsed as tar.
func describeBlob(path string, lim tarpolicy.Limits) (compress.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return compress.Result{}, err
	}
	defer f.Close()
	raw := sha256.New()
	var size countWriter
	br := bufio.NewReaderSize(io.TeeReader(f, io.MultiWriter(raw, &size)), 1<<20)
	magic, _ := br.Peek(4)
	mediaType := metadata.MediaTypeTar
	switch tarpolicy.Detect(magic) {
	case tarpolicy.Gzip:
		mediaType = metadata.MediaTypeTarGzip
	case tarpolicy.Zstd:
		mediaType = metadata.MediaTypeTarZstd
	}
	ur, done, err := tarpolicy.Open(br, lim)
	if err != nil {
		return compress.Result{}, err
	}
	defer done()
	diff := sha256.New()
	var usize countWriter
	if err := tarpolicy.CopyChecked(io.MultiWriter(diff, &usize), ur); err != nil {
		return compress.Result{}, err
	}
	// Anything after the compressed stream still belongs to the blob.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return compress.Result{}, err
	}
	return compress.Result{
		Digest:           fmt.Sprintf("sha256:%x", raw.Sum(nil)),
		Size:             int64(size),
		DiffID:           fmt.Sprintf("sha256:%x", diff.Sum(nil)),
		UncompressedSize: int64(usize),
		MediaType:        mediaType,
	}, nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
