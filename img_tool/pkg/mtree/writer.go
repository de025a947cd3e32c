package mtree

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

// Header is the first line of every listing.
const Header = "#mtree"

// Writer writes a listing to an io.Writer.
//
// Lines appear in the order of Add and AddHeader; equal inputs give equal
// bytes. The "#mtree" line is written by NewWriter's first flush, so a
// listing of no entries is that line alone. After the first error every
// call returns it. Close flushes; it does not close the underlying writer.
type Writer struct {
	bw    *bufio.Writer
	sizes map[string]int64 // regular files seen so far: hardlink sizes
	err   error
}

// NewWriter starts a listing on w.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	_, err := bw.WriteString(Header + "\n")
	return &Writer{bw: bw, sizes: map[string]int64{}, err: err}
}

// Add writes one entry. A hardlink whose Size is 0 gets the size of the
// regular file it links to when that file was added before.
func (w *Writer) Add(e Entry) error {
	if w.err != nil {
		return w.err
	}
	if !e.Type.valid() {
		w.err = fmt.Errorf("entry /%s: type %q: %w", e.Path, e.Type, ErrInvalid)
		return w.err
	}
	if e.Type == File {
		if e.Hardlink && e.Size == 0 {
			e.Size = w.sizes[e.Link]
		}
		w.sizes[e.Path] = e.Size
	} else {
		delete(w.sizes, e.Path)
	}
	if _, err := w.bw.WriteString(e.Line() + "\n"); err != nil {
		w.err = fmt.Errorf("write listing: %w", err)
	}
	return w.err
}

// AddHeader lists a tar member (see FromHeader); members that are not
// files of the image are skipped.
func (w *Writer) AddHeader(h *tar.Header) error {
	if w.err != nil {
		return w.err
	}
	e, ok, err := FromHeader(h)
	if err != nil {
		w.err = fmt.Errorf("list %q: %w", h.Name, err)
		return w.err
	}
	if !ok {
		return nil
	}
	return w.Add(e)
}

// Close flushes the listing.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("write listing: %w", err)
	}
	return w.err
}

// OutFile is a listing being written to a file; it appears at its path only
// on Commit.
type OutFile struct {
	*Writer
	out *atomicfile.File
}

// Create starts a listing file at path.
func Create(path string) (*OutFile, error) {
	out, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", path, err)
	}
	return &OutFile{Writer: NewWriter(out), out: out}, nil
}

// Commit flushes the listing and renames it into place. After an error no
// file is left at the path.
func (f *OutFile) Commit() error {
	if err := f.Writer.Close(); err != nil {
		f.out.Abort()
		return fmt.Errorf("listing %s: %w", f.out.Path(), err)
	}
	if err := f.out.Commit(); err != nil {
		return fmt.Errorf("listing %s: %w", f.out.Path(), err)
	}
	return nil
}

// Abort drops the listing; a no-op after Commit.
func (f *OutFile) Abort() { f.out.Abort() }

// TarTee lists a tar stream that passes through it: Write takes the
// uncompressed tar bytes (as an io.MultiWriter branch beside the real
// consumer), a goroutine parses them, and Close waits for the end of the
// listing. Close must be called once the stream ends (or fails), also
// after an error of Write; it returns the first error of the parse or the
// listing. Write never blocks on a failed parse: the rest is discarded.
type TarTee struct {
	pw   *io.PipeWriter
	done chan error
}

// NewTarTee starts listing a tar stream into w.
func NewTarTee(w *Writer) *TarTee {
	pr, pw := io.Pipe()
	t := &TarTee{pw: pw, done: make(chan error, 1)}
	go func() {
		err := listTar(pr, w)
		// Keep reading so that writers never block on a failed parse.
		_, _ = io.Copy(io.Discard, pr)
		t.done <- err
	}()
	return t
}

func listTar(r io.Reader, w *Writer) error {
	tr := tar.NewReader(r)
	for n := 1; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list tar entry %d: %w", n, err)
		}
		if err := w.AddHeader(h); err != nil {
			return err
		}
	}
}

// Write passes p to the parser.
func (t *TarTee) Write(p []byte) (int, error) { return t.pw.Write(p) }

// Close ends the stream and returns the parse's error, if any.
func (t *TarTee) Close() error {
	_ = t.pw.Close()
	return <-t.done
}
