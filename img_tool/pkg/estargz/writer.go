// Package estargz writes eStargz layer blobs: a gzip-compressed tar in
// which every regular file's data starts a gzip member of its own (a new
// member every chunk of a large file), followed by a member holding the
// table of contents (stargz.index.json) and a footer pointing at it, so
// that a reader can fetch single files by range.
//
// The blobs have the bytes of the containerd stargz-snapshotter writer
// (AppendTar, then Close) with its default chunk size and a gzip
// compressor whose file members come from klauspost's gzip with MTIME 0:
// the same member boundaries and sync flushes, tar headers, table of
// contents JSON, digests and footer. Memory does not grow with the number
// of files: the table of contents goes to a temporary file as it is
// written, one entry at a time, and only the chunk entries of the file
// being written are held until its digest is known.
package estargz

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"
)

// DefaultChunkSize is the largest amount of a file's data one gzip member
// holds unless WithChunkSize says otherwise.
const DefaultChunkSize = 4 << 20

type options struct {
	level     int
	chunkSize int
	tempDir   string
}

// Option configures a Writer.
type Option func(*options) error

// WithLevel sets the gzip compression level (gzip.HuffmanOnly to
// gzip.BestCompression). The default is gzip.DefaultCompression.
func WithLevel(level int) Option {
	return func(o *options) error {
		if level < gzip.HuffmanOnly || level > gzip.BestCompression {
			return fmt.Errorf("estargz: gzip level %d out of range [%d, %d]", level, gzip.HuffmanOnly, gzip.BestCompression)
		}
		o.level = level
		return nil
	}
}

// WithChunkSize sets the largest number of bytes of a file's data in one
// gzip member. The default is DefaultChunkSize.
func WithChunkSize(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("estargz: chunk size %d is not positive", n)
		}
		o.chunkSize = n
		return nil
	}
}

// WithTempDir sets the directory of the temporary file the table of
// contents is collected in once it outgrows 1 MiB. The default is
// os.TempDir().
func WithTempDir(dir string) Option {
	return func(o *options) error {
		o.tempDir = dir
		return nil
	}
}

// Result describes a finished blob.
type Result struct {
	TOCDigest        ocispec.Digest // of the table of contents JSON
	DiffID           ocispec.Digest // of the uncompressed tar, table of contents included
	UncompressedSize int64          // size of that tar
	Size             int64          // size of the blob
}

// Writer writes one eStargz blob.
//
// AppendTar adds the entries of uncompressed tar streams, in order; Close
// writes the table of contents and the footer. Writing to dst is
// buffered: the blob is complete in dst only after Close returns nil.
// After any error every later call fails with it. Close must always be
// called (it removes the temporary file); it may be called again.
// A Writer is not safe for concurrent use.
type Writer struct {
	o   options
	m   *members
	toc *toc
	err error

	closed bool
	res    Result

	// The last user and group name written for each id: a name is
	// written only when it differs from the last one for its id.
	unames, gnames map[int]string

	chunks     []byte // JSON of the chunk entries of the current file
	chunkCount int64
	ent        entry
	buf        []byte
}

// NewWriter starts a blob written to dst.
func NewWriter(dst io.Writer, opts ...Option) (*Writer, error) {
	o := options{level: gzip.DefaultCompression, chunkSize: DefaultChunkSize}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Writer{
		o:      o,
		m:      newMembers(dst, o.level),
		toc:    newTOC(o.tempDir),
		unames: map[int]string{},
		gnames: map[int]string{},
		buf:    make([]byte, 32<<10),
	}, nil
}

// AppendTar adds every entry of the uncompressed tar stream r, rewriting
// its headers with archive/tar; an entry named TOCTarName is dropped.
// Regular files, directories, symlinks, hard links, devices and FIFOs
// are accepted, other types are an error. What follows the end of the
// archive is read and dropped. A gzip-compressed r is an error.
func (w *Writer) AppendTar(r io.Reader) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("estargz: append to a closed writer")
	}
	if err := w.appendTar(r); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Close writes the table of contents and the footer, flushes dst's
// buffer and removes the temporary file.
func (w *Writer) Close() (Result, error) {
	if w.closed {
		return w.res, w.err
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.finish()
	}
	if cerr := w.toc.close(); err == nil && cerr != nil {
		err = fmt.Errorf("estargz: %w", cerr)
	}
	if err != nil {
		w.err = err
		return Result{}, err
	}
	return w.res, nil
}

func (w *Writer) finish() error {
	if err := w.m.closeMember(); err != nil {
		return fmt.Errorf("estargz: %w", err)
	}
	tocOffset := w.m.offset()
	size, tocDigest, err := w.toc.finish()
	if err != nil {
		return fmt.Errorf("estargz: %w", err)
	}
	if err := writeTOCMember(w.m, w.toc, size); err != nil {
		return fmt.Errorf("estargz: table of contents: %w", err)
	}
	if _, err := w.m.out.Write(footer(tocOffset)); err != nil {
		return fmt.Errorf("estargz: %w", err)
	}
	if err := w.m.out.Flush(); err != nil {
		return fmt.Errorf("estargz: %w", err)
	}
	w.res = Result{
		TOCDigest:        tocDigest,
		DiffID:           ocispec.NewDigest(ocispec.SHA256, w.m.diff),
		UncompressedSize: w.m.raw,
		Size:             w.m.off,
	}
	return nil
}

func (w *Writer) appendTar(r io.Reader) error {
	var magic [3]byte
	n, err := io.ReadFull(r, magic[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("estargz: read tar: %w", err)
	}
	if n == 3 && magic == [3]byte{0x1f, 0x8b, 8} {
		return errors.New("estargz: the input is gzip-compressed; want an uncompressed tar")
	}
	r = io.MultiReader(strings.NewReader(string(magic[:n])), r)
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w.m)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("estargz: read tar: %w", err)
		}
		if strings.TrimPrefix(path.Clean("/"+h.Name), "/") == TOCTarName {
			continue
		}
		if err := w.appendEntry(tr, tw, h); err != nil {
			return fmt.Errorf("estargz: %s: %w", h.Name, err)
		}
	}
	if _, err := io.CopyBuffer(io.Discard, r, w.buf); err != nil {
		return fmt.Errorf("estargz: read tar: %w", err)
	}
	return nil
}

func (w *Writer) appendEntry(tr *tar.Reader, tw *tar.Writer, h *tar.Header) error {
	w.chunks, w.chunkCount = w.chunks[:0], 0
	e := &w.ent
	*e = entry{
		name:    h.Name,
		mode:    h.Mode,
		uid:     h.Uid,
		gid:     h.Gid,
		uname:   nameIfChanged(w.unames, h.Uid, h.Uname),
		gname:   nameIfChanged(w.gnames, h.Gid, h.Gname),
		modTime: formatModTime(h.ModTime),
		xattrs:  xattrs(h.PAXRecords),
	}
	if err := w.m.openMember(); err != nil {
		return err
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeLink:
		e.typ, e.linkName = "hardlink", h.Linkname
	case tar.TypeSymlink:
		e.typ, e.linkName = "symlink", h.Linkname
	case tar.TypeDir:
		e.typ = "dir"
	case tar.TypeReg:
		e.typ, e.size = "reg", h.Size
	case tar.TypeChar:
		e.typ, e.devMajor, e.devMinor = "char", int(h.Devmajor), int(h.Devminor)
	case tar.TypeBlock:
		e.typ, e.devMajor, e.devMinor = "block", int(h.Devmajor), int(h.Devminor)
	case tar.TypeFifo:
		e.typ = "fifo"
	default:
		return fmt.Errorf("unsupported tar entry type %q", h.Typeflag)
	}
	if h.Typeflag == tar.TypeReg {
		if err := w.copyChunks(tr, tw, e); err != nil {
			return err
		}
	}
	if err := w.toc.add(e); err != nil {
		return err
	}
	if err := w.toc.addJSON(w.chunks, w.chunkCount); err != nil {
		return err
	}
	return tw.Flush() // the padding ends in the member of the file's last chunk
}

// copyChunks copies a regular file's data, each chunk into a gzip member
// of its own, and fills in e's digest and first chunk. The entries of
// the other chunks wait in w.chunks until e has been written.
func (w *Writer) copyChunks(tr *tar.Reader, tw *tar.Writer, e *entry) error {
	if e.size == 0 {
		e.digest = ocispec.FromBytes(nil).String()
		return nil
	}
	size := e.size
	chunkSize := int64(w.o.chunkSize)
	// A file of one chunk has the chunk's digest; only a larger one needs
	// a digest of its own.
	var file hash.Hash
	if size > chunkSize {
		file = sha256.New()
	}
	var c entry
	for written := int64(0); written < size; {
		ce := e
		if written > 0 {
			c = entry{name: e.name, typ: "chunk"}
			ce = &c
		}
		n := min(chunkSize, size-written)
		if n == chunkSize {
			ce.chunkSize = n
		}
		off, err := w.m.startChunk()
		if err != nil {
			return err
		}
		ce.offset, ce.chunkOffset = off, written
		chunk := sha256.New()
		var src io.Reader = io.TeeReader(tr, chunk)
		if file != nil {
			src = io.TeeReader(src, file)
		}
		if err := w.m.openMember(); err != nil {
			return err
		}
		// Through w.buf: tar.Writer's ReadFrom would allocate a buffer
		// per file.
		if _, err := io.CopyBuffer(struct{ io.Writer }{tw}, io.LimitReader(src, n), w.buf); err != nil {
			return err
		}
		ce.chunkDigest = ocispec.NewDigest(ocispec.SHA256, chunk).String()
		written += n
		if ce != e {
			if w.chunkCount > 0 { // addJSON writes the first separator
				w.chunks = append(w.chunks, tocSep...)
			}
			w.chunks = c.appendJSON(w.chunks)
			w.chunkCount++
		}
	}
	if file != nil {
		e.digest = ocispec.NewDigest(ocispec.SHA256, file).String()
	} else {
		e.digest = e.chunkDigest
	}
	return nil
}

func nameIfChanged(last map[int]string, id int, name string) string {
	if name == "" || last[id] == name {
		return ""
	}
	last[id] = name
	return name
}

// formatModTime is the modtime of an entry: RFC 3339 in UTC rounded to
// the second, or nothing for the zero time and the epoch.
func formatModTime(t time.Time) string {
	if t.IsZero() || t.Unix() == 0 {
		return ""
	}
	return t.UTC().Round(time.Second).Format(time.RFC3339)
}

// xattrs are the extended attributes among PAX records.
func xattrs(pax map[string]string) map[string]string {
	const prefix = "SCHILY.xattr."
	var x map[string]string
	for k, v := range pax {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			if x == nil {
				x = map[string]string{}
			}
			x[name] = v
		}
	}
	return x
}
