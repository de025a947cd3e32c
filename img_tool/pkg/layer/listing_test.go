package layer_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/layer"
	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
)

// TestWithListing: the listing made while writing equals the listing of
// the written tar read back (parents, hardlinks of repeated content,
// symlinks and imported entries included), and the tar bytes are those of
// a writer without a listing.
func TestWithListing(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("same"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(w *layer.Writer) error {
		if err := w.AddFile("/app/one", filepath.Join(dir, "a")); err != nil {
			return err
		}
		if err := w.AddFile("/app/two", filepath.Join(dir, "b")); err != nil {
			return err
		}
		if err := w.ImportTar("in.tar", bytes.NewReader(inputTar(t))); err != nil {
			return err
		}
		return w.AddSymlink("/bin/app", "/app/one")
	}
	write := func(opts ...layer.Option) []byte {
		var b bytes.Buffer
		w, err := layer.New(&b, nil, append(opts, layer.WithParentDirectories())...)
		if err != nil {
			t.Fatal(err)
		}
		if err := build(w); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	var during bytes.Buffer
	lw := mtree.NewWriter(&during)
	withListing := write(layer.WithListing(lw))
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(withListing, write()) {
		t.Fatal("the listing changed the layer bytes")
	}
	var after bytes.Buffer
	aw := mtree.NewWriter(&after)
	tee := mtree.NewTarTee(aw)
	tee.Write(withListing)
	if err := tee.Close(); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	if during.String() != after.String() {
		t.Errorf("listing while writing:\n%s\nlisting of the tar:\n%s", during.String(), after.String())
	}
	for _, want := range []string{"./app type=dir mode=755", "./app/two type=file mode=755 uid=0 gid=0 size=4 link=./app/one", "./bin/app type=link mode=0 uid=0 gid=0 link=/app/one"} {
		if !strings.Contains(during.String(), want+"\n") && !strings.Contains(during.String(), want+" ") {
			t.Errorf("listing lacks %q:\n%s", want, during.String())
		}
	}
}

// A failing listing fails the entry being written.
func TestWithListingError(t *testing.T) {
	if _, err := layer.New(&bytes.Buffer{}, nil, layer.WithListing(nil)); !errors.Is(err, layer.ErrInvalidArgument) {
		t.Errorf("WithListing(nil): %v", err)
	}
	w, err := layer.New(&bytes.Buffer{}, nil, layer.WithListing(failingLister{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddSymlink("/x", "y"); err == nil || !strings.Contains(err.Error(), "list /x: full") {
		t.Errorf("AddSymlink with a failing listing: %v", err)
	}
}

type failingLister struct{}

func (failingLister) AddHeader(*tar.Header) error { return errors.New("full") }
