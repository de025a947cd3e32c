package layoutdir

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/limits"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// maxSymlinks bounds the symlinks followed for one name, as the kernel's
// ELOOP limit does.
const maxSymlinks = 40

// maxLayoutFile bounds the oci-layout file ({"imageLayoutVersion": "1.0.0"}).
const maxLayoutFile = 4 << 10

// Layout is an OCI image layout directory opened for reading.
//
// Its methods read the files named by the layout specification only, and
// check every blob against its descriptor. Every name is resolved inside
// the root: a relative symlink whose target leaves the root is refused
// (ErrEscape), and only regular files are opened, so that a FIFO or device
// cannot stall or flood the reader. A Layout holds no open files and may
// be used by several goroutines.
type Layout struct {
	root string
	o    options
}

// Open checks that root is an OCI image layout: a directory with an
// oci-layout file of version 1.x. index.json is read later, by RootIndex.
func Open(root string, opts ...Option) (*Layout, error) {
	o := options{maxJSON: limits.MaxManifestSize}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("layout %s: %w", root, err)
		}
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("layout %s: not a directory: %w", root, ErrInvalidArgument)
	}
	l := &Layout{root: filepath.Clean(root), o: o}
	data, err := l.readFile("oci-layout", maxLayoutFile)
	if err != nil {
		return nil, err
	}
	var marker struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(data, &marker); err != nil || !strings.HasPrefix(marker.Version, "1.") {
		return nil, fmt.Errorf("layout %s: oci-layout does not name an image layout version 1.x (%q): %w", root, marker.Version, ErrInvalidArgument)
	}
	return l, nil
}

// MaxJSONSize is the bound of index.json and of the indexes ReadIndex
// reads (see WithMaxJSONSize).
func (l *Layout) MaxJSONSize() int64 { return l.o.maxJSON }

// Root is the layout directory as given to Open, cleaned.
func (l *Layout) Root() string { return l.root }

// resolve returns the path to open for name, a slash-separated path inside
// the layout. Each component below the root is looked at: a relative
// symlink is followed only while its target stays inside the root (else
// ErrEscape); an absolute symlink is followed as it is. A component that
// does not exist gives an error that wraps fs.ErrNotExist.
func (l *Layout) resolve(name string) (string, error) {
	parts := strings.Split(name, "/")
	cur := l.root
	hops := 0
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		if p == "" || p == "." {
			continue
		}
		next := filepath.Join(cur, p)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxSymlinks {
			return "", fmt.Errorf("%s: more than %d symlinks: %w", name, maxSymlinks, ErrEscape)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			// Outside the layout's own tree from here on: the rest of
			// the name is resolved by the operating system.
			return filepath.Join(append([]string{target}, parts...)...), nil
		}
		joined := filepath.Join(cur, target)
		rel, err := filepath.Rel(l.root, joined)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			link := filepath.ToSlash(strings.TrimPrefix(next, l.root+string(filepath.Separator)))
			if link == name {
				return "", fmt.Errorf("symlink %s -> %s: %w", link, target, ErrEscape)
			}
			return "", fmt.Errorf("%s: symlink %s -> %s: %w", name, link, target, ErrEscape)
		}
		// Walk the target again from the root: it may hold symlinks too.
		parts = append(strings.Split(filepath.ToSlash(rel), "/"), parts...)
		cur = l.root
	}
	return cur, nil
}

// open opens name for reading; it must be a regular file (after
// symlinks), so that a FIFO or device cannot stall or flood the reader.
func (l *Layout) open(name string) (*os.File, int64, error) {
	path, err := l.resolve(name)
	if err != nil {
		return nil, 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file (%s): %w", name, st.Mode().Type(), ErrInvalidArgument)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// readFile reads a file of the layout that no descriptor names (index.json,
// oci-layout), up to limit bytes.
func (l *Layout) readFile(name string, limit int64) ([]byte, error) {
	f, _, err := l.open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("layout %s: %s is missing: %w", l.root, name, ErrMissingBlob)
		}
		return nil, fmt.Errorf("layout %s: %w", l.root, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("layout %s: %s: %w", l.root, name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("layout %s: %s is larger than %d bytes: %w", l.root, name, limit, ErrTooLarge)
	}
	return data, nil
}

// blobName is the name of a blob in the layout; d must be checked by
// CheckDescriptor first.
func blobName(d ispec.Descriptor) string {
	return "blobs/sha256/" + strings.TrimPrefix(string(d.Digest), "sha256:")
}

// CheckDescriptor rejects digests other than sha256 (which also keeps blob
// names inside blobs/sha256/) and absurd sizes (limits.CheckSize), with
// an error that names the layout and what and wraps ErrInvalidArgument.
// The blob methods check their descriptor so; it is for the descriptors of
// blobs that are read later or never.
func (l *Layout) CheckDescriptor(what string, d ispec.Descriptor) error {
	if !metadata.ValidDigest(string(d.Digest)) {
		return fmt.Errorf("layout %s: %s: digest %q is not a sha256 digest: %w", l.root, what, d.Digest, ErrInvalidArgument)
	}
	if err := limits.CheckSize(d.Size); err != nil {
		return fmt.Errorf("layout %s: %s %s: %v: %w", l.root, what, d.Digest, err, ErrInvalidArgument)
	}
	return nil
}

// OpenBlob opens the blob of d for reading, checked against d.
//
// The descriptor must name a sha256 digest and a sane size (else the error
// wraps ErrInvalidArgument); the blob must be a regular file inside the
// layout (see Open) of d.Size bytes (else ErrMissingBlob, ErrEscape,
// ErrInvalidArgument or ErrMismatch). The reader yields at most
// d.Size+1 bytes and returns io.EOF only after the content was read whole
// and its size and digest are d's; otherwise its error wraps ErrMismatch.
// Every error names the layout, what and the blob; a Read error is
// sticky (every later Read returns it). The caller closes the reader;
// content read before an error must not be trusted.
func (l *Layout) OpenBlob(what string, d ispec.Descriptor) (io.ReadCloser, error) {
	return l.openBlob(what, d)
}

func (l *Layout) openBlob(what string, d ispec.Descriptor) (*blobReader, error) {
	if err := l.CheckDescriptor(what, d); err != nil {
		return nil, err
	}
	f, size, err := l.open(blobName(d))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("layout %s: %s %s: %s is missing: %w", l.root, what, d.Digest, blobName(d), ErrMissingBlob)
		}
		return nil, fmt.Errorf("layout %s: %s %s: %w", l.root, what, d.Digest, err)
	}
	if size != d.Size {
		f.Close()
		return nil, fmt.Errorf("layout %s: %s %s: %s has %d bytes, the descriptor says %d: %w", l.root, what, d.Digest, blobName(d), size, d.Size, ErrMismatch)
	}
	return &blobReader{l: l, what: what, d: d, f: f, r: io.LimitReader(f, d.Size+1), h: sha256.New()}, nil
}

// blobReader checks a blob's size and digest as it is read.
type blobReader struct {
	l    *Layout
	what string
	d    ispec.Descriptor
	f    *os.File
	r    io.Reader
	h    hash.Hash
	n    int64
	// err is returned by every Read after the first error or io.EOF.
	err error
}

func (b *blobReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	switch {
	case err == io.EOF:
		if got := fmt.Sprintf("sha256:%x", b.h.Sum(nil)); b.n != b.d.Size || got != string(b.d.Digest) {
			err = fmt.Errorf("layout %s: %s %s: %s holds %d bytes with digest %s, the descriptor says %d bytes: %w",
				b.l.root, b.what, b.d.Digest, blobName(b.d), b.n, got, b.d.Size, ErrMismatch)
		}
		b.err = err
	case err != nil:
		b.err = fmt.Errorf("layout %s: %s %s: read %s: %w", b.l.root, b.what, b.d.Digest, blobName(b.d), err)
	}
	return n, b.err
}

func (b *blobReader) Close() error { return b.f.Close() }

// copyTo copies the whole blob of b to w and closes b.
func (b *blobReader) copyTo(w io.Writer) error {
	defer b.Close()
	if _, err := io.Copy(w, b); err != nil {
		if err == b.err {
			return err
		}
		return fmt.Errorf("layout %s: %s %s: %w", b.l.root, b.what, b.d.Digest, err)
	}
	return nil
}

// ReadBlob reads the whole blob of d, a JSON document, and checks its
// size and digest as OpenBlob does. A descriptor whose size is above limit
// is refused before the blob is opened (ErrTooLarge).
func (l *Layout) ReadBlob(what string, d ispec.Descriptor, limit int64) ([]byte, error) {
	if err := l.CheckDescriptor(what, d); err != nil {
		return nil, err
	}
	if d.Size > limit {
		return nil, fmt.Errorf("layout %s: %s %s: %d bytes, more than the limit of %d: %w", l.root, what, d.Digest, d.Size, limit, ErrTooLarge)
	}
	b, err := l.openBlob(what, d)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := b.copyTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CopyBlob copies the blob of d to path atomically (see pkg/atomicfile),
// with the checks of OpenBlob: the file is renamed into place only when
// size and digest match; after an error no file is at path.
func (l *Layout) CopyBlob(what string, d ispec.Descriptor, path string) error {
	in, err := l.openBlob(what, d)
	if err != nil {
		return err
	}
	out, err := atomicfile.Create(path, 0o644)
	if err != nil {
		in.Close()
		return err
	}
	defer out.Abort()
	if err := in.copyTo(out); err != nil {
		return err
	}
	return out.Commit()
}

// DecodeStrict decodes one JSON value from data into v and refuses data
// after it.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}
