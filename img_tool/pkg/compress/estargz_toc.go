package compress

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strconv"

	"github.com/containerd/stargz-snapshotter/estargz"
	digest "github.com/opencontainers/go-digest"
)

// writeTOCAndFooter writes the eStargz table of contents and footer with
// the same bytes as the library's GzipCompressor, without holding the JSON
// of the table in memory: the library marshals all of it at once (and
// indents a second copy), some hundred bytes per file, which dominates the
// memory of a layer of many small files. Here the JSON is encoded one
// entry at a time, twice: once to learn its size and digest (the tar
// header comes first), once to write it.
func writeTOCAndFooter(w io.Writer, off int64, toc *estargz.JTOC, diffHash hash.Hash, level int) (digest.Digest, error) {
	sum := &countingDigest{h: sha256.New()}
	if err := encodeTOC(sum, toc); err != nil {
		return "", fmt.Errorf("estargz table of contents: %w", err)
	}
	// The library's TOC member is written by the standard library's gzip.
	gz, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return "", err
	}
	gw := io.Writer(gz)
	if diffHash != nil {
		gw = io.MultiWriter(gz, diffHash)
	}
	tw := tar.NewWriter(gw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: estargz.TOCTarName, Size: sum.n}); err != nil {
		return "", err
	}
	if err := encodeTOC(tw, toc); err != nil {
		return "", fmt.Errorf("estargz table of contents: %w", err)
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	if _, err := w.Write(estargz.CreateGzipFooter(footerExtra(off))); err != nil {
		return "", err
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(sum.h.Sum(nil))), nil
}

// footerExtra is the gzip extra field of the eStargz footer: subfield "SG"
// holding the offset of the table of contents.
func footerExtra(off int64) []byte {
	sub := fmt.Sprintf("%016xSTARGZ", off)
	extra := []byte{'S', 'G', 0, 0}
	binary.LittleEndian.PutUint16(extra[2:], uint16(len(sub)))
	return append(extra, sub...)
}

// encodeTOC writes json.MarshalIndent(toc, "", "\t"), entry by entry.
// Indenting is lexical, so an entry indented alone with the prefix of its
// depth (two tabs) reads as it does inside the whole document.
func encodeTOC(w io.Writer, toc *estargz.JTOC) error {
	bw := &stickyWriter{w: w}
	bw.str("{\n\t\"version\": " + strconv.Itoa(toc.Version) + ",\n\t\"entries\": ")
	switch {
	case toc.Entries == nil:
		bw.str("null")
	case len(toc.Entries) == 0:
		bw.str("[]")
	default:
		var ind bytes.Buffer
		bw.str("[\n\t\t")
		for i, e := range toc.Entries {
			if i > 0 {
				bw.str(",\n\t\t")
			}
			b, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			ind.Reset()
			if err := json.Indent(&ind, b, "\t\t", "\t"); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			bw.bytes(ind.Bytes())
		}
		bw.str("\n\t]")
	}
	bw.str("\n}")
	return bw.err
}

// stickyWriter keeps the first error and skips writes after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) bytes(p []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
}

func (s *stickyWriter) str(p string) { s.bytes([]byte(p)) }

// countingDigest hashes and counts what is written to it.
type countingDigest struct {
	h hash.Hash
	n int64
}

func (c *countingDigest) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}
