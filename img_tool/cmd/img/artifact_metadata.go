package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// runArtifactMetadata writes the metadata of an artifact blob: a file used
// byte for byte as a blob of an artifact manifest (an ORAS file), never
// read as a tar. Its diff_id is its digest (metadata.Layer.IsArtifactBlob).
func runArtifactMetadata(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("artifact-metadata", "[flags] FILE OUTPUT")
	var (
		name, mediaType string
		annotations     = kvFlag{name: "annotation"}
	)
	fs.StringVar(&name, "name", "", "Name recorded in the metadata. Defaults to the digest.")
	fs.StringVar(&mediaType, "media-type", "", `Media type of the blob ("type/subtype"), not a tar layer media type. Required.`)
	fs.Var(&annotations, "annotation", "KEY=VALUE annotation for the blob's descriptor. Repeatable.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want FILE and OUTPUT arguments, got %d arguments", fs.NArg())
	}
	in, out := fs.Arg(0), fs.Arg(1)
	ident := in
	if name != "" {
		ident = name + " (" + in + ")"
	}
	if err := checkArtifactMediaType(mediaType); err != nil {
		return fmt.Errorf("artifact-metadata %s: %w", ident, err)
	}
	digest, size, err := hashFile(ctx, in)
	if err != nil {
		return fmt.Errorf("artifact-metadata %s: %w", ident, err)
	}
	if size == 0 {
		return fmt.Errorf("artifact-metadata %s: the file is empty; a blob is never empty", ident)
	}
	res := compress.Result{Digest: digest, Size: size, DiffID: digest, UncompressedSize: size, MediaType: mediaType}
	return writeMetadata(out, name, res, annotations.Map())
}

// checkArtifactMediaType accepts a well-formed media type that does not
// claim a tar stream: a tar layer is described by layer-metadata, which
// reads it as one.
func checkArtifactMediaType(mt string) error {
	switch {
	case mt == "":
		return fmt.Errorf("--media-type is required")
	case metadata.IsLayer(mt):
		return fmt.Errorf("media type %q is a tar layer media type; describe a tar layer with layer-metadata, which reads it as a tar", mt)
	case mt == metadata.MediaTypeInToto:
		return fmt.Errorf("media type %q is reserved for pulled attestations", mt)
	case !metadata.ValidMediaType(mt):
		return fmt.Errorf(`media type %q is not of the form "type/subtype" (RFC 6838 names, no parameters)`, mt)
	}
	return nil
}

// hashFile returns the sha256 digest and the size of a file, reading it
// once and checking ctx between chunks.
func hashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		size += int64(n)
		if size > metadata.MaxSize {
			return "", 0, fmt.Errorf("larger than %d bytes", int64(metadata.MaxSize))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil)), size, nil
}
