package layer_test

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

// fuzzMaxUncompressed bounds the uncompressed size of a fuzz input; larger
// inputs (compression bombs) are skipped, not imported.
const fuzzMaxUncompressed = 8 << 20

// FuzzImportTar imports arbitrary bytes (a tar, plain, gzip or zstd) into a
// layer. Whatever the input, ImportTar returns an error or a layer that is
// a well-formed tar whose names are clean relative paths, whose hardlinks
// point at earlier entries, whose regular files keep the content the input
// gave them, and (without parent directories, which may add an entry per
// path element) whose size is bounded by the uncompressed input's plus the
// sizes its headers declare.
//
// Inputs whose headers declare more than fuzzMaxUncompressed bytes are
// skipped: a sparse entry expands its holes to zeros, so a tar of a few
// KiB may declare (and yield) a layer of gigabytes.
// Seeds: testdata/fuzz/FuzzImportTar (tars written by GNU tar and by
// archive/tar, compressed and not).
func FuzzImportTar(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, parents bool) {
		plain, ok := fuzzUncompressed(data)
		if !ok {
			return
		}
		declared, ok := fuzzDeclared(plain)
		if !ok {
			return
		}
		var out bytes.Buffer
		var opts []layer.Option
		if parents {
			opts = append(opts, layer.WithParentDirectories())
		}
		w, err := layer.New(&out, nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.ImportTar("fuzz", bytes.NewReader(data)); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close after a successful import: %v", err)
		}
		if max := 3*int64(len(plain)) + declared + 4096; !parents && int64(out.Len()) > max {
			t.Fatalf("layer of %d bytes from %d uncompressed input bytes declaring %d", out.Len(), len(plain), declared)
		}
		want := fuzzContents(plain)
		got := map[string][]byte{}
		seen := map[string]byte{}
		tr := tar.NewReader(&out)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("the layer is not a valid tar: %v", err)
			}
			name := h.Name
			if h.Typeflag == tar.TypeDir {
				if !strings.HasSuffix(name, "/") {
					t.Fatalf("directory %q does not end in /", name)
				}
				name = strings.TrimSuffix(name, "/")
			}
			if !fuzzClean(name) {
				t.Fatalf("entry name %q is not a clean relative path", h.Name)
			}
			if prev, dup := seen[name]; dup && !(prev == tar.TypeDir && h.Typeflag == tar.TypeDir) {
				t.Fatalf("entry %q appears twice (types %q and %q)", name, prev, h.Typeflag)
			}
			seen[name] = h.Typeflag
			switch h.Typeflag {
			case tar.TypeReg:
				body, err := io.ReadAll(tr)
				if err != nil {
					t.Fatalf("read %q: %v", name, err)
				}
				got[name] = body
			case tar.TypeLink:
				if !fuzzClean(h.Linkname) {
					t.Fatalf("hardlink %q -> %q: target is not a clean relative path", name, h.Linkname)
				}
				body, ok := got[h.Linkname]
				if !ok {
					t.Fatalf("hardlink %q -> %q: target is not an earlier regular file", name, h.Linkname)
				}
				got[name] = body
			}
		}
		for name, body := range got {
			if in, ok := want[name]; ok && !bytes.Equal(in, body) {
				t.Fatalf("%q: layer content %q, input content %q", name, body, in)
			}
		}
	})
}

// fuzzUncompressed returns the uncompressed input, or false if it cannot
// be decompressed or is too large to import in a fuzz run.
func fuzzUncompressed(data []byte) ([]byte, bool) {
	r, done, err := layer.OpenUncompressed(bytes.NewReader(data))
	if err != nil {
		return nil, false
	}
	defer done()
	b, err := io.ReadAll(io.LimitReader(r, fuzzMaxUncompressed+1))
	if err != nil || len(b) > fuzzMaxUncompressed {
		return nil, false
	}
	return b, true
}

// fuzzDeclared sums the sizes that the headers of a tar declare, reading
// only the headers, and reports whether that is small enough to import.
func fuzzDeclared(plain []byte) (int64, bool) {
	var sum int64
	tr := tar.NewReader(bytes.NewReader(plain))
	for {
		h, err := tr.Next()
		if err != nil {
			return sum, true
		}
		if h.Size < 0 || h.Size > fuzzMaxUncompressed-sum {
			return 0, false
		}
		sum += h.Size
	}
}

// fuzzContents reads the regular files of a tar independently of the
// importer: the first content of each clean path, also through hardlinks.
// Reading stops at the first error; what was read until then is kept.
func fuzzContents(plain []byte) map[string][]byte {
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(plain))
	for {
		h, err := tr.Next()
		if err != nil {
			return out
		}
		name, err := layer.CleanPath(h.Name)
		if err != nil {
			continue
		}
		if _, ok := out[name]; ok {
			continue
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			body, err := io.ReadAll(tr)
			if err != nil {
				return out
			}
			out[name] = body
		case tar.TypeLink:
			if target, err := layer.CleanPath(h.Linkname); err == nil {
				if body, ok := out[target]; ok {
					out[name] = body
				}
			}
		}
	}
}

// fuzzClean reports whether name is a tar name as the layer writes it:
// relative, not empty, no "." or ".." elements, no doubled slashes.
func fuzzClean(name string) bool {
	return name != "" && name != "." && !strings.HasPrefix(name, "/") &&
		path.Clean(name) == name && name != ".." && !strings.HasPrefix(name, "../")
}
