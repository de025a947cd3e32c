package tarpolicy

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "a", want: "a"},
		{in: "./a/", want: "a"},
		{in: "/a//b/./c", want: "a/b/c"},
		{in: "///abs", want: "abs"},
		{in: "./", want: Root},
		{in: ".", want: Root},
		{in: "/", want: Root},
		{in: "", err: "empty name"},
		{in: "../x", err: "escapes the root"},
		{in: "a/../b", err: "escapes the root"},
		{in: "/..", err: "escapes the root"},
		{in: strings.Repeat("x", MaxNameLength+1), err: "bytes (more than"},
	} {
		got, err := Clean(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalidArgument)):
			t.Errorf("Clean(%.40q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Clean(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"1": 1, "128M": 128 << 20, "128MiB": 128 << 20, "2G": 2 << 30, "64K": 64 << 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1T", "x", "99999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

func TestChecker(t *testing.T) {
	reg := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeReg} }
	dir := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeDir} }
	sym := func(n, l string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: l} }
	link := func(n, l string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeLink, Linkname: l} }
	for _, tc := range []struct {
		name string
		hs   []*tar.Header
		err  string // of the last header; "" if all pass
	}{
		{"tree", []*tar.Header{dir("./"), dir("./a/"), reg("./a/f"), link("./a/g", "./a/f"), link("a/h", "/a/g"), sym("a/l", "f")}, ""},
		{"symlink replaced by a directory", []*tar.Header{sym("a", "b"), dir("a"), reg("a/f")}, ""},
		{"under a symlink", []*tar.Header{sym("a", "/"), reg("a/b/c")}, `"a/b/c" is below "a", a symlink`},
		{"under a file", []*tar.Header{reg("a"), dir("a/b/")}, `"a/b/" is below "a", which is not a directory`},
		{"hardlink to itself", []*tar.Header{link("a", "a")}, "points to itself"},
		{"hardlink to a symlink", []*tar.Header{sym("s", "x"), link("a", "s")}, "hardlink /a points to /s"},
		{"hardlink to the root", []*tar.Header{link("a", "./")}, "not a file inside the layer"},
		{"root as a file", []*tar.Header{reg("./")}, "names the root"},
		{"symlink without a target", []*tar.Header{sym("s", "")}, "empty target"},
		{"bad device", []*tar.Header{{Name: "d", Typeflag: tar.TypeChar, Devmajor: -1}}, "device numbers"},
		{"old GNU sparse", []*tar.Header{{Name: "s", Typeflag: tar.TypeGNUSparse}}, "old GNU sparse"},
	} {
		var c Checker
		var err error
		for i, h := range tc.hs {
			_, err = c.Check(h)
			if err != nil && i != len(tc.hs)-1 {
				t.Fatalf("%s: header %d: %v", tc.name, i, err)
			}
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
	c := Checker{EarlierFile: func(n string) bool { return n == "outside" }}
	if m, err := c.Check(link("x", "/outside")); err != nil || m.Link != "outside" {
		t.Errorf("hardlink to an earlier file of the layer: %+v, %v", m, err)
	}
}

// CopyChecked passes the bytes unchanged, and nothing of a member after
// a rejected one.
func TestCopyChecked(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	tw.WriteHeader(&tar.Header{Name: "../bad", Typeflag: tar.TypeReg, Size: 4})
	tw.Write([]byte("evil"))
	tw.Close()
	var out bytes.Buffer
	err := CopyChecked(&out, bytes.NewReader(in.Bytes()))
	if err == nil || !strings.Contains(err.Error(), `"../bad"`) {
		t.Fatalf("CopyChecked: %v, want an error naming ../bad", err)
	}
	if bytes.Contains(out.Bytes(), []byte("evil")) {
		t.Error("the content of the rejected member reached the output")
	}
	in.Reset()
	tw = tar.NewWriter(&in)
	tw.WriteHeader(&tar.Header{Name: "./ok", Typeflag: tar.TypeReg, Size: 2})
	tw.Write([]byte("ok"))
	tw.Close()
	in.Write(make([]byte, 4096)) // padding after the marker
	out.Reset()
	if err := CopyChecked(&out, bytes.NewReader(in.Bytes())); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in.Bytes()) {
		t.Error("CopyChecked changed the bytes")
	}
	if err := CopyChecked(io.Discard, bytes.NewReader(in.Bytes()[:700])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated tar: %v", err)
	}
}
