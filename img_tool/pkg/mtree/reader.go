package mtree

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits of Read: a hostile listing costs bounded memory and time.
const (
	// MaxLineBytes bounds one line: a path and a link target of the
	// longest tar names a layer accepts (tarpolicy.MaxNameLength, 32 KiB),
	// each escaped to four times its length, and the keywords fit.
	MaxLineBytes = 2*4*(32<<10) + 4096
	// DefaultMaxEntries is the default bound of the entries of one
	// listing (WithMaxEntries).
	DefaultMaxEntries = 1 << 21
)

// ReadOption configures Read.
type ReadOption func(*readOptions) error

type readOptions struct {
	maxEntries int
}

// WithMaxEntries bounds the number of entries; a listing with more fails.
// The default is DefaultMaxEntries.
func WithMaxEntries(n int) ReadOption {
	return func(o *readOptions) error {
		if n <= 0 {
			return fmt.Errorf("max entries %d: %w", n, ErrInvalid)
		}
		o.maxEntries = n
		return nil
	}
}

// Read parses the listing r and calls fn for each entry in order; an error
// of fn stops it and is returned. It accepts what Writer writes and the
// full-path form of other writers (libarchive's `bsdtar --format=mtree`):
// comment and empty lines, /set and /unset, and keywords it does not use
// (time, sha256digest, ...) are skipped. It rejects the relative
// (directory-walking) form, symbolic modes and line continuations.
// Errors name the line number.
func Read(r io.Reader, fn func(Entry) error, opts ...ReadOption) error {
	o := readOptions{maxEntries: DefaultMaxEntries}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return err
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	set := map[string]string{}
	entries := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch fields[0] {
		case "/set":
			for _, kv := range fields[1:] {
				if k, v, _ := strings.Cut(kv, "="); usedKeywords[k] {
					set[k] = v
				}
			}
			continue
		case "/unset":
			for _, k := range fields[1:] {
				if k == "all" {
					set = map[string]string{}
				}
				delete(set, k)
			}
			continue
		}
		if entries++; entries > o.maxEntries {
			return fmt.Errorf("line %d: more than %d entries: %w", n, o.maxEntries, ErrInvalid)
		}
		e, err := parseEntry(fields, set)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("a line longer than %d bytes: %w", MaxLineBytes, ErrInvalid)
		}
		return fmt.Errorf("read listing: %w", err)
	}
	return nil
}

// ReadAll parses a whole listing into a slice.
func ReadAll(r io.Reader, opts ...ReadOption) ([]Entry, error) {
	var out []Entry
	err := Read(r, func(e Entry) error { out = append(out, e); return nil }, opts...)
	return out, err
}

// usedKeywords are the keywords that Read keeps from /set lines.
var usedKeywords = map[string]bool{"type": true, "mode": true, "uid": true, "gid": true, "size": true, "link": true}

func parseEntry(fields []string, set map[string]string) (Entry, error) {
	raw, err := Unescape(fields[0])
	if err != nil {
		return Entry{}, err
	}
	if !strings.Contains(raw, "/") && raw != "." {
		return Entry{}, fmt.Errorf("entry %q: the relative mtree form is not supported (want full paths such as ./%s): %w", fields[0], raw, ErrInvalid)
	}
	p, err := CleanPath(raw)
	if err != nil {
		return Entry{}, err
	}
	kw := make(map[string]string, len(set)+len(fields))
	for k, v := range set {
		kw[k] = v
	}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue // nochange, optional, ignore: no value
		}
		kw[k] = v
	}
	e := Entry{Path: p, Type: Type(kw["type"])}
	if !e.Type.valid() {
		return Entry{}, fmt.Errorf("entry %s: type %q: %w", fields[0], kw["type"], ErrInvalid)
	}
	num := func(k string, base, bits int) (uint64, error) {
		v, ok := kw[k]
		if !ok {
			return 0, nil
		}
		x, err := strconv.ParseUint(v, base, bits)
		if err != nil {
			return 0, fmt.Errorf("entry %s: %s=%q: %w", fields[0], k, v, ErrInvalid)
		}
		return x, nil
	}
	mode, err := num("mode", 8, 12)
	if err != nil {
		return Entry{}, err
	}
	uid, err := num("uid", 10, 63)
	if err != nil {
		return Entry{}, err
	}
	gid, err := num("gid", 10, 63)
	if err != nil {
		return Entry{}, err
	}
	size, err := num("size", 10, 63)
	if err != nil {
		return Entry{}, err
	}
	e.Mode, e.UID, e.GID = uint32(mode), int64(uid), int64(gid)
	if e.Type == File {
		e.Size = int64(size)
	}
	if v, ok := kw["link"]; ok && (e.Type == File || e.Type == Link) {
		link, err := Unescape(v)
		if err != nil {
			return Entry{}, fmt.Errorf("entry %s: link: %w", fields[0], err)
		}
		if e.Type == File {
			if link, err = CleanPath(link); err != nil {
				return Entry{}, fmt.Errorf("entry %s: hardlink: %w", fields[0], err)
			}
			e.Hardlink = true
		}
		e.Link = link
	}
	return e, nil
}
