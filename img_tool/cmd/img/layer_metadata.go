package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

func runLayerMetadata(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("layer-metadata", "[flags] LAYER OUTPUT")
	var (
		name        string
		annotations = kvFlag{name: "annotation"}
		window      zstdWindowFlag
		mediaType   string
		diffIDKeys  stringList
		listing     mtreeFlag
	)
	fs.StringVar(&name, "name", "", "Name recorded in the metadata. Defaults to the digest.")
	fs.Var(&annotations, "annotation", "KEY=VALUE annotation for the layer descriptor. Repeatable.")
	fs.StringVar(&mediaType, "media-type", "", "Media type recorded in the metadata: a tar layer media type whose compression (none, gzip, zstd) must be the blob's. Defaults to the OCI tar media type of the blob's compression.")
	fs.Var(&diffIDKeys, "diff-id-annotation", "KEY: an annotation whose value is the diff_id of the blob. Repeatable.")
	window.register(fs)
	listing.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want LAYER and OUTPUT arguments, got %d arguments", fs.NArg())
	}
	in, out := fs.Arg(0), fs.Arg(1)
	if err := listing.start(); err != nil {
		return fmt.Errorf("layer-metadata %s: %w", in, err)
	}
	defer listing.abort()
	res, err := describeBlob(in, window.limits(), listing.writer())
	if err == nil && mediaType != "" {
		res.MediaType, err = declaredMediaType(mediaType, res.MediaType)
	}
	if err != nil {
		if name != "" {
			return fmt.Errorf("layer-metadata %s (%s): %w", name, in, err)
		}
		return fmt.Errorf("layer-metadata %s: %w", in, err)
	}
	ann := annotations.Map()
	for _, k := range diffIDKeys {
		if _, ok := ann[k]; ok {
			return fmt.Errorf("layer-metadata %s: annotation %q is given by both --annotation and --diff-id-annotation", in, k)
		}
		ann[k] = res.DiffID
	}
	if err := writeMetadata(out, name, res, ann); err != nil {
		return err
	}
	if err := listing.commit(); err != nil {
		os.Remove(out)
		return fmt.Errorf("layer-metadata %s: %w", in, err)
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// declaredMediaType checks a media type given for a blob whose compression
// showed as the OCI media type detected: it must be a tar layer media type
// (metadata.LayerMediaTypes) of the same compression. Docker names the
// compression with a dot (".tar.gzip"), OCI with a plus ("+gzip").
func declaredMediaType(declared, detected string) (string, error) {
	if !metadata.IsLayer(declared) {
		return "", fmt.Errorf("media type %q is not a tar layer media type; want one of %s", declared, strings.Join(metadata.LayerMediaTypes, ", "))
	}
	compression := func(mt string) string {
		switch {
		case strings.HasSuffix(mt, "+gzip"), strings.HasSuffix(mt, ".gzip"):
			return "gzip"
		case strings.HasSuffix(mt, "+zstd"), strings.HasSuffix(mt, ".zstd"):
			return "zstd"
		}
		return "uncompressed"
	}
	if got, want := compression(detected), compression(declared); got != want {
		return "", fmt.Errorf("the blob is a %s tar, but media type %q says %s", got, declared, want)
	}
	return declared, nil
}

// describeBlob reads an existing layer blob once: the raw bytes are hashed
// for the digest while the decompressed stream is hashed for the diff_id
// and parsed as tar, its members listed into list (nil: not listed).
func describeBlob(path string, lim tarpolicy.Limits, list *mtree.Writer) (compress.Result, error) {
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
	if err := mtree.CopyChecked(io.MultiWriter(diff, &usize), ur, list); err != nil {
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
