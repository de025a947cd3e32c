package metadata_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// FuzzRead decodes arbitrary bytes as a layer metadata file. Accepted
// metadata is valid; written with Write and read again it is the same
// (annotations are never nil after Write), and writing it twice gives the
// same bytes. Seeds: testdata/fuzz/FuzzRead (files as the layer action
// writes them).
func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := filepath.Join(dir, "in.json")
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := metadata.Read(in)
		if err != nil {
			if l != nil {
				t.Fatal("metadata and an error")
			}
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("Read accepted invalid metadata: %v", err)
		}
		out := filepath.Join(dir, "out.json")
		if err := metadata.Write(out, l); err != nil {
			t.Fatalf("Write: %v", err)
		}
		first, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		again, err := metadata.Read(out)
		if err != nil {
			t.Fatalf("reading written metadata %s: %v", first, err)
		}
		if !reflect.DeepEqual(l, again) {
			t.Fatalf("read %+v, written and read again %+v", l, again)
		}
		if err := metadata.Write(out, again); err != nil {
			t.Fatal(err)
		}
		second, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Fatalf("writing equal metadata twice gives different bytes:\n%s\n%s", first, second)
		}
	})
}
