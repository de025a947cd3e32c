package tarpolicy

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
)

// EndReader counts the zero bytes at the end of what it has passed on.
// archive/tar reports io.EOF also for a stream that is cut at an entry
// boundary (or in the padding after an entry); only a stream that ends
// with at least one zero block (the end-of-archive marker) is complete.
type EndReader struct {
	R     io.Reader
	zeros int64
}

func (e *EndReader) Read(p []byte) (int, error) {
	n, err := e.R.Read(p)
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

// Check judges a stream in which archive/tar found count entries and then
// io.EOF. A tar of no entries is valid: it is only the end-of-archive
// marker (GNU tar writes an empty archive as 10240 zero bytes, two zero
// blocks and the rest of its record). An input of no bytes, or one that
// stops before a marker, is not a tar.
func (e *EndReader) Check(count int) error {
	switch {
	case e.zeros >= 512:
		return nil
	case count == 0:
		return fmt.Errorf("no tar entries and no end-of-archive marker (an empty file is not a tar; an empty archive is zero blocks): %w", ErrInvalidArgument)
	}
	return fmt.Errorf("tar ends after entry %d without an end-of-archive marker (truncated): %w", count, io.ErrUnexpectedEOF)
}

// Reader reads the members of one tar under the policy. Next returns the
// next member's header with its checked names, and io.EOF after a complete
// tar; after io.EOF the rest of the input (padding, trailers) has been
// read, so a compressed stream's trailer is verified.
type Reader struct {
	Checker
	end   *EndReader
	src   io.Reader
	tr    *tar.Reader
	count int
}

// NewReader starts reading the uncompressed tar stream r.
func NewReader(r io.Reader) *Reader {
	end := &EndReader{R: r}
	return &Reader{end: end, src: r, tr: tar.NewReader(end)}
}

// Next advances to the next member; the content of the previous one that
// was not read is skipped (sparse holes are not expanded).
func (r *Reader) Next() (*tar.Header, Member, error) {
	h, err := r.tr.Next()
	if err == io.EOF {
		if err := r.end.Check(r.count); err != nil {
			return nil, Member{}, err
		}
		if err := Drain(r.src); err != nil {
			return nil, Member{}, err
		}
		return nil, Member{}, io.EOF
	}
	var se *StreamError
	switch {
	case errors.As(err, &se):
		return nil, Member{}, fmt.Errorf("reading entry %d: %w", r.count+1, err)
	case err != nil:
		return nil, Member{}, fmt.Errorf("corrupt tar at entry %d: %w", r.count+1, err)
	}
	r.count++
	m, err := r.Check(h)
	if err != nil {
		return nil, Member{}, err
	}
	return h, m, nil
}

// Read reads the content of the current member.
func (r *Reader) Read(p []byte) (int, error) { return r.tr.Read(p) }

// Count is the number of members read so far.
func (r *Reader) Count() int { return r.count }

// CopyChecked copies the uncompressed tar stream src to dst unchanged
// while checking it under the policy, and fails if it is not a
// well-formed tar that ends with an end-of-archive marker or a member is
// rejected. Bytes reach dst only after the parser read them, so an error
// about a member comes before anything after it reaches dst. A tar of no
// entries (only the marker) is well-formed. Everything after the marker
// (padding) is copied too, and src is read to io.EOF.
func CopyChecked(dst io.Writer, src io.Reader) error {
	return CopyCheckedEach(dst, src, nil)
}

// CopyCheckedEach is CopyChecked that also passes every accepted member's
// header to each (nil: none), in tar order, from the same parse; an error
// of each ends the copy with that error.
func CopyCheckedEach(dst io.Writer, src io.Reader, each func(*tar.Header) error) error {
	sink := &errWriter{w: dst}
	r := NewReader(io.TeeReader(src, sink))
	for {
		h, _, err := r.Next()
		if sink.err != nil {
			return sink.err
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if each != nil {
			if err := each(h); err != nil {
				return err
			}
		}
	}
}

// errWriter keeps the first error of w, so that a failure to write is not
// reported as a corrupt input.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
