package layer

import (
	"archive/tar"
	"testing"
	"unsafe"
)

// The record of each file stays in the 80-byte size class.
func TestEntryRecordSize(t *testing.T) {
	if s := unsafe.Sizeof(entryRecord{}); s > 80 {
		t.Errorf("entryRecord is %d bytes, want at most 80", s)
	}
}

func TestShareTreeSource(t *testing.T) {
	for _, tc := range []struct {
		path, src, dir, root string
		shared               bool
	}{
		{"opt/t/a/b.txt", "/src/tree/a/b.txt", "/src/tree", "opt/t", true},
		{"t/x", "/x", "/", "t", false},                                 // "/" + "/x" is not "/x"
		{"opt/t/abs", "/elsewhere/a.txt", "/src/tree", "opt/t", false}, // reached by an absolute symlink
		{"opt/t", "/src/tree", "/src/tree", "opt/t", false},            // the root itself
		{"opt/tx/a", "/src/tree/a", "/src/tree", "opt/t", false},       // not below root
		{"opt/t/a", "/src/treea", "/src/tree", "opt/t", false},
	} {
		r := &entryRecord{path: tc.path, src: tc.src, typ: tar.TypeReg}
		r.shareTreeSource(tc.dir, tc.root)
		if shared := r.treeCut != 0; shared != tc.shared {
			t.Errorf("%+v: shared = %v, want %v", tc, shared, tc.shared)
		}
		if got := r.source(); got != tc.src {
			t.Errorf("%+v: source() = %q, want %q", tc, got, tc.src)
		}
	}
}
