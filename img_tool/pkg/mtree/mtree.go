// Package mtree writes and reads the file listing of a layer in BSD mtree
// text form (mtree(5)): a "#mtree" line, then one line per tar entry with
// its escaped path and the keywords type, mode, uid, gid, size and link.
//
// The layer actions write such a listing beside each layer blob, so that
// later actions (image_structure_test) can answer questions about the
// files of an image without reading its blobs. A listing holds the entries
// in the order of the tar, duplicates included (a later entry of the same
// path replaces the earlier one, as on extraction).
package mtree

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrInvalid is wrapped by the errors about malformed listings and
// entries that cannot be listed.
var ErrInvalid = errors.New("invalid mtree listing")

// Type is the mtree type keyword of an entry.
type Type string

// The entry types of a layer.
const (
	File   Type = "file"
	Dir    Type = "dir"
	Link   Type = "link" // a symbolic link
	Char   Type = "char"
	Block  Type = "block"
	Fifo   Type = "fifo"
	Socket Type = "socket"
)

func (t Type) valid() bool {
	switch t {
	case File, Dir, Link, Char, Block, Fifo, Socket:
		return true
	}
	return false
}

// Entry is one line of a listing.
type Entry struct {
	// Path is the cleaned path in the image, relative to the root, without
	// "./" or "/" in front ("usr/bin/env"); "." is the root itself.
	Path string
	Type Type
	// Mode holds the permission bits with setuid, setgid and sticky
	// (07777).
	Mode uint32
	UID  int64
	GID  int64
	// Size is the content size of a regular file (of its target for a
	// hardlink); 0 for the other types.
	Size int64
	// Link is the target of a symbolic link, as written in the tar, or,
	// for a hardlink (Type File), the cleaned path of the file it links
	// to. Empty otherwise.
	Link string
	// Hardlink is true for a regular file that is a hardlink to Link.
	Hardlink bool
}

// CleanPath cleans a tar member name into the form of Entry.Path: "./a/",
// "/a" and "a" all become "a"; the root becomes ".". It fails for a name
// that leaves the root ("../x") or is empty.
func CleanPath(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty path: %w", ErrInvalid)
	}
	p := path.Clean("/" + name)
	if strings.Contains(name, "..") {
		// path.Clean of "/"+name hides an escape; refuse it explicitly.
		for _, part := range strings.Split(name, "/") {
			if part == ".." {
				return "", fmt.Errorf("path %q leaves the root: %w", name, ErrInvalid)
			}
		}
	}
	if p == "/" {
		return ".", nil
	}
	return p[1:], nil
}

// FromHeader turns a tar header into an Entry. ok is false for members
// that are not files of the image (PAX global headers, GNU volume labels
// and other types that extraction ignores). A hardlink entry has Type File
// and Link set; its Size is the header's (0), for the writer to resolve.
func FromHeader(h *tar.Header) (e Entry, ok bool, err error) {
	switch h.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader, 'V',
		tar.TypeGNULongName, tar.TypeGNULongLink:
		return Entry{}, false, nil
	}
	p, err := CleanPath(h.Name)
	if err != nil {
		return Entry{}, false, err
	}
	e = Entry{Path: p, Mode: uint32(h.Mode) & 07777, UID: int64(h.Uid), GID: int64(h.Gid)}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		e.Type, e.Size = File, h.Size
	case tar.TypeLink:
		target, err := CleanPath(h.Linkname)
		if err != nil {
			return Entry{}, false, fmt.Errorf("hardlink /%s: %w", p, err)
		}
		e.Type, e.Link, e.Hardlink = File, target, true
	case tar.TypeSymlink:
		e.Type, e.Link = Link, h.Linkname
	case tar.TypeDir:
		e.Type = Dir
	case tar.TypeChar:
		e.Type = Char
	case tar.TypeBlock:
		e.Type = Block
	case tar.TypeFifo:
		e.Type = Fifo
	default:
		return Entry{}, false, nil
	}
	return e, true, nil
}

// Escape writes s in the mtree encoding: bytes outside the printable
// ASCII range (33..126) and '#', '=' and '\' become a backslash and three
// octal digits, as libarchive writes them.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 127 || c == '#' || c == '=' || c == '\\' {
			fmt.Fprintf(&b, "\\%03o", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Unescape reverses Escape. A backslash must be followed by three octal
// digits (\000 to \377), or by one of the C escapes \\ \a \b \f \n \r \s
// \t \v that other mtree writers use.
func Unescape(s string) (string, error) {
	if !strings.Contains(s, "\\") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3' {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("%q ends in a backslash: %w", s, ErrInvalid)
		}
		r, ok := map[byte]byte{'\\': '\\', 'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 's': ' ', 't': '\t', 'v': '\v'}[s[i+1]]
		if !ok {
			return "", fmt.Errorf("%q has a bad escape at byte %d: %w", s, i, ErrInvalid)
		}
		b.WriteByte(r)
		i++
	}
	return b.String(), nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Line renders e as one listing line, without the newline. Keywords come
// in the order type, mode, uid, gid, size (files only), link (symlinks and
// hardlinks). The path is written "./"-relative ("." for the root).
func (e Entry) Line() string {
	p := "."
	if e.Path != "." {
		p = "./" + e.Path
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s type=%s mode=%o uid=%d gid=%d", Escape(p), e.Type, e.Mode, e.UID, e.GID)
	if e.Type == File {
		fmt.Fprintf(&b, " size=%d", e.Size)
	}
	if e.Link != "" {
		link := e.Link
		if e.Hardlink {
			link = "./" + link
		}
		fmt.Fprintf(&b, " link=%s", Escape(link))
	}
	return b.String()
}
