package mtree

import (
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// CopyChecked is tarpolicy.CopyChecked that also lists every member into
// w, from the same parse: src (an uncompressed tar) is copied to dst
// unchanged and checked under the tar policy. With a nil w it is
// tarpolicy.CopyChecked.
func CopyChecked(dst io.Writer, src io.Reader, w *Writer) error {
	if w == nil {
		return tarpolicy.CopyChecked(dst, src)
	}
	sink := &firstErr{w: dst}
	r := tarpolicy.NewReader(io.TeeReader(src, sink))
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
		if err := w.AddHeader(h); err != nil {
			return err
		}
	}
}

// firstErr keeps the first error of w, so that a failure to write is not
// reported as a corrupt input.
type firstErr struct {
	w   io.Writer
	err error
}

func (e *firstErr) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
