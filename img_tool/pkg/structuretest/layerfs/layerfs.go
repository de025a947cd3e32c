// Package layerfs is the file system of an image as its layers' file
// listings (pkg/mtree) describe it: upper layers replace, and their OCI
// whiteouts delete, the entries of lower layers; symlinks are resolved
// inside the image. Nothing of the layers' content is read. A layer
// without a listing makes the paths it might change unknown
// (UnknownError) rather than absent.
package layerfs

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
)

// The whiteout names of the OCI image layer spec.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	// maxSymlinks bounds the symlinks followed while resolving one path,
	// as the kernel's ELOOP does.
	maxSymlinks = 40
)

// Layer is the file listing of one layer, or its absence.
type Layer struct {
	// Name names the layer in messages, e.g. "layer 2 (sha256:ab…, //app:layer)".
	Name string
	// Listed is false when the layer has no listing: its files are unknown.
	Listed   bool
	entries  map[string]mtree.Entry // path -> last entry (not whiteouts)
	whiteout map[string]bool        // paths deleted from lower layers
	opaque   map[string]bool        // directories whose lower contents are hidden
	children map[string][]string    // directory -> names of its entries in this layer
	implicit map[string]bool        // parents of entries: directories that exist in this layer
}

// NewLayer reads a layer's listing.
func NewLayer(name string, listing io.Reader, opts ...mtree.ReadOption) (*Layer, error) {
	l := &Layer{Name: name, Listed: true, entries: map[string]mtree.Entry{}, whiteout: map[string]bool{}, opaque: map[string]bool{}, children: map[string][]string{}, implicit: map[string]bool{}}
	err := mtree.Read(listing, func(e mtree.Entry) error {
		dir, base := path.Split(e.Path)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		for a := dir; a != "." && !l.implicit[a]; a = path.Dir(a) {
			l.implicit[a] = true
			parent := path.Dir(a)
			l.children[parent] = append(l.children[parent], path.Base(a))
		}
		switch {
		case base == opaqueMarker:
			l.opaque[dir] = true
			return nil
		case strings.HasPrefix(base, whiteoutPrefix):
			l.whiteout[path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))] = true
			return nil
		}
		if t, ok := l.entries[e.Link]; ok && e.Hardlink && t.Type == mtree.File {
			// One inode: extraction gives the link its target's attributes.
			e.Mode, e.UID, e.GID, e.Size = t.Mode, t.UID, t.GID, t.Size
		}
		if _, seen := l.entries[e.Path]; !seen && !l.implicit[e.Path] && e.Path != "." {
			l.children[dir] = append(l.children[dir], base)
		}
		l.entries[e.Path] = e
		return nil
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: listing: %w", name, err)
	}
	return l, nil
}

// UnlistedLayer is a layer whose files are unknown (no listing).
func UnlistedLayer(name string) *Layer { return &Layer{Name: name} }

// UnknownError says that a question about the files of an image cannot
// be answered because a layer has no listing.
type UnknownError struct{ Layer string }

func (e *UnknownError) Error() string {
	return fmt.Sprintf("%s has no file listing (a base layer whose bytes were never seen, or a layer described without one), so this cannot be decided", e.Layer)
}

// FS is the merged file system of an image's layers, bottom first.
type FS struct{ layers []*Layer }

// NewFS merges layers, bottom (base) first.
func NewFS(layers []*Layer) *FS { return &FS{layers: layers} }

// decide looks p up in l: found with its entry, deleted (whiteout, an
// opaque or replaced parent), or undecided (look lower). implicit says
// that l has entries below p without listing p itself: p is a directory
// whose attributes come from a lower layer (or are the defaults).
func (l *Layer) decide(p string) (e mtree.Entry, found, deleted, implicit bool) {
	if e, ok := l.entries[p]; ok {
		return e, true, false, false
	}
	if l.implicit[p] {
		return mtree.Entry{}, false, false, true
	}
	if l.whiteout[p] {
		return mtree.Entry{}, false, true, false
	}
	for a := path.Dir(p); ; a = path.Dir(a) {
		if l.whiteout[a] || l.opaque[a] {
			return mtree.Entry{}, false, true, false
		}
		if e, ok := l.entries[a]; ok && e.Type != mtree.Dir {
			return mtree.Entry{}, false, true, false
		}
		if a == "." {
			return mtree.Entry{}, false, false, false
		}
	}
}

// lstat finds the literal path p (clean, relative; "." the root) without
// following symlinks. ok is false when no layer has it.
func (f *FS) lstat(p string) (e mtree.Entry, ok bool, err error) {
	if p == "." {
		return mtree.Entry{Path: ".", Type: mtree.Dir, Mode: 0o755}, true, nil
	}
	// A directory that only holds entries of upper layers has the
	// attributes an extractor gives it (0755, root).
	implicitDir := mtree.Entry{Path: p, Type: mtree.Dir, Mode: 0o755}
	seen := false
	for i := len(f.layers) - 1; i >= 0; i-- {
		l := f.layers[i]
		if !l.Listed {
			if seen {
				return implicitDir, true, nil
			}
			return mtree.Entry{}, false, &UnknownError{Layer: l.Name}
		}
		e, found, deleted, implicit := l.decide(p)
		switch {
		case found && (!seen || e.Type == mtree.Dir):
			return e, true, nil
		case found, deleted:
			return implicitDir, seen, nil
		case implicit:
			seen = true
		}
	}
	return implicitDir, seen, nil
}

// Lstat finds the image path p (absolute or relative to the root), with
// the symlinks of its parent directories followed and the last element
// not followed, as lstat(2) does. ok is false when it does not exist; an
// *UnknownError says that a layer without a listing leaves it open.
func (f *FS) Lstat(p string) (mtree.Entry, bool, error) {
	rest := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	if len(rest) == 1 && rest[0] == "" {
		return f.lstat(".")
	}
	cur := "."
	hops := 0
	for len(rest) > 0 {
		next := path.Join(cur, rest[0])
		rest = rest[1:]
		if len(rest) == 0 {
			return f.lstat(next)
		}
		e, ok, err := f.lstat(next)
		if err != nil || !ok {
			return mtree.Entry{}, false, err
		}
		switch e.Type {
		case mtree.Dir:
			cur = next
		case mtree.Link:
			if hops++; hops > maxSymlinks {
				return mtree.Entry{}, false, fmt.Errorf("/%s: more than %d symlinks", next, maxSymlinks)
			}
			target := e.Link
			if !strings.HasPrefix(target, "/") {
				target = path.Join(cur, target)
			}
			target = strings.Trim(path.Clean("/"+target), "/")
			if target != "" {
				rest = append(strings.Split(target, "/"), rest...)
			}
			cur = "."
		default:
			return mtree.Entry{}, false, nil // not a directory
		}
	}
	return f.lstat(cur)
}

// ReadDir lists the names in directory dir (a resolved, clean relative
// path) over all layers, with whiteouts applied, sorted.
func (f *FS) ReadDir(dir string) ([]string, error) {
	names := map[string]bool{}
	gone := map[string]bool{}
	for i := len(f.layers) - 1; i >= 0; i-- {
		l := f.layers[i]
		if !l.Listed {
			return nil, &UnknownError{Layer: l.Name}
		}
		for _, n := range l.children[dir] {
			if !gone[n] {
				names[n] = true
			}
		}
		for p := range l.whiteout {
			if path.Dir(p) == dir {
				gone[path.Base(p)] = true
			}
		}
		if _, found, deleted, _ := l.decide(dir); deleted || l.opaque[dir] || (found && dir != "." && l.entries[dir].Type != mtree.Dir) {
			break
		}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// FileMode is the entry's mode as Go's io/fs shows it ("-rwxr-xr-x",
// "drwxr-xr-x", "Lrwxrwxrwx", "urwxr-xr-x" for setuid), the form of
// container-structure-test's permissions.
//
// A symlink is always rwxrwxrwx, as Linux shows every symlink, whatever
// mode its tar header gives.
func FileMode(e mtree.Entry) fs.FileMode {
	m := fs.FileMode(e.Mode & 0o777)
	if e.Type == mtree.Link {
		m = 0o777
	}
	switch e.Type {
	case mtree.Dir:
		m |= fs.ModeDir
	case mtree.Link:
		m |= fs.ModeSymlink
	case mtree.Char:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case mtree.Block:
		m |= fs.ModeDevice
	case mtree.Fifo:
		m |= fs.ModeNamedPipe
	case mtree.Socket:
		m |= fs.ModeSocket
	}
	if e.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if e.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if e.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
