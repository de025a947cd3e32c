package estargz

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// manyFiles is a tar of n small files whose table of contents is some
// 200 bytes per file.
func manyFiles(t testing.TB, n int) []byte {
	ms := make([]member, 0, n)
	for i := range n {
		m := reg(fmt.Sprintf("srv/data/%04d/file-%06d.txt", i/100, i), []byte(strings.Repeat("x", i%50)))
		m.h.Uid, m.h.Uname = 1000+i%3, fmt.Sprintf("u%d", i%3)
		ms = append(ms, m)
	}
	return mkTar(t, ms...)
}

// A table of contents larger than spillMemory goes through the temporary
// file and still has the library's bytes; the file is gone after Close.
func TestSpilledTOCMatchesLibrary(t *testing.T) {
	tarball := manyFiles(t, 8000)
	want := referenceBlob(tarball, 1, DefaultChunkSize)
	if want.err != nil {
		t.Fatal(want.err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	w, err := NewWriter(&out, WithLevel(1), WithTempDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AppendTar(bytes.NewReader(tarball)); err != nil {
		t.Fatal(err)
	}
	if w.toc.f == nil {
		t.Fatalf("a table of contents of %d bytes stayed in memory", w.toc.n)
	}
	res, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want.blob) || string(res.TOCDigest) != string(want.tocDigest) || res.DiffID.String() != want.diffID {
		t.Fatalf("blob of %d bytes (TOC %s) differs from the library's %d bytes (TOC %s)", out.Len(), res.TOCDigest, len(want.blob), want.tocDigest)
	}
	assertEmptyDir(t, dir)
}

// After an error the temporary file is gone too.
func TestSpillRemovedOnError(t *testing.T) {
	tarball := manyFiles(t, 8000)
	truncated := tarball[:len(tarball)-1024-700] // inside the last file's data
	dir := t.TempDir()
	var out bytes.Buffer
	w, err := NewWriter(&out, WithLevel(0), WithTempDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AppendTar(bytes.NewReader(truncated)); err == nil {
		t.Fatal("a truncated tar was accepted")
	}
	if w.toc.f == nil {
		t.Fatal("the table of contents stayed in memory")
	}
	if _, err := w.Close(); err == nil {
		t.Fatal("Close after a failed AppendTar succeeded")
	}
	assertEmptyDir(t, dir)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%s holds %d files after Close: %v", dir, len(left), left[0].Name())
	}
}

// An input that is gzip-compressed is refused, not decompressed.
func TestGzipInputRefused(t *testing.T) {
	w, err := NewWriter(&bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.AppendTar(bytes.NewReader([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0}))
	if err == nil || !strings.Contains(err.Error(), "gzip-compressed") {
		t.Fatalf("error %v, want one about gzip-compressed input", err)
	}
}

// Unsupported entry types are errors that name the entry.
func TestUnsupportedType(t *testing.T) {
	tarball := mkTar(t, member{h: tar.Header{Typeflag: 'Z', Name: "odd"}})
	_, _, err := ourBlob(tarball, 1, DefaultChunkSize, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "odd") {
		t.Fatalf("error %v, want one naming entry odd", err)
	}
	if referenceBlob(tarball, 1, DefaultChunkSize).err == nil {
		t.Error("the library accepts it")
	}
}
