package layer

import (
	"archive/tar"
	"bufio"
	"bytes"
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
// the layer, keeping their headers and deduplicating regular files. name
// identifies r in errors.
func (w *Writer) ImportTar(name string, r io.Reader) error {
	ur, done, err := OpenUncompressed(r)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	defer done()
	tr := tar.NewReader(ur)
	count := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			if count == 0 {
				return fmt.Errorf("import %s: no tar entries (empty or not a tar file): %w", name, ErrInvalidArgument)
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
		if skip, err := w.claim(clean, "", tar.TypeReg, ""); err != nil || skip {
			return err
		}
		w.md.apply(h)
		rec := &fileRecord{path: clean, size: h.Size}
		w.paths[clean].file = rec
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

// CopyChecked copies the uncompressed tar stream src to dst unchanged while
// parsing it on the side, and fails if it is not a well-formed tar with at
// least one entry.
func CopyChecked(dst io.Writer, src io.Reader) error {
	pr, pw := io.Pipe()
	parsed := make(chan error, 1)
	go func() {
		tr := tar.NewReader(pr)
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
			err = nil
			if n == 0 {
				err = fmt.Errorf("no tar entries (empty or not a tar file): %w", ErrInvalidArgument)
			}
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
