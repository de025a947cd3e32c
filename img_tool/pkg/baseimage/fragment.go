// Package baseimage describes the content of base image layers as
// fragments (the directory skeleton here; /etc files in etcfiles, shared
// libraries in syslibs, CA certificates in truststore) and merges
// fragments into one tar stream.
//
// A fragment is what one content rule produces: a list of entries, each a
// directory, a symlink or a regular file whose bytes are either inline or
// read from a named file when the fragments are merged. Fragments are an
// internal format of rules_img: the rules and the img tool always come
// together, so the format carries a version only to fail clearly on a
// mismatch.
package baseimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

// ErrInvalidArgument marks bad input: a bad path, a conflict, bad content.
var ErrInvalidArgument = layer.ErrInvalidArgument

// Entry types.
const (
	TypeDir     = "dir"
	TypeFile    = "file"
	TypeSymlink = "symlink"
)

// version is the fragment format version.
const version = 1

// Limits on fragments, so that a hostile or broken file costs bounded
// memory: a fragment is read whole.
const (
	maxFragmentSize = 256 << 20
	maxEntries      = 1 << 20
)

// Entry is one tar entry of a fragment.
type Entry struct {
	// Path in the image, without a leading "/" (e.g. "etc/passwd").
	Path string `json:"path"`
	// Type is TypeDir, TypeFile or TypeSymlink.
	Type string `json:"type"`
	// Mode holds the permission bits (with setuid, setgid and sticky).
	Mode int64 `json:"mode"`
	UID  int   `json:"uid,omitempty"`
	GID  int   `json:"gid,omitempty"`
	// Uname and Gname are the owner names recorded in the tar header; empty
	// leaves them out.
	Uname string `json:"uname,omitempty"`
	Gname string `json:"gname,omitempty"`
	// Link is the target of a symlink.
	Link string `json:"link,omitempty"`
	// Content is the bytes of a file written by the rule itself.
	Content []byte `json:"content,omitempty"`
	// Source is a file whose bytes the entry has (a Bazel input), read when
	// the fragments are merged; set instead of Content.
	Source string `json:"source,omitempty"`
	// Producer is the label of the rule that described the entry, for
	// error messages. It is filled in from the fragment when read.
	Producer string `json:"-"`
}

// Fragment is the content one rule describes.
type Fragment struct {
	Version  int     `json:"version"`
	Producer string  `json:"producer"`
	Entries  []Entry `json:"entries"`
}

// Dir returns a directory entry owned by root.
func Dir(p string, mode int64) Entry { return Entry{Path: p, Type: TypeDir, Mode: mode} }

// File returns a regular file entry owned by root with inline content.
func File(p string, mode int64, content []byte) Entry {
	return Entry{Path: p, Type: TypeFile, Mode: mode, Content: content}
}

// Symlink returns a symlink entry.
func Symlink(p, target string) Entry {
	return Entry{Path: p, Type: TypeSymlink, Mode: 0o777, Link: target}
}

// CleanPath turns a path in the image ("/etc/passwd") into an entry path
// ("etc/passwd"), refusing empty paths and paths that leave the root.
func CleanPath(p string) (string, error) { return layer.CleanPath(p) }

// check validates one entry.
func (e *Entry) check() error {
	clean, err := CleanPath(e.Path)
	if err != nil {
		return err
	}
	if clean != e.Path {
		return fmt.Errorf("path %q is not clean (want %q): %w", e.Path, clean, ErrInvalidArgument)
	}
	if e.Mode < 0 || e.Mode > 0o7777 {
		return fmt.Errorf("/%s: mode %o out of range: %w", e.Path, e.Mode, ErrInvalidArgument)
	}
	if e.UID < 0 || e.GID < 0 || e.UID > 1<<31-1 || e.GID > 1<<31-1 {
		return fmt.Errorf("/%s: owner %d:%d out of range: %w", e.Path, e.UID, e.GID, ErrInvalidArgument)
	}
	switch e.Type {
	case TypeDir:
		if e.Link != "" || e.Content != nil || e.Source != "" {
			return fmt.Errorf("/%s: a directory has no link or content: %w", e.Path, ErrInvalidArgument)
		}
	case TypeSymlink:
		if e.Link == "" || strings.ContainsRune(e.Link, 0) || e.Content != nil || e.Source != "" {
			return fmt.Errorf("/%s: a symlink needs a target and has no content: %w", e.Path, ErrInvalidArgument)
		}
	case TypeFile:
		if e.Link != "" || (e.Content != nil && e.Source != "") {
			return fmt.Errorf("/%s: a file has inline content or a source, not both, and no link: %w", e.Path, ErrInvalidArgument)
		}
		// Sources are action inputs: relative to the execution root.
		if e.Source != "" && (path.IsAbs(e.Source) || slices.Contains(strings.Split(e.Source, "/"), "..")) {
			return fmt.Errorf("/%s: source %q is not a relative path below the execution root: %w", e.Path, e.Source, ErrInvalidArgument)
		}
	default:
		return fmt.Errorf("/%s: unknown entry type %q: %w", e.Path, e.Type, ErrInvalidArgument)
	}
	return nil
}

// WriteFragment writes the fragment of producer to path, atomically. Each
// entry is checked first.
func WriteFragment(path, producer string, entries []Entry) error {
	for i := range entries {
		if err := entries[i].check(); err != nil {
			return fmt.Errorf("%s: %w", producer, err)
		}
	}
	if entries == nil {
		entries = []Entry{}
	}
	data, err := json.Marshal(Fragment{Version: version, Producer: producer, Entries: entries})
	if err != nil {
		return fmt.Errorf("%s: encode fragment: %w", producer, err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}

// ReadFragment reads and checks the fragment at path.
func ReadFragment(path string) (*Fragment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fragment %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFragmentSize+1))
	if err != nil {
		return nil, fmt.Errorf("fragment %s: %w", path, err)
	}
	if len(data) > maxFragmentSize {
		return nil, fmt.Errorf("fragment %s: larger than %d bytes: %w", path, maxFragmentSize, ErrInvalidArgument)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var frag Fragment
	if err := dec.Decode(&frag); err != nil {
		return nil, fmt.Errorf("fragment %s: %w: %w", path, err, ErrInvalidArgument)
	}
	if frag.Version != version {
		return nil, fmt.Errorf("fragment %s: format version %d, this img tool reads %d (the rules and the tool must come from the same rules_img): %w", path, frag.Version, version, ErrInvalidArgument)
	}
	if len(frag.Entries) > maxEntries {
		return nil, fmt.Errorf("fragment %s: more than %d entries: %w", path, maxEntries, ErrInvalidArgument)
	}
	for i := range frag.Entries {
		e := &frag.Entries[i]
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("fragment %s of %s: %w", path, frag.Producer, err)
		}
		e.Producer = frag.Producer
	}
	return &frag, nil
}
