package layer

import (
	"archive/tar"
	"crypto/sha256"
	"math"
	"strings"
)

// entryRecord is what the writer keeps of each path: enough to tell a
// harmless repeat from a conflict, and for regular files, to deduplicate.
// A layer of many small files holds one per file to its end, so the
// record is kept small (80 bytes): the host path of a file read from a
// tree is not stored but rebuilt from the tree's directory and the tar
// name, and one string serves the host path, the link target and the
// parent-of note, which no entry has two of.
type entryRecord struct {
	path string // name in the tar
	// src is, for a regular file, its host path, read again for a lazy
	// digest ("" for imported entries), or with treeCut > 0 the directory
	// of the tree the file was read from, shared by all the tree's records
	// (see source); for a link, its target; for a directory that the
	// writer added as a parent (WithParentDirectories), the entry it was
	// added for: the layer did not list it.
	src     string
	size    int64
	digest  [sha256.Size]byte
	treeCut int32 // see source
	hashed  bool  // digest is set
	indexed bool  // in the writer's byDigest (see contentTwin)
	typ     byte
}

// source is the host path of a regular file ("" for imported entries and
// other types).
func (r *entryRecord) source() string {
	if r.typ != tar.TypeReg {
		return ""
	}
	if r.treeCut == 0 {
		return r.src
	}
	return r.src + r.path[r.treeCut:]
}

// link is the target of a symlink, hardlink or other non-regular,
// non-directory entry.
func (r *entryRecord) link() string {
	if r.typ == tar.TypeReg || r.typ == tar.TypeDir {
		return ""
	}
	return r.src
}

// parentOf is, for a directory that the writer added as a parent, the
// entry it was added for; otherwise "".
func (r *entryRecord) parentOf() string {
	if r.typ != tar.TypeDir {
		return ""
	}
	return r.src
}

// shareTreeSource makes r keep, instead of its host path src, the host
// directory dir of the tree it was read from, which the tree's tar name
// root stands for, when src is dir followed by the part of r's tar name
// below root (a file reached through an absolute symlink, or on a system
// whose separator is not "/", keeps its full path). dir must be clean.
func (r *entryRecord) shareTreeSource(dir, root string) {
	src := r.src
	if r.typ != tar.TypeReg || r.treeCut != 0 || len(r.path) <= len(root) || len(root) == 0 || len(root) > math.MaxInt32 || !strings.HasPrefix(r.path, root) {
		return
	}
	rel := r.path[len(root):]
	if rel[0] != '/' || !strings.HasPrefix(src, dir) || src[len(dir):] != rel {
		return
	}
	r.src, r.treeCut = dir, int32(len(root))
}
