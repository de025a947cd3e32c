package layer

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files are hashed only when deduplication needs it: a file above
// eagerHash bytes whose size and header no earlier file has is not.
func TestLazyHashing(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int, fill byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{fill}, size), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unique := write("unique", eagerHash+1, 'u')
	first := write("first", eagerHash+2, 'f')
	second := write("second", eagerHash+2, 's')
	tiny := write("tiny", eagerHash, 't')
	write("tree/a", eagerHash+3, 'a')
	write("tree/b", eagerHash+4, 'b')
	write("tree/c", eagerHash+4, 'c')
	var imp bytes.Buffer
	tw := tar.NewWriter(&imp)
	body := strings.Repeat("i", eagerHash+5)
	if err := tw.WriteHeader(&tar.Header{Name: "imported", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, body)
	tw.Close()

	w := NewWriter(io.Discard, nil)
	for _, f := range []struct{ name, src string }{{"unique", unique}, {"first", first}, {"second", second}, {"tiny", tiny}} {
		if err := w.AddFile(f.name, f.src); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTree("tree", filepath.Join(dir, "tree")); err != nil {
		t.Fatal(err)
	}
	if err := w.ImportTar("imp.tar", &imp); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"unique": false, "first": true, "second": true, "tiny": true,
		"tree/a": false, "tree/b": true, "tree/c": true, "imported": true,
	} {
		if got := w.paths[name].hashed; got != want {
			t.Errorf("/%s hashed = %v, want %v", name, got, want)
		}
	}
	if w.Links != 0 {
		t.Errorf("%d links, want 0", w.Links)
	}
}
