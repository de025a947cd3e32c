// Package layer writes the tar stream of a container image layer.
//
// Every regular file's content is stored once: a later path whose content
// and header fields equal an earlier one becomes a hardlink to it. Headers
// are reproducible: no host mtimes, owners or user names leak into them
// unless metadata asks for them. Inputs are read once in the common case;
// only files whose size (and header) equals an earlier file's are hashed
// before they are written.
package layer

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrInvalidArgument marks bad input: a bad path, a conflict, bad metadata.
var ErrInvalidArgument = errors.New("invalid argument")

// epoch is the mtime of every entry unless metadata sets one.
var epoch = time.Unix(0, 0).UTC()

// smallFile is the size up to which a file is read into memory whole, so
// that hashing it for deduplication costs no second read.
const smallFile = 1 << 20

// RunfilesEntry is one file or directory of an executable's runfiles tree.
type RunfilesEntry struct {
	Path   string // relative to the runfiles root, e.g. "_main/pkg/data.txt"
	Source string // host path
	Dir    bool   // Source is a directory (tree artifact)
}

// Writer writes layer entries to a tar stream.
//
// Entries appear in the order added; equal inputs give equal bytes. Adding
// a path twice is allowed only when both entries are the same; otherwise it
// is an error naming the path and both sources. Close fails if a per-path
// metadata override matched no entry. Errors from the underlying writer are
// returned as they happen; the stream is then unusable.
type Writer struct {
	tw      *tar.Writer
	md      *Metadata
	paths   map[string]*entryRecord
	bySize  map[string][]*fileRecord
	buf     []byte
	Entries int // entries written, for progress
	Links   int // regular files stored as hardlinks
}

type entryRecord struct {
	source string
	typ    byte
	file   *fileRecord // regular files
	link   string      // symlink target
}

type fileRecord struct {
	path   string // name in the tar
	source string // host path to re-read for a lazy digest; "" when digest is set
	size   int64
	digest []byte
}

// NewWriter starts a tar stream on w. md may be nil.
func NewWriter(w io.Writer, md *Metadata) *Writer {
	return &Writer{
		tw:     tar.NewWriter(w),
		md:     md,
		paths:  map[string]*entryRecord{},
		bySize: map[string][]*fileRecord{},
		buf:    make([]byte, smallFile),
	}
}

// CleanPath turns a path in the image into a tar name: no leading "/", no
// "." or ".." elements, not empty.
func CleanPath(p string) (string, error) {
	trimmed := strings.TrimLeft(p, "/")
	if trimmed == "" {
		return "", fmt.Errorf("path %q: empty path in image: %w", p, ErrInvalidArgument)
	}
	for _, el := range strings.Split(trimmed, "/") {
		if el == ".." {
			return "", fmt.Errorf("path %q escapes the image root: %w", p, ErrInvalidArgument)
		}
	}
	c := path.Clean(trimmed)
	if c == "." {
		return "", fmt.Errorf("path %q: empty path in image: %w", p, ErrInvalidArgument)
	}
	return c, nil
}

func baseHeader(name string, typ byte, mode int64) *tar.Header {
	return &tar.Header{Name: name, Typeflag: typ, Mode: mode, ModTime: epoch, Format: tar.FormatUnknown}
}

// claim records that name is taken by source. It reports whether the entry
// should be skipped because an identical one exists.
func (w *Writer) claim(name, source string, typ byte, link string) (skip bool, err error) {
	prev, ok := w.paths[name]
	if !ok {
		w.paths[name] = &entryRecord{source: source, typ: typ, link: link}
		return false, nil
	}
	switch {
	case prev.typ == tar.TypeDir && typ == tar.TypeDir:
		return true, nil
	case prev.typ == tar.TypeSymlink && typ == tar.TypeSymlink && prev.link == link:
		return true, nil
	case prev.typ == tar.TypeReg && typ == tar.TypeReg && prev.source == source:
		return true, nil
	case prev.typ == tar.TypeReg && typ == tar.TypeReg && source != "":
		same, err := w.sameContent(prev.file, source)
		if err != nil {
			return false, err
		}
		if same {
			return true, nil
		}
	}
	return false, fmt.Errorf("path /%s is added twice with different content: from %s and from %s: %w",
		name, describe(prev.source, prev.typ, prev.link), describe(source, typ, link), ErrInvalidArgument)
}

func describe(source string, typ byte, link string) string {
	switch {
	case typ == tar.TypeSymlink:
		return "a symlink to " + link
	case typ == tar.TypeDir && source == "":
		return "a directory"
	case source == "":
		return "an imported tar entry"
	}
	return source
}

func (w *Writer) sameContent(prev *fileRecord, source string) (bool, error) {
	if prev == nil {
		return false, nil
	}
	fi, err := os.Stat(source)
	if err != nil {
		return false, fmt.Errorf("add %s: %w", source, err)
	}
	if fi.Size() != prev.size {
		return false, nil
	}
	d, err := hashFile(source)
	if err != nil {
		return false, err
	}
	pd, err := prev.lazyDigest()
	if err != nil {
		return false, err
	}
	return bytes.Equal(d, pd), nil
}

func hashFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return h.Sum(nil), nil
}

func (r *fileRecord) lazyDigest() ([]byte, error) {
	if r.digest == nil {
		d, err := hashFile(r.source)
		if err != nil {
			return nil, err
		}
		r.digest = d
	}
	return r.digest, nil
}

// writeHeader writes h; callers have applied the metadata already.
func (w *Writer) writeHeader(h *tar.Header) error {
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write tar header for /%s: %w", h.Name, err)
	}
	w.Entries++
	return nil
}

// AddFile adds the host file src (symlinks followed) at pathInImage.
func (w *Writer) AddFile(pathInImage, src string) error {
	name, err := CleanPath(pathInImage)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("add /%s: %w", name, err)
	}
	if fi.IsDir() {
		return w.addTree(name, src)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("add /%s: %s is not a regular file: %w", name, src, ErrInvalidArgument)
	}
	return w.addRegular(name, src, fi)
}

func fileMode(fi fs.FileInfo) int64 {
	if fi.Mode()&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func (w *Writer) addRegular(name, src string, fi fs.FileInfo) error {
	if skip, err := w.claim(name, src, tar.TypeReg, ""); err != nil || skip {
		return err
	}
	h := baseHeader(name, tar.TypeReg, fileMode(fi))
	h.Size = fi.Size()
	w.md.apply(h)
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("add /%s: %w", name, err)
	}
	defer f.Close()
	rec := &fileRecord{path: name, source: src, size: h.Size}
	w.paths[name].file = rec
	return w.writeContent(h, rec, f)
}

// writeContent writes a regular file (header already has metadata applied),
// storing it as a hardlink when an earlier file has equal content. r yields
// exactly h.Size bytes; rec.source, when set, can be read again.
func (w *Writer) writeContent(h *tar.Header, rec *fileRecord, r io.Reader) error {
	key := fmt.Sprintf("%d|%s", h.Size, headerKey(h))
	candidates := w.bySize[key]
	var body []byte // the content, when it was read into memory
	if len(candidates) > 0 && h.Size > 0 {
		// Equal sizes: this file's digest decides between link and content.
		if h.Size <= smallFile {
			n, err := io.ReadFull(r, w.buf[:h.Size])
			if err != nil {
				return fmt.Errorf("read /%s (%d of %d bytes): %w", h.Name, n, h.Size, err)
			}
			body = w.buf[:h.Size]
			sum := sha256.Sum256(body)
			rec.digest = sum[:]
		} else {
			if rec.source == "" {
				return w.spillAndWrite(h, rec, r, candidates)
			}
			d, err := hashFile(rec.source)
			if err != nil {
				return err
			}
			rec.digest = d
		}
		for _, c := range candidates {
			cd, err := c.lazyDigest()
			if err != nil {
				return err
			}
			if bytes.Equal(cd, rec.digest) {
				return w.writeLink(h, c.path)
			}
		}
		if body == nil {
			// A large file that is not a duplicate: read it again, from the start.
			f, err := os.Open(rec.source)
			if err != nil {
				return fmt.Errorf("add /%s: %w", h.Name, err)
			}
			defer f.Close()
			r = f
		}
	}
	w.bySize[key] = append(w.bySize[key], rec)
	if err := w.writeHeader(h); err != nil {
		return err
	}
	if body != nil {
		if _, err := w.tw.Write(body); err != nil {
			return fmt.Errorf("write /%s: %w", h.Name, err)
		}
		return nil
	}
	var hash io.Writer
	if rec.source == "" && rec.digest == nil {
		// Imported entries cannot be read again: hash them on the way.
		s := sha256.New()
		hash = s
		defer func() { rec.digest = s.Sum(nil) }()
	}
	return w.copyBody(h, r, hash)
}

func (w *Writer) copyBody(h *tar.Header, r io.Reader, hash io.Writer) error {
	remaining := h.Size
	for remaining > 0 {
		n, err := r.Read(w.buf[:min(int64(len(w.buf)), remaining)])
		if n > 0 {
			if hash != nil {
				hash.Write(w.buf[:n])
			}
			if _, werr := w.tw.Write(w.buf[:n]); werr != nil {
				return fmt.Errorf("write /%s: %w", h.Name, werr)
			}
			remaining -= int64(n)
		}
		if err == io.EOF && remaining > 0 {
			return fmt.Errorf("read /%s: input shrank while it was read (%d bytes missing): %w", h.Name, remaining, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read /%s: %w", h.Name, err)
		}
	}
	return nil
}

// spillAndWrite handles a large imported entry whose size matches an
// earlier file: it goes to a temporary file first so it can be hashed.
func (w *Writer) spillAndWrite(h *tar.Header, rec *fileRecord, r io.Reader, candidates []*fileRecord) error {
	tmp, err := os.CreateTemp("", "img-layer-spill-*")
	if err != nil {
		return fmt.Errorf("import /%s: %w", h.Name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	s := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, s), io.LimitReader(r, h.Size)); err != nil {
		return fmt.Errorf("import /%s: %w", h.Name, err)
	}
	rec.digest = s.Sum(nil)
	for _, c := range candidates {
		cd, err := c.lazyDigest()
		if err != nil {
			return err
		}
		if bytes.Equal(cd, rec.digest) {
			return w.writeLink(h, c.path)
		}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("import /%s: %w", h.Name, err)
	}
	key := fmt.Sprintf("%d|%s", h.Size, headerKey(h))
	w.bySize[key] = append(w.bySize[key], rec)
	if err := w.writeHeader(h); err != nil {
		return err
	}
	return w.copyBody(h, tmp, nil)
}

func (w *Writer) writeLink(h *tar.Header, target string) error {
	link := *h
	link.Typeflag = tar.TypeLink
	link.Linkname = target
	link.Size = 0
	if err := w.tw.WriteHeader(&link); err != nil {
		return fmt.Errorf("write tar header for /%s: %w", h.Name, err)
	}
	w.Entries++
	w.Links++
	return nil
}

// AddTree adds the directory dir and everything below it at pathInImage,
// in sorted order. Symlinks inside the tree are kept as symlinks.
func (w *Writer) AddTree(pathInImage, dir string) error {
	name, err := CleanPath(pathInImage)
	if err != nil {
		return err
	}
	return w.addTree(name, dir)
}

func (w *Writer) addTree(name, dir string) error {
	if err := w.addDir(name); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("add /%s: %w", name, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		child := name + "/" + e.Name()
		src := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(src)
		if err != nil {
			return fmt.Errorf("add /%s: %w", child, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return fmt.Errorf("add /%s: %w", child, err)
			}
			if filepath.IsAbs(target) {
				// Bazel forbids absolute symlinks in tree artifacts, so this
				// is a sandbox's link to the real output: use what it names.
				if err := w.addStaged(child, target); err != nil {
					return err
				}
				continue
			}
			if err := w.addSymlink(child, target); err != nil {
				return err
			}
		case fi.IsDir():
			if err := w.addTree(child, src); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := w.addRegular(child, src, fi); err != nil {
				return err
			}
		default:
			return fmt.Errorf("add /%s: %s is neither file, directory nor symlink: %w", child, src, ErrInvalidArgument)
		}
	}
	return nil
}

// addStaged adds the output that a sandbox staged as a symlink at src:
// a symlink stays a symlink (its own target), anything else is followed.
func (w *Writer) addStaged(name, src string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("add /%s: %w", name, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("add /%s: %w", name, err)
		}
		if filepath.IsAbs(target) {
			return w.addStaged(name, target)
		}
		return w.addSymlink(name, target)
	case fi.IsDir():
		return w.addTree(name, src)
	case fi.Mode().IsRegular():
		return w.addRegular(name, src, fi)
	}
	return fmt.Errorf("add /%s: %s is neither file, directory nor symlink: %w", name, src, ErrInvalidArgument)
}

func (w *Writer) addDir(name string) error {
	if skip, err := w.claim(name, "", tar.TypeDir, ""); err != nil || skip {
		return err
	}
	h := baseHeader(name+"/", tar.TypeDir, 0o755)
	w.md.apply(h)
	return w.writeHeader(h)
}

// AddSymlink adds a symlink at pathInImage pointing to target (kept as given).
func (w *Writer) AddSymlink(pathInImage, target string) error {
	name, err := CleanPath(pathInImage)
	if err != nil {
		return err
	}
	if target == "" {
		return fmt.Errorf("symlink /%s: empty target: %w", name, ErrInvalidArgument)
	}
	return w.addSymlink(name, target)
}

func (w *Writer) addSymlink(name, target string) error {
	if skip, err := w.claim(name, "", tar.TypeSymlink, target); err != nil || skip {
		return err
	}
	h := baseHeader(name, tar.TypeSymlink, 0o777)
	h.Linkname = target
	w.md.apply(h)
	return w.writeHeader(h)
}

// AddExecutable adds the executable exe at pathInImage and its runfiles
// below pathInImage + ".runfiles/".
func (w *Writer) AddExecutable(pathInImage, exe string, runfiles []RunfilesEntry) error {
	name, err := CleanPath(pathInImage)
	if err != nil {
		return err
	}
	if err := w.AddFile(name, exe); err != nil {
		return err
	}
	root := name + ".runfiles"
	for _, rf := range runfiles {
		rel, err := CleanPath(rf.Path)
		if err != nil {
			return fmt.Errorf("runfiles of /%s: %w", name, err)
		}
		target := root + "/" + rel
		if rf.Dir {
			err = w.AddTree(target, rf.Source)
		} else {
			err = w.AddFile(target, rf.Source)
		}
		if err != nil {
			return fmt.Errorf("runfiles of /%s: %w", name, err)
		}
	}
	return nil
}

// Close checks that every metadata override was used and ends the tar
// stream. It does not close the underlying writer.
func (w *Writer) Close() error {
	if unused := w.md.unused(); len(unused) > 0 {
		return fmt.Errorf("file_metadata names paths that are not in the layer: %s: %w", strings.Join(unused, ", "), ErrInvalidArgument)
	}
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("finish tar stream: %w", err)
	}
	return nil
}
