// Package tarpolicy is the one policy by which the img tools read tars: how
// member names are cleaned, which members are rejected, how compressed
// streams are opened (with a bounded zstd window, trailers verified), and
// how a tar is copied unchanged while it is checked.
//
// Member names are cleaned with path.Clean; a leading "/" or "./" is
// dropped, so "/a", "./a" and "a" name the same member, and "." or "./" is
// the root, which carries nothing a layer can use. A name with a ".."
// element is rejected. No member may sit below a regular file, a device
// or a symlink of the same tar, and a hardlink must name an earlier regular
// file. Character and block devices and fifos are accepted as plain
// entries. Sparse files in PAX format are read through archive/tar (holes
// become zeros when the content is read); old GNU sparse members (type
// 'S') and all other member types are rejected by name.
package tarpolicy

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrInvalidArgument marks a member (or stream) that the policy rejects.
var ErrInvalidArgument = errors.New("invalid argument")

// MaxNameLength bounds a member name (after PAX or GNU long-name
// records); far beyond PATH_MAX, it keeps the parent checks linear.
const MaxNameLength = 32 << 10

// Root is what Clean returns for the root directory ("." or "./").
const Root = "."

// Clean turns a member name into a relative tar name without "." elements
// or a trailing slash. The root ("./", ".", "/") is Root. A name with a
// ".." element, an empty name and a name over MaxNameLength are errors.
func Clean(name string) (string, error) {
	if len(name) > MaxNameLength {
		return "", fmt.Errorf("member %s: name of %d bytes (more than %d): %w", Quote(name), len(name), MaxNameLength, ErrInvalidArgument)
	}
	if name == "" {
		return "", fmt.Errorf("member with an empty name: %w", ErrInvalidArgument)
	}
	trimmed := strings.TrimLeft(name, "/")
	for el := range strings.SplitSeq(trimmed, "/") {
		if el == ".." {
			return "", fmt.Errorf("member %s escapes the root (a %q element): %w", Quote(name), "..", ErrInvalidArgument)
		}
	}
	if trimmed == "" {
		return Root, nil
	}
	return path.Clean(trimmed), nil
}

// Quote quotes a member name for an error message, shortened if long.
func Quote(name string) string {
	if len(name) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", name[:200], len(name))
	}
	return fmt.Sprintf("%q", name)
}

type kind byte

const (
	kindFile    kind = 'f' // a regular file, or a hardlink to one
	kindSymlink kind = 'l'
	kindOther   kind = 'o' // a device or fifo
)

// Member is a checked member: its clean name (Root for the root
// directory) and, for a hardlink, the clean name of its target.
type Member struct {
	Name string
	Link string
}

// Checker checks the members of one tar in order. The zero value is
// ready to use.
type Checker struct {
	// EarlierFile, when set, reports whether a clean name that is not a
	// member of this tar is a regular file written before it (into the
	// same layer), so that a hardlink may name it.
	EarlierFile func(name string) bool

	kinds map[string]kind  // members that are not directories
	lens  map[int]struct{} // lengths of the keys of kinds
}

// Check judges the next member h and returns its clean names. The error
// names the member. h is not changed.
func (c *Checker) Check(h *tar.Header) (Member, error) {
	name, err := Clean(h.Name)
	if err != nil {
		return Member{}, err
	}
	m := Member{Name: name}
	var k kind
	switch h.Typeflag {
	case tar.TypeDir:
	case tar.TypeReg, tar.TypeRegA:
		k = kindFile
	case tar.TypeGNUSparse:
		return Member{}, fmt.Errorf("member %s is an old GNU sparse file (type 'S'), which eStargz and other readers cannot take: write the tar in PAX format (tar --format=posix) or without --sparse: %w", Quote(h.Name), ErrInvalidArgument)
	case tar.TypeSymlink:
		if h.Linkname == "" {
			return Member{}, fmt.Errorf("member %s: symlink with an empty target: %w", Quote(h.Name), ErrInvalidArgument)
		}
		k = kindSymlink
	case tar.TypeLink:
		k = kindFile
		m.Link, err = c.checkHardlink(h, name)
		if err != nil {
			return Member{}, err
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if h.Devmajor < 0 || h.Devminor < 0 {
			return Member{}, fmt.Errorf("member %s: device numbers %d,%d: %w", Quote(h.Name), h.Devmajor, h.Devminor, ErrInvalidArgument)
		}
		k = kindOther
	default:
		return Member{}, fmt.Errorf("member %s has type %q, which a layer cannot hold: %w", Quote(h.Name), h.Typeflag, ErrInvalidArgument)
	}
	if name == Root {
		if h.Typeflag != tar.TypeDir {
			return Member{}, fmt.Errorf("member %s names the root but is not a directory: %w", Quote(h.Name), ErrInvalidArgument)
		}
		return m, nil
	}
	if err := c.checkParents(h.Name, name); err != nil {
		return Member{}, err
	}
	if k == 0 {
		if c.kinds != nil {
			delete(c.kinds, name)
		}
		return m, nil
	}
	if c.kinds == nil {
		c.kinds, c.lens = map[string]kind{}, map[int]struct{}{}
	}
	c.kinds[name] = k
	c.lens[len(name)] = struct{}{}
	return m, nil
}

// checkParents rejects a member below a member that is not a directory.
// Only prefixes as long as some such member are looked up.
func (c *Checker) checkParents(raw, name string) error {
	if len(c.kinds) == 0 {
		return nil
	}
	for i := len(name) - 1; i > 0; i-- {
		if name[i] != '/' {
			continue
		}
		if _, ok := c.lens[i]; !ok {
			continue
		}
		parent := name[:i]
		switch c.kinds[parent] {
		case kindSymlink:
			return fmt.Errorf("member %s is below %q, a symlink in the same tar (a member may not be written through a symlink): %w", Quote(raw), parent, ErrInvalidArgument)
		case kindFile, kindOther:
			return fmt.Errorf("member %s is below %q, which is not a directory: %w", Quote(raw), parent, ErrInvalidArgument)
		}
	}
	return nil
}

func (c *Checker) checkHardlink(h *tar.Header, name string) (string, error) {
	target, err := Clean(h.Linkname)
	if err != nil || target == Root {
		return "", fmt.Errorf("hardlink /%s points to %s, which is not a file inside the layer: %w", name, Quote(h.Linkname), ErrInvalidArgument)
	}
	if target == name {
		return "", fmt.Errorf("hardlink /%s points to itself: %w", name, ErrInvalidArgument)
	}
	k, ok := c.kinds[target]
	switch {
	case ok && k == kindFile:
		return target, nil
	case !ok && c.EarlierFile != nil && c.EarlierFile(target):
		return target, nil
	}
	return "", fmt.Errorf("hardlink /%s points to /%s, which is not an earlier regular file of the layer: %w", name, target, ErrInvalidArgument)
}
