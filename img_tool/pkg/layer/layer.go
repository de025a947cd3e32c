// Package layer writes the tar stream of a container image layer.
//
// Every regular file's content is stored once: a later path whose content
// and header fields equal an earlier one becomes a hardlink to it. Headers
// are reproducible: no host mtimes, permission bits, owners or user names
// leak into them; metadata sets what differs from the defaults. Inputs are
// read once in the common case: a file is hashed only when an earlier file
// has its size and header (the earlier one is then hashed too, from its
// source) or when it is a few KiB, and one of over 1 MiB is then read again.
package layer

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// ErrInvalidArgument marks bad input: a bad path, a conflict, bad metadata.
var ErrInvalidArgument = tarpolicy.ErrInvalidArgument

// epoch is the mtime of every entry unless metadata sets one.
var epoch = time.Unix(0, 0).UTC()

// Modes of entries that metadata does not set. Host permission bits never
// reach the layer: every regular file (added, in a tree, an executable or a
// runfile) is 0755, whatever its mode on the host, as Bazel outputs' modes
// depend on how they were made. Directories are 0755 too; layer-wide
// default metadata does not change their mode (a file mode such as 0644
// would make them unsearchable), only a file_metadata entry for the
// directory does. Symlinks carry no mode bits (Linux ignores them).
const (
	fileMode    = 0o755
	dirMode     = 0o755
	symlinkMode = 0
)

// smallFile is the size up to which a file is read into memory whole, so
// that hashing it, when an earlier file has its size, costs no second read.
const smallFile = 1 << 20

// eagerHash is the size up to which a file is hashed when it is written
// even if no earlier file has its size: hashing a few KiB in memory costs
// less than opening and reading the file again, should a second file of
// its size come (on the Go tree, a third of the first files of a size get
// one).
const eagerHash = 4 << 10

// RunfilesEntry is one file or directory of an executable's runfiles tree.
type RunfilesEntry struct {
	Path   string // relative to the runfiles root, e.g. "_main/pkg/data.txt"
	Source string // host path
	Dir    bool   // Source is a directory (tree artifact)
}

// Writer writes layer entries to a tar stream.
//
// Entries appear in the order added (with WithParentDirectories, each
// after the parent directories it needs); equal inputs give equal bytes. Adding
// a path twice is allowed only when both entries are the same; otherwise it
// is an error naming the path and both sources. Close fails if a per-path
// metadata override matched no entry. Errors from the underlying writer are
// returned as they happen; the stream is then unusable.
type Writer struct {
	tw       *tar.Writer
	md       *Metadata
	paths    map[string]*entryRecord
	bySize   map[sizeKey]*entryRecord           // first file stored of each size and header
	byDigest map[[sha256.Size]byte]*entryRecord // contentKey -> file stored, for indexed records
	headers  map[string]string                  // interned header keys
	trees    map[string]string                  // cleaned host path of a tree -> its first tar name
	keyBuf   []byte
	buf      []byte
	opts     options
	Entries  int // entries written, for progress
	Links    int // regular files stored as hardlinks
}

// sizeKey groups files that may share content; header is the interned
// headerKey, since only files with equal headers may be linked.
type sizeKey struct {
	size   int64
	header string
}

// contentKey identifies content and header together in 32 bytes (a map
// key of a digest and a string would take twice the memory per file).
func contentKey(digest [sha256.Size]byte, header string) (k [sha256.Size]byte) {
	h := sha256.New()
	h.Write(digest[:])
	h.Write([]byte(header))
	h.Sum(k[:0])
	return k
}

// NewWriter starts a tar stream on w with the default options (see New).
// md may be nil.
func NewWriter(w io.Writer, md *Metadata) *Writer {
	return &Writer{
		tw:       tar.NewWriter(w),
		md:       md,
		paths:    map[string]*entryRecord{},
		bySize:   map[sizeKey]*entryRecord{},
		byDigest: map[[sha256.Size]byte]*entryRecord{},
		headers:  map[string]string{},
		trees:    map[string]string{},
		buf:      make([]byte, smallFile),
		opts:     options{trees: TreesFull},
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
		rec := &entryRecord{path: name, typ: typ, src: link}
		if typ == tar.TypeReg {
			rec.src = source
		}
		w.paths[name] = rec
		return false, nil
	}
	switch {
	case prev.typ == tar.TypeDir && typ == tar.TypeDir:
		return true, nil
	case prev.typ == tar.TypeSymlink && typ == tar.TypeSymlink && prev.link() == link:
		return true, nil
	case prev.typ == tar.TypeReg && typ == tar.TypeReg && prev.source() == source:
		return true, nil
	case prev.typ == tar.TypeReg && typ == tar.TypeReg && source != "":
		same, err := w.sameContent(prev, source)
		if err != nil {
			return false, err
		}
		if same {
			return true, nil
		}
	}
	was := describe(prev.source(), prev.typ, prev.link())
	if p := prev.parentOf(); p != "" {
		was = "the parent directory written for /" + p
	}
	return false, fmt.Errorf("path /%s is added twice with different content: from %s and from %s: %w",
		name, was, describe(source, typ, link), ErrInvalidArgument)
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

func (w *Writer) sameContent(prev *entryRecord, source string) (bool, error) {
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
	return d == pd, nil
}

// hashFile returns the sha256 of the file p. Files that fit a prefetch
// buffer are read with bare system calls (see readSmallFile): hashing
// the first file of a size again costs little more than its read.
func hashFile(p string) (d [sha256.Size]byte, err error) {
	mode, size, data, err := readSmallFile(p, prefetchSize)
	if err != nil {
		return d, fmt.Errorf("read %s: %w", p, err)
	}
	if data != nil {
		d = sha256.Sum256(data)
		putBuffer(data)
		return d, nil
	}
	if mode.IsRegular() && size == 0 {
		return emptyDigest, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return d, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return d, fmt.Errorf("read %s: %w", p, err)
	}
	h.Sum(d[:0])
	return d, nil
}

// Deduplication. A file is hashed only when an earlier stored file has the
// same size and header key (its sizeKey): most files of a layer have a size
// of their own and can have no twin. bySize holds the first file stored of
// each sizeKey, unhashed. When a second file of that sizeKey arrives, the
// first is hashed (from its source, or its digest was taken on the way for
// an imported entry) and indexed in byDigest, and so is every later file of
// the sizeKey that is stored; a file whose contentKey is indexed becomes a
// link to that file. Stored files of a sizeKey all differ in content, so the
// link target is the first file written with that content and header.

// firstOfSize returns the first file stored with rec's sizeKey, or nil
// after making rec that file.
func (w *Writer) firstOfSize(key sizeKey, rec *entryRecord) *entryRecord {
	first, ok := w.bySize[key]
	if !ok {
		w.bySize[key] = rec
		return nil
	}
	return first
}

// contentTwin returns the stored file whose content and header equal
// those of rec (hashed), given first, the first file stored of rec's
// sizeKey; if there is none, rec is indexed as a file to be stored.
func (w *Writer) contentTwin(first, rec *entryRecord, header string) (*entryRecord, error) {
	if !first.indexed {
		d, err := first.lazyDigest()
		if err != nil {
			return nil, err
		}
		w.byDigest[contentKey(d, header)] = first
		first.indexed = true
	}
	key := contentKey(rec.digest, header)
	if twin, ok := w.byDigest[key]; ok {
		return twin, nil
	}
	w.byDigest[key] = rec
	rec.indexed = true
	return nil, nil
}

// emptyDigest is the sha256 of no bytes.
var emptyDigest = sha256.Sum256(nil)

// lazyDigest returns the digest of a regular file, reading its source
// when it was not hashed yet. Imported entries (no source) are hashed
// when written, except empty ones.
func (r *entryRecord) lazyDigest() ([sha256.Size]byte, error) {
	if !r.hashed && r.size == 0 {
		return emptyDigest, nil
	}
	if !r.hashed {
		d, err := hashFile(r.source())
		if err != nil {
			return d, err
		}
		r.digest, r.hashed = d, true
	}
	return r.digest, nil
}

// writeHeader writes h (after the parent directories it needs, if the
// writer adds them); callers have applied the metadata already.
func (w *Writer) writeHeader(h *tar.Header) error {
	if err := w.addParents(h.Name); err != nil {
		return err
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write tar header for /%s: %w", h.Name, err)
	}
	if err := w.listHeader(h); err != nil {
		return err
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

func (w *Writer) addRegular(name, src string, fi fs.FileInfo) error {
	h, rec, skip, err := w.startRegular(name, src, fi.Size())
	if err != nil || skip {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("add /%s: %w", name, err)
	}
	defer f.Close()
	return w.writeContent(h, rec, f)
}

// startRegular claims name for the host file src and returns its header,
// with metadata applied, and its record.
func (w *Writer) startRegular(name, src string, size int64) (*tar.Header, *entryRecord, bool, error) {
	if skip, err := w.claim(name, src, tar.TypeReg, ""); err != nil || skip {
		return nil, nil, skip, err
	}
	h := baseHeader(name, tar.TypeReg, fileMode)
	h.Size = size
	w.md.apply(h)
	rec := w.paths[name]
	rec.size = size
	return h, rec, false, nil
}

// writeContent writes a regular file (header already has metadata applied),
// storing it as a hardlink when an earlier file has equal content. r yields
// exactly h.Size bytes; rec.source(), when set, can be read again.
func (w *Writer) writeContent(h *tar.Header, rec *entryRecord, r io.Reader) error {
	if h.Size == 0 {
		// Empty files are never linked: a link costs as much as the file.
		return w.writeHeader(h)
	}
	key := sizeKey{size: h.Size, header: w.headerKey(h)}
	if h.Size <= smallFile {
		body := w.buf[:h.Size]
		if n, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("read /%s (%d of %d bytes): %w", h.Name, n, h.Size, err)
		}
		return w.writeBody(h, key, rec, body)
	}
	first := w.firstOfSize(key, rec)
	if first == nil {
		if err := w.writeHeader(h); err != nil {
			return err
		}
		var hash io.Writer
		if rec.src == "" {
			// Imported entries cannot be read again: hash them on the way.
			s := sha256.New()
			hash = s
			defer func() { s.Sum(rec.digest[:0]); rec.hashed = true }()
		}
		return w.copyBody(h, r, hash)
	}
	// Equal sizes: this file's digest decides between link and content.
	if rec.src == "" {
		return w.spillAndWrite(h, key, first, rec, r)
	}
	d, err := hashFile(rec.source())
	if err != nil {
		return err
	}
	rec.digest, rec.hashed = d, true
	if twin, err := w.contentTwin(first, rec, key.header); err != nil || twin != nil {
		if err != nil {
			return err
		}
		return w.writeLink(h, twin.path)
	}
	// Not a duplicate: read it again, from the start.
	f, err := os.Open(rec.source())
	if err != nil {
		return fmt.Errorf("add /%s: %w", h.Name, err)
	}
	defer f.Close()
	if err := w.writeHeader(h); err != nil {
		return err
	}
	return w.copyBody(h, f, nil)
}

// writeBody writes a non-empty file whose content is in memory, or a link
// to an earlier file with the same content and header. It is hashed (unless
// rec already holds its digest) only if an earlier file has its size and
// header, if it is imported, or if it is at most eagerHash bytes.
func (w *Writer) writeBody(h *tar.Header, key sizeKey, rec *entryRecord, body []byte) error {
	if first := w.firstOfSize(key, rec); first != nil {
		if !rec.hashed {
			rec.digest, rec.hashed = sha256.Sum256(body), true
		}
		twin, err := w.contentTwin(first, rec, key.header)
		if err != nil {
			return err
		}
		if twin != nil {
			return w.writeLink(h, twin.path)
		}
	} else if !rec.hashed && (rec.src == "" || len(body) <= eagerHash) {
		// Imported entries cannot be read again, should a twin come later.
		rec.digest, rec.hashed = sha256.Sum256(body), true
	}
	if err := w.writeHeader(h); err != nil {
		return err
	}
	if _, err := w.tw.Write(body); err != nil {
		return fmt.Errorf("write /%s: %w", h.Name, err)
	}
	return nil
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
func (w *Writer) spillAndWrite(h *tar.Header, key sizeKey, first, rec *entryRecord, r io.Reader) error {
	tmp, err := os.CreateTemp("", "img-layer-spill-*")
	if err != nil {
		return fmt.Errorf("import /%s: %w", h.Name, err)
	}
	defer os.Remove(tmp.Name())
	// An interrupted img removes it too (see atomicfile.RemoveOnSignal).
	if release, err := atomicfile.Register(tmp.Name()); err == nil {
		defer release()
	}
	defer tmp.Close()
	s := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, s), io.LimitReader(r, h.Size)); err != nil {
		return fmt.Errorf("import /%s: %w", h.Name, err)
	}
	s.Sum(rec.digest[:0])
	rec.hashed = true
	if twin, err := w.contentTwin(first, rec, key.header); err != nil || twin != nil {
		if err != nil {
			return err
		}
		return w.writeLink(h, twin.path)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("import /%s: %w", h.Name, err)
	}
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
	if err := w.writeHeader(&link); err != nil {
		return err
	}
	w.Links++
	return nil
}

func (w *Writer) addDir(name string) error {
	if skip, err := w.claim(name, "", tar.TypeDir, ""); err != nil || skip {
		return err
	}
	h := baseHeader(name+"/", tar.TypeDir, dirMode)
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
	h := baseHeader(name, tar.TypeSymlink, symlinkMode)
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
