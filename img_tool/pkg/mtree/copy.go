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
	return tarpolicy.CopyCheckedEach(dst, src, w.AddHeader)
}
