package layer

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// OpenUncompressed wraps r so that it yields the uncompressed tar stream,
// whatever the compression (gzip, zstd or none), judged from magic bytes,
// with the default limits of tarpolicy.Open. The returned close function
// releases decoder resources.
func OpenUncompressed(r io.Reader) (io.Reader, func(), error) {
	return tarpolicy.Open(r, tarpolicy.Limits{})
}

// ImportTar copies the entries of the tar stream r (compressed or not) into
// the layer, keeping their headers and deduplicating regular files. Member
// names are cleaned and checked by tarpolicy; the root entry ("./") is
// dropped. A tar of no entries (only its end-of-archive marker) adds
// nothing; an input of no bytes is an error. The input is read to its end,
// so compression trailers are verified. name identifies r in errors.
func (w *Writer) ImportTar(name string, r io.Reader) error {
	ur, done, err := tarpolicy.Open(r, w.opts.limits)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	defer done()
	tr := tarpolicy.NewReader(ur)
	tr.EarlierFile = func(p string) bool {
		rec, ok := w.paths[p]
		return ok && (rec.typ == tar.TypeReg || rec.typ == tar.TypeLink)
	}
	for {
		h, m, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
		if m.Name == tarpolicy.Root {
			continue
		}
		if err := w.importEntry(h, m, tr); err != nil {
			return fmt.Errorf("import %s: %w", name, err)
		}
	}
}

// maxSparseSize bounds the size of an imported sparse file, whose holes
// become zeros in the layer.
const maxSparseSize = 1 << 30

func (w *Writer) importEntry(h *tar.Header, m tarpolicy.Member, r io.Reader) error {
	clean := m.Name
	h.Name = clean
	h.Format = tar.FormatUnknown
	delete(h.PAXRecords, "path")
	delete(h.PAXRecords, "linkpath")
	sparse := false
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			sparse = true
			delete(h.PAXRecords, k) // the content is read with its holes filled
		}
	}
	if sparse && h.Size > maxSparseSize {
		// A few bytes of sparse map can declare terabytes of holes, which the
		// layer would store as zeros.
		return fmt.Errorf("import /%s: sparse file of %d bytes: layers store sparse files whole, and at most %d bytes of one: %w", clean, h.Size, int64(maxSparseSize), ErrInvalidArgument)
	}
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
		target := m.Link
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
		name, describe(prev.source(), prev.typ, prev.link()), describe("", tar.TypeReg, ""), ErrInvalidArgument)
}

// CopyChecked copies the uncompressed tar stream src to dst unchanged while
// checking it under tarpolicy (see tarpolicy.CopyChecked).
func CopyChecked(dst io.Writer, src io.Reader) error {
	return tarpolicy.CopyChecked(dst, src)
}
