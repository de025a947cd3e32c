package layer

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// OpenUncompressed wraps r so that it yields the uncompressed tar stream,
// whatever the compression (gzip, zstd or none), judged from magic bytes.
// The returned close function releases decoder resources.
func OpenUncompressed(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return gz, func() { gz.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// ImportTar copies the entries of the tar stream r (compressed or not) into
// the layer, keeping their headers and deduplicating regular files. A tar
// of no entries (only its end-of-archive marker) adds nothing; an input of
// no bytes is an error. name identifies r in errors.
func (w *Writer) ImportTar(name string, r io.Reader) error {
	ur, done, err := OpenUncompressed(r)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	defer done()
	end := &endReader{r: ur}
	tr := tar.NewReader(end)
	count := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			if err := end.check(count); err != nil {
				return fmt.Errorf("import %s: %w", name, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("import %s: entry %d: corrupt tar: %w", name, count+1, err)
		}
		count++
		if err := w.importEntry(h, tr); err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
	}
}

func (w *Writer) importEntry(h *tar.Header, r io.Reader) error {
	clean, err := CleanPath(h.Name)
	if err != nil {
		return err
	}
	h.Name = clean
	h.Format = tar.FormatUnknown
	delete(h.PAXRecords, "path")
	delete(h.PAXRecords, "linkpath")
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		h.Typeflag = tar.TypeReg
		if prev, ok := w.paths[clean]; ok && prev.typ == tar.TypeReg {
			return w.importDuplicate(clean, h, r, prev)
		}
		if skip, err := w.claim(clean, "", tar.TypeReg, ""); err != nil || skip {
			return err
		}
		w.md.apply(h)
		rec := w.paths[clean]
		rec.size = h.Size
		return w.writeContent(h, rec, r)
	case tar.TypeDir:
		if skip, err := w.claim(clean, "", tar.TypeDir, ""); err != nil || skip {
			return err
		}
		h.Name = clean + "/"
	case tar.TypeSymlink:
		if skip, err := w.claim(clean, "", tar.TypeSymlink, h.Linkname); err != nil || skip {
			return err
		}
	case tar.TypeLink:
		target, err := CleanPath(h.Linkname)
		if err != nil {
			return fmt.Errorf("hardlink /%s: %w", clean, err)
		}
		if _, ok := w.paths[target]; !ok {
			return fmt.Errorf("hardlink /%s points to /%s, which is not earlier in the tar: %w", clean, target, ErrInvalidArgument)
		}
		if skip, err := w.claim(clean, "", tar.TypeLink, target); err != nil || skip {
			return err
		}
		h.Linkname = target
	default:
		if skip, err := w.claim(clean, "", h.Typeflag, h.Linkname); err != nil || skip {
			return err
		}
	}
	w.md.apply(h)
	return w.writeHeader(h)
}

// importDuplicate handles an imported regular file whose path is taken by
// an earlier regular file: it is dropped if the contents are equal and is an
// error otherwise. (claim cannot decide: imported entries have no source to
// compare, so it would take any two of them for the same.)
func (w *Writer) importDuplicate(name string, h *tar.Header, r io.Reader, prev *entryRecord) error {
	if prev.size == h.Size {
		s := sha256.New()
		if _, err := io.Copy(s, io.LimitReader(r, h.Size)); err != nil {
			return fmt.Errorf("read /%s: %w", name, err)
		}
		pd, err := prev.lazyDigest()
		if err != nil {
			return err
		}
		if [sha256.Size]byte(s.Sum(nil)) == pd {
			return nil
		}
	}
	return fmt.Errorf("path /%s is added twice with different content: from %s and from %s: %w",
		name, describe(prev.source, prev.typ, prev.link), describe("", tar.TypeReg, ""), ErrInvalidArgument)
}

// endReader counts the zero bytes at the end of what it has passed on.
// archive/tar reports io.EOF also for a stream that is cut at an entry
// boundary (or in the padding after an entry); only a stream that ends
// with at least one zero block (the end-of-archive marker) is complete.
type endReader struct {
	r     io.Reader
	zeros int64
}

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	i := n - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 {
		e.zeros += int64(n)
	} else {
		e.zeros = int64(n - 1 - i)
	}
	return n, err
}

// marker reports whether the stream so far ends with a zero block.
func (e *endReader) marker() bool { return e.zeros >= 512 }

// check judges a stream in which archive/tar found count entries and then
// io.EOF. A tar of no entries is valid: it is only the end-of-archive
// marker (GNU tar writes an empty archive as 10240 zero bytes, two zero
// blocks and the rest of its record). An input of no bytes, or one that
// stops before a marker, is not a tar.
func (e *endReader) check(count int) error {
	switch {
	case e.marker():
		return nil
	case count == 0:
		return fmt.Errorf("no tar entries and no end-of-archive marker (an empty file is not a tar; an empty archive is zero blocks): %w", ErrInvalidArgument)
	}
	return fmt.Errorf("tar ends after entry %d without an end-of-archive marker (truncated): %w", count, io.ErrUnexpectedEOF)
}

// CopyChecked copies the uncompressed tar stream src to dst unchanged while
// parsing it on the side, and fails if it is not a well-formed tar that
// ends with an end-of-archive marker. A tar of no entries (only the
// marker) is well-formed.
func CopyChecked(dst io.Writer, src io.Reader) error {
	pr, pw := io.Pipe()
	parsed := make(chan error, 1)
	go func() {
		end := &endReader{r: pr}
		tr := tar.NewReader(end)
		n := 0
		var err error
		for {
			_, err = tr.Next()
			if err != nil {
				break
			}
			n++
		}
		if err == io.EOF {
			err = end.check(n)
		} else {
			err = fmt.Errorf("corrupt tar at entry %d: %w", n+1, err)
		}
		io.Copy(io.Discard, pr) // the padding after the end marker
		parsed <- err
	}()
	_, copyErr := io.Copy(io.MultiWriter(dst, pw), src)
	pw.CloseWithError(copyErr)
	if err := <-parsed; err != nil {
		return err
	}
	return copyErr
}
