// Package blobcheck is the independent checker of layer blobs for tests.
//
// It recomputes everything a layer's metadata claims from the blob file
// alone, with code paths that share nothing with the writers: the standard
// library's crypto/sha256, compress/gzip and archive/tar, klauspost's zstd
// decoder (the writers use its encoder), and the eStargz reader of
// stargz-snapshotter (the writers use its writer).
//
// It lives in img_tool/internal (not pkg/internal) so that the tests of
// cmd/img may import it too.
package blobcheck

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/containerd/stargz-snapshotter/estargz"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Entry is one tar entry of a layer with its content.
type Entry struct {
	Header *tar.Header
	Data   []byte
}

// Check re-reads the blob at path and returns an error describing every way
// in which it disagrees with want: digest and size of the raw bytes, diff_id
// of the decompressed stream, a well-formed tar (entries, possibly none,
// then an end-of-archive marker), and for eStargz layers (annotated with a
// TOC digest) the TOC digest and the uncompressed-size annotation. It does
// not check want.Name.
func Check(path string, want metadata.Layer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("blobcheck: %w", err)
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("blobcheck %s: "+format, append([]any{path}, args...)...))
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); got != want.Digest {
		fail("digest is %s, metadata says %s", got, want.Digest)
	}
	if got := int64(len(raw)); got != want.Size {
		fail("size is %d, metadata says %d", got, want.Size)
	}
	tarBytes, err := decompress(raw, want.MediaType)
	if err != nil {
		fail("%v", err)
		return errors.Join(errs...)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(tarBytes)); got != want.DiffID {
		fail("diff_id is %s, metadata says %s", got, want.DiffID)
	}
	if want.MediaType == metadata.MediaTypeTar && want.Digest != want.DiffID {
		fail("uncompressed layer: digest %s differs from diff_id %s", want.Digest, want.DiffID)
	}
	if _, err := parseTar(tarBytes); err != nil {
		fail("%v", err)
	}
	if err := checkEstargz(raw, int64(len(tarBytes)), want); err != nil {
		fail("%v", err)
	}
	return errors.Join(errs...)
}

// ReadTar decompresses the blob at path according to mediaType and returns
// its entries in order, with their contents.
func ReadTar(path, mediaType string) ([]Entry, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("blobcheck: %w", err)
	}
	tarBytes, err := decompress(raw, mediaType)
	if err != nil {
		return nil, fmt.Errorf("blobcheck %s: %w", path, err)
	}
	ents, err := parseTar(tarBytes)
	if err != nil {
		return nil, fmt.Errorf("blobcheck %s: %w", path, err)
	}
	return ents, nil
}

func decompress(raw []byte, mediaType string) ([]byte, error) {
	switch mediaType {
	case metadata.MediaTypeTar:
		return raw, nil
	case metadata.MediaTypeTarGzip:
		// Multistream (the default) reads every gzip member, as eStargz needs.
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return out, nil
	case metadata.MediaTypeTarZstd:
		zr, err := zstd.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown mediaType %q", mediaType)
}

// parseTar reads every entry (there may be none), requires hardlinks that
// point to earlier entries, and after the last entry's data an end-of-archive
// marker: at least one zero block and nothing but zero bytes to the end.
// archive/tar reads from the bytes.Reader without buffering, so the reader's
// position after an entry's data tells where that data ends.
func parseTar(b []byte) ([]Entry, error) {
	r := bytes.NewReader(b)
	tr := tar.NewReader(r)
	var ents []Entry
	seen := map[string]bool{}
	end := 0 // where the last entry, with its padding, ends
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tar entry %d: %w", len(ents)+1, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("tar entry %d (%s): %w", len(ents)+1, h.Name, err)
		}
		if h.Typeflag == tar.TypeLink && !seen[h.Linkname] {
			return nil, fmt.Errorf("tar entry %d: hardlink %s -> %s: target is not an earlier entry", len(ents)+1, h.Name, h.Linkname)
		}
		seen[h.Name] = true
		ents = append(ents, Entry{Header: h, Data: data})
		end = (len(b) - r.Len() + 511) / 512 * 512
	}
	if end > len(b) {
		end = len(b)
	}
	rest := b[end:]
	if n := len(bytes.Trim(rest, "\x00")); n != 0 {
		return nil, fmt.Errorf("%d non-zero bytes after the tar end marker", n)
	}
	if len(rest) < 512 {
		if len(ents) == 0 {
			return nil, fmt.Errorf("tar has no entries and no end-of-archive marker (%d bytes)", len(b))
		}
		return nil, fmt.Errorf("tar ends after entry %d with %d zero bytes, want an end-of-archive marker of at least one 512-byte block", len(ents), len(rest))
	}
	return ents, nil
}

func checkEstargz(raw []byte, uncompressed int64, want metadata.Layer) error {
	tocDigest, hasTOC := want.Annotations[metadata.AnnotationTOCDigest]
	usize, hasSize := want.Annotations[metadata.AnnotationUncompressedSize]
	if !hasTOC && !hasSize {
		return nil
	}
	if !hasTOC || !hasSize {
		return fmt.Errorf("estargz: annotations %s and %s must come together, got %v",
			metadata.AnnotationTOCDigest, metadata.AnnotationUncompressedSize, want.Annotations)
	}
	if want.MediaType != metadata.MediaTypeTarGzip {
		return fmt.Errorf("estargz: mediaType is %s, want %s", want.MediaType, metadata.MediaTypeTarGzip)
	}
	var errs []error
	if usize != strconv.FormatInt(uncompressed, 10) {
		errs = append(errs, fmt.Errorf("estargz: annotation %s is %q, the decompressed blob has %d bytes",
			metadata.AnnotationUncompressedSize, usize, uncompressed))
	}
	r, err := estargz.Open(io.NewSectionReader(bytes.NewReader(raw), 0, int64(len(raw))))
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("estargz: open: %w", err))...)
	}
	if got := r.TOCDigest().String(); got != tocDigest {
		errs = append(errs, fmt.Errorf("estargz: TOC digest is %s, annotation %s says %s",
			got, metadata.AnnotationTOCDigest, tocDigest))
	}
	d, err := digest.Parse(tocDigest)
	if err != nil {
		errs = append(errs, fmt.Errorf("estargz: annotation %s: %w", metadata.AnnotationTOCDigest, err))
	} else if _, err := r.VerifyTOC(d); err != nil {
		errs = append(errs, fmt.Errorf("estargz: verify TOC: %w", err))
	}
	return errors.Join(errs...)
}

// GzipMember is the header of one gzip member of a blob, read from the raw
// bytes (RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS).
type GzipMember struct {
	Offset int64  // where the member starts in the blob
	Flags  byte   // FLG
	MTime  uint32 // MTIME, little-endian
}

// gzip FLG bits that carry host data.
const (
	gzipFlagName    = 0x08
	gzipFlagComment = 0x10
)

// GzipMembers lists the members of a gzip blob, in order. The standard
// library's reader decompresses one member at a time (Multistream off);
// reading from a bytes.Reader, which is an io.ByteReader, it consumes
// exactly one member, so the reader's position is where the next begins.
func GzipMembers(raw []byte) ([]GzipMember, error) {
	r := bytes.NewReader(raw)
	var zr *gzip.Reader
	var out []GzipMember
	for r.Len() > 0 {
		off := int64(len(raw) - r.Len())
		if len(raw)-int(off) < 10 || raw[off] != 0x1f || raw[off+1] != 0x8b {
			return nil, fmt.Errorf("gzip member %d at offset %d: no gzip header", len(out)+1, off)
		}
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(r)
		} else {
			err = zr.Reset(r)
		}
		if err != nil {
			return nil, fmt.Errorf("gzip member %d at offset %d: %w", len(out)+1, off, err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			return nil, fmt.Errorf("gzip member %d at offset %d: %w", len(out)+1, off, err)
		}
		out = append(out, GzipMember{
			Offset: off,
			Flags:  raw[off+3],
			MTime:  uint32(raw[off+4]) | uint32(raw[off+5])<<8 | uint32(raw[off+6])<<16 | uint32(raw[off+7])<<24,
		})
	}
	if len(out) == 0 {
		return nil, errors.New("gzip: empty blob")
	}
	return out, nil
}

// CheckGzipHeaders fails unless every gzip member of the blob at path has
// MTIME 0 and neither a file name nor a comment: headers that a build
// writes must not depend on when or where it ran.
func CheckGzipHeaders(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("blobcheck: %w", err)
	}
	members, err := GzipMembers(raw)
	if err != nil {
		return fmt.Errorf("blobcheck %s: %w", path, err)
	}
	var errs []error
	for i, m := range members {
		if m.MTime != 0 {
			errs = append(errs, fmt.Errorf("blobcheck %s: gzip member %d at offset %d: MTIME is %d, want 0", path, i+1, m.Offset, m.MTime))
		}
		if m.Flags&(gzipFlagName|gzipFlagComment) != 0 {
			errs = append(errs, fmt.Errorf("blobcheck %s: gzip member %d at offset %d: FLG %#02x sets a name or comment", path, i+1, m.Offset, m.Flags))
		}
	}
	return errors.Join(errs...)
}
