package layout

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// smallBlob is the size below which blobs are always hashed.
const smallBlob = 1 << 20

// entry is one file of the output tree.
type entry struct {
	name string // slash-separated path in the tree
	data []byte // the content of a generated file; nil for a blob file

	file   string // the blob file
	size   int64  // its expected size
	digest string // its expected digest
	staged bool   // the file was written to the work directory and checked
}

// tree collects the files of the output, each name once.
type tree map[string]*entry

// addData adds a generated file.
func (t tree) addData(name string, data []byte) {
	if _, ok := t[name]; !ok {
		t[name] = &entry{name: name, data: data}
	}
}

// addBlob adds a blob file under its digest, unless one is there already.
func (t tree) addBlob(file, digest string, size int64) {
	name := blobName(digest)
	if _, ok := t[name]; !ok {
		t[name] = &entry{name: name, file: file, size: size, digest: digest}
	}
}

// sorted returns the entries with the directories that hold them, sorted
// by name.
func (t tree) sorted() []*entry {
	dirs := map[string]bool{}
	out := make([]*entry, 0, len(t)+2)
	for name, e := range t {
		out = append(out, e)
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		out = append(out, &entry{name: d + "/"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func isDir(e *entry) bool { return strings.HasSuffix(e.name, "/") }

// output is an output in progress. Blobs that the writer generates (the
// decompressed layers) are written to stage(name) first. commit writes the
// tree and moves it into place; abort removes everything.
type output struct {
	path   string
	format Format
	verify bool
	work   string           // the future output directory (Directory) or a scratch directory (Tar)
	limits tarpolicy.Limits // for the layers that are decompressed
}

func newOutput(out string, format Format, verify bool) (*output, error) {
	if out == "" {
		return nil, fmt.Errorf("output path is empty: %w", ErrInvalidArgument)
	}
	fi, err := os.Lstat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("output %s: %w", out, err)
	case format == Tar && fi.IsDir():
		return nil, fmt.Errorf("output %s is a directory, want a tar file: %w", out, ErrInvalidArgument)
	case format == Directory && !fi.IsDir():
		return nil, fmt.Errorf("output %s exists and is not a directory: %w", out, ErrInvalidArgument)
	case format == Directory:
		ents, err := os.ReadDir(out)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", out, err)
		}
		if len(ents) > 0 {
			return nil, fmt.Errorf("output directory %s exists and is not empty: %w", out, ErrInvalidArgument)
		}
	}
	dir, base := filepath.Split(filepath.Clean(out))
	if dir == "" {
		dir = "."
	}
	work, err := os.MkdirTemp(dir, "."+base+".tmp")
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	return &output{path: out, format: format, verify: verify, work: work}, nil
}

// stage returns the path where a generated blob with the given tree name
// is written, creating its directory.
func (o *output) stage(name string) (string, error) {
	p := filepath.Join(o.work, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("output %s: %w", o.path, err)
	}
	return p, nil
}

// abort removes the work in progress. It is safe after commit.
func (o *output) abort() { os.RemoveAll(o.work) }

// commit writes t and moves the result to the output path.
func (o *output) commit(ctx context.Context, t tree) error {
	if o.format == Tar {
		return o.commitTar(ctx, t)
	}
	return o.commitDir(ctx, t)
}

func (o *output) commitDir(ctx context.Context, t tree) error {
	for _, e := range t.sorted() {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(o.work, filepath.FromSlash(e.name))
		switch {
		case isDir(e):
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("output %s: %w", o.path, err)
			}
		case e.staged:
		case e.data != nil:
			if err := os.WriteFile(p, e.data, 0o644); err != nil {
				return fmt.Errorf("output %s: %w", o.path, err)
			}
		default:
			if err := o.place(e, p); err != nil {
				return fmt.Errorf("output %s: %w", o.path, err)
			}
		}
	}
	if err := os.Chmod(o.work, 0o755); err != nil {
		return fmt.Errorf("output %s: %w", o.path, err)
	}
	// An empty directory at the path (as Bazel creates for a directory
	// output) is replaced; os.Remove removes only empty directories, and
	// os.Rename refuses to replace a directory.
	if err := os.Remove(o.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("output %s: %w", o.path, err)
	}
	if err := os.Rename(o.work, o.path); err != nil {
		return fmt.Errorf("output %s: %w", o.path, err)
	}
	return nil
}

// place links (or if that fails, copies) the blob file of e to p and
// checks its size, and its digest if it is small or o.verify is set.
func (o *output) place(e *entry, p string) error {
	// os.Link does not follow a symlink but would link the symlink itself.
	src, err := filepath.EvalSymlinks(e.file)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.digest, err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.digest, err)
	}
	if err := checkSize(e, fi); err != nil {
		return err
	}
	if err := os.Link(src, p); err != nil {
		if err := copyFile(src, p, e); err != nil {
			return err
		}
	}
	if o.verify || e.size < smallBlob {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("blob %s: %w", e.digest, err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("blob %s: read %s: %w", e.digest, e.file, err)
		}
		return checkHash(e, h)
	}
	return nil
}

func checkSize(e *entry, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("blob %s: %s is not a regular file: %w", e.digest, e.file, ErrInvalidArgument)
	}
	if fi.Size() != e.size {
		return fmt.Errorf("blob %s: %s has %d bytes, want %d: %w", e.digest, e.file, fi.Size(), e.size, ErrMismatch)
	}
	return nil
}

func checkHash(e *entry, h hash.Hash) error {
	if got := fmt.Sprintf("sha256:%x", h.Sum(nil)); got != e.digest {
		return fmt.Errorf("blob %s: %s has digest %s: %w", e.digest, e.file, got, ErrMismatch)
	}
	return nil
}

// copyFile copies src to the new file dst. io.Copy between two files uses
// copy_file_range on Linux, which may share the blocks.
func copyFile(src, dst string, e *entry) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.digest, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.digest, err)
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob %s: copy %s: %w", e.digest, e.file, err)
	}
	if n != e.size {
		return fmt.Errorf("blob %s: %s has %d bytes, want %d (changed while copied): %w", e.digest, e.file, n, e.size, ErrMismatch)
	}
	return nil
}

// tarTime is the modification time of every tar entry.
var tarTime = time.Unix(0, 0)

func (o *output) commitTar(ctx context.Context, t tree) error {
	f, err := atomicfile.Create(o.path, 0o644)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	for _, e := range t.sorted() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := o.writeTarEntry(ctx, tw, e); err != nil {
			return fmt.Errorf("output %s: %w", o.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("output %s: %w", o.path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("output %s: %w", o.path, err)
	}
	if err := f.Commit(); err != nil {
		return err
	}
	o.abort()
	return nil
}

func (o *output) writeTarEntry(ctx context.Context, tw *tar.Writer, e *entry) error {
	h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: tarTime}
	switch {
	case isDir(e):
		h.Typeflag, h.Mode = tar.TypeDir, 0o755
		return tw.WriteHeader(h)
	case e.data != nil:
		h.Size = int64(len(e.data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(e.data)
		return err
	}
	file := e.file
	if e.staged {
		file = filepath.Join(o.work, filepath.FromSlash(e.name))
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.digest, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.digest, err)
	}
	if err := checkSize(e, fi); err != nil {
		return err
	}
	h.Size = e.size
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	// The bytes pass through here anyway, so they are always hashed, unless
	// they were checked when staged.
	sum := sha256.New()
	var w io.Writer = tw
	if !e.staged {
		w = io.MultiWriter(tw, sum)
	}
	n, err := io.Copy(w, ctxReader{ctx, f})
	if err != nil {
		return fmt.Errorf("blob %s: copy %s: %w", e.digest, e.file, err)
	}
	if n != e.size {
		return fmt.Errorf("blob %s: %s has %d bytes, want %d (changed while copied): %w", e.digest, e.file, n, e.size, ErrMismatch)
	}
	if e.staged {
		return nil
	}
	return checkHash(e, sum)
}

// ctxReader stops reading when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
