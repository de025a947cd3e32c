package layer

import (
	"archive/tar"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// Option configures a Writer made by New.
type Option func(*options) error

type options struct {
	parents bool
	trees   TreeHandling
	limits  tarpolicy.Limits
	listing Lister
}

// Lister receives the header of every entry the writer writes, in the
// order of the tar, right after it was written (mtree.Writer is one). An
// error of AddHeader fails the write of that entry. The writer does not
// close it.
type Lister interface {
	AddHeader(h *tar.Header) error
}

// WithListing passes every written header to l, so that the file listing
// of a layer is made in the pass that writes it. The default is none.
func WithListing(l Lister) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("nil listing: %w", ErrInvalidArgument)
		}
		o.listing = l
		return nil
	}
}

// listHeader gives h to the listing, if there is one.
func (w *Writer) listHeader(h *tar.Header) error {
	if w.opts.listing == nil {
		return nil
	}
	if err := w.opts.listing.AddHeader(h); err != nil {
		return fmt.Errorf("list /%s: %w", h.Name, err)
	}
	return nil
}

// WithZstdMaxWindow sets the largest zstd window an imported tar may
// declare (0: tarpolicy.DefaultZstdMaxWindow).
func WithZstdMaxWindow(n uint64) Option {
	return func(o *options) error {
		o.limits.ZstdMaxWindow = n
		return nil
	}
}

// WithParentDirectories makes the writer add a directory entry for every
// parent directory of an entry that the layer has not listed before it:
// mode ParentMode (0755; 01777 for /tmp, /var/tmp, /dev/shm and
// /run/lock), owner 0:0, mtime 0 (a file_metadata override of that exact
// path applies; the layer-wide defaults do not), each written once, just
// before the first entry below it, never for the root. Parents that the
// layer already holds as a symlink or a file are left alone; a directory
// that the layer lists only after an entry below it is not written again
// (it keeps the parent's header). The default is off: the layer holds only
// the entries it lists, so the directories of lower layers keep their
// modes and owners.
func WithParentDirectories() Option {
	return func(o *options) error {
		o.parents = true
		return nil
	}
}

// TreeHandling says how a directory source (a tree artifact) that is added
// at more than one path of a layer is written.
type TreeHandling string

const (
	// TreesFull writes the tree at every path (its files are stored once
	// anyway, as hardlinks). It is the default.
	TreesFull TreeHandling = "full"
	// TreesDeduplicateSymlink writes the tree in full at the first path
	// and makes each later path a relative symlink to it.
	TreesDeduplicateSymlink TreeHandling = "deduplicate_symlink"
)

// ParseTreeHandling reads a TreeHandling from its name ("full" or
// "deduplicate_symlink").
func ParseTreeHandling(s string) (TreeHandling, error) {
	switch h := TreeHandling(s); h {
	case TreesFull, TreesDeduplicateSymlink:
		return h, nil
	}
	return "", fmt.Errorf("tree artifact handling %q: want %q or %q: %w", s, TreesFull, TreesDeduplicateSymlink, ErrInvalidArgument)
}

// WithTreeHandling selects how repeated directory sources are written.
// Two sources are the same tree when their host paths are equal after
// cleaning. The default is TreesFull.
func WithTreeHandling(h TreeHandling) Option {
	return func(o *options) error {
		if _, err := ParseTreeHandling(string(h)); err != nil {
			return err
		}
		o.trees = h
		return nil
	}
}

// New starts a tar stream on w with the given options. md may be nil. It
// fails only for a bad option, before anything is written.
func New(w io.Writer, md *Metadata, opts ...Option) (*Writer, error) {
	o := options{trees: TreesFull}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	lw := NewWriter(w, md)
	lw.opts = o
	return lw, nil
}
