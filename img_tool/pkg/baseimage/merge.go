package baseimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

// Merge merges fragments in order into one list of entries, sorted so that
// every directory comes before what it holds (by path, element by element).
//
// For a path that several fragments describe, the last one wins. Two
// entries of one path with different types (a directory where an earlier
// fragment put a symlink) are an error naming both producers, and so is an
// entry below a path that another entry makes a file or a symlink: neither
// would give a usable image. Parent directories that no fragment
// describes are added (owner 0:0, mode 0755, or 1777 for /tmp, /var/tmp,
// /dev/shm and /run/lock).
func Merge(frags []*Fragment) ([]Entry, error) {
	byPath := map[string]Entry{}
	for _, f := range frags {
		for _, e := range f.Entries {
			if prev, ok := byPath[e.Path]; ok && prev.Type != e.Type {
				return nil, fmt.Errorf("conflicting base image content for /%s: %s describes it as a %s, %s as a %s: %w",
					e.Path, prev.Producer, prev.Type, e.Producer, e.Type, ErrInvalidArgument)
			}
			byPath[e.Path] = e
		}
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	// Sorted first, so that an error names the same entry on every run.
	slices.SortFunc(out, func(a, b Entry) int { return comparePaths(a.Path, b.Path) })
	for _, e := range out {
		for dir := parent(e.Path); dir != ""; dir = parent(dir) {
			if d, ok := byPath[dir]; ok && d.Type != TypeDir {
				return nil, fmt.Errorf("%s places /%s underneath /%s, which %s describes as a %s rather than a directory: %w",
					e.Producer, e.Path, dir, d.Producer, d.Type, ErrInvalidArgument)
			}
		}
	}
	// Parent directories that no fragment describes: root-owned, 0755
	// (1777 for the shared scratch directories), so the layer stands alone.
	for _, e := range out {
		for dir := parent(e.Path); dir != ""; dir = parent(dir) {
			if _, ok := byPath[dir]; ok {
				break
			}
			d := Dir(dir, layer.ParentMode(dir))
			d.Producer = e.Producer
			byPath[dir] = d
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return comparePaths(a.Path, b.Path) })
	return out, nil
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// comparePaths orders paths element by element, so "etc" < "etc/passwd" <
// "etc-x" (plain string order would put "etc-x" between the first two).
func comparePaths(a, b string) int {
	for {
		ea, ra, _ := strings.Cut(a, "/")
		eb, rb, _ := strings.Cut(b, "/")
		if c := strings.Compare(ea, eb); c != 0 {
			return c
		}
		switch {
		case ra == "" && rb == "":
			return 0
		case ra == "":
			return -1
		case rb == "":
			return 1
		}
		a, b = ra, rb
	}
}

// maxSourceSize bounds one file read from a source: the tar header is
// written before its content, so the size must not change while reading.
const maxSourceSize = 8 << 30

// WriteTar writes entries as an uncompressed tar stream: PAX headers where
// needed, every mtime set to mtime, no host metadata. Equal entries give
// equal bytes.
func WriteTar(w io.Writer, entries []Entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := writeEntry(tw, e, mtime); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, e Entry, mtime time.Time) error {
	h := &tar.Header{
		Name:    e.Path,
		Mode:    e.Mode,
		Uid:     e.UID,
		Gid:     e.GID,
		Uname:   e.Uname,
		Gname:   e.Gname,
		ModTime: mtime,
		Format:  tar.FormatPAX,
	}
	var body io.Reader
	switch e.Type {
	case TypeDir:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case TypeSymlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.Link
	case TypeFile:
		h.Typeflag = tar.TypeReg
		if e.Source == "" {
			h.Size = int64(len(e.Content))
			body = bytes.NewReader(e.Content)
			break
		}
		f, err := os.Open(e.Source)
		if err != nil {
			return fmt.Errorf("/%s (from %s): %w", e.Path, e.Producer, err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("/%s (from %s): %w", e.Path, e.Producer, err)
		}
		if !fi.Mode().IsRegular() || fi.Size() > maxSourceSize {
			return fmt.Errorf("/%s (from %s): %s is not a regular file of at most %d bytes: %w", e.Path, e.Producer, e.Source, int64(maxSourceSize), ErrInvalidArgument)
		}
		h.Size = fi.Size()
		body = f
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("/%s: %w", e.Path, err)
	}
	if body == nil {
		return nil
	}
	n, err := io.Copy(tw, io.LimitReader(body, h.Size))
	if err != nil {
		return fmt.Errorf("/%s: %w", e.Path, err)
	}
	if n != h.Size {
		return fmt.Errorf("/%s: %s changed size while read (%d of %d bytes): %w", e.Path, e.Source, n, h.Size, ErrInvalidArgument)
	}
	return nil
}
