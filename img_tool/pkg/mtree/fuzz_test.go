package mtree_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
)

// FuzzRead parses arbitrary bytes as a listing. Whatever the input, Read
// returns an error or entries with clean paths and valid types; and every
// listing it accepts, written again by Writer, reads back to the same
// entries (write and read are inverse on what Read accepts).
// Seeds: testdata/fuzz/FuzzRead (listings of Writer and of bsdtar).
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := mtree.ReadAll(bytes.NewReader(data), mtree.WithMaxEntries(1000))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		var buf bytes.Buffer
		w := mtree.NewWriter(&buf)
		for _, e := range entries {
			if e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.HasPrefix(e.Path, "../") {
				t.Fatalf("unclean path %q", e.Path)
			}
			if err := w.Add(e); err != nil {
				t.Fatalf("Add(%+v) of a parsed entry: %v", e, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := mtree.ReadAll(&buf)
		if err != nil {
			t.Fatalf("re-reading the written listing: %v\n%s", err, buf.String())
		}
		if len(again) != len(entries) {
			t.Fatalf("re-read %d entries, want %d", len(again), len(entries))
		}
		for i := range again {
			want := entries[i]
			if want.Hardlink && want.Size == 0 {
				want.Size = again[i].Size // the writer resolves hardlink sizes
			}
			if again[i] != want {
				t.Fatalf("entry %d: re-read %+v, want %+v", i, again[i], want)
			}
		}
	})
}
