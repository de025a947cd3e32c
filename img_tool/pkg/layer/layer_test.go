package layer_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rules-img/rules_img/img_tool/internal/blobcheck"
	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/layer"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// bigSize is above the writer's 1 MiB in-memory limit.
const bigSize = 1<<20 + 100

var epoch = time.Unix(0, 0).UTC()

// hostTime is the mtime of every source file; it must not leak into headers.
var hostTime = time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)

func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// sources creates the host files the tests add, below a new directory.
// Paths are given with "/" and returned by src.
func sources(t *testing.T) (src func(string) string) {
	t.Helper()
	dir := t.TempDir()
	big := randomBytes(1, bigSize)
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{"a.txt", []byte("alpha\n"), 0o644},
		{"a-copy.txt", []byte("alpha\n"), 0o644},
		{"a-exec.sh", []byte("alpha\n"), 0o755},
		{"b.txt", []byte("bravo\n"), 0o644},
		{"tool.sh", []byte("#!/bin/sh\necho hi\n"), 0o755},
		{"tool700.sh", []byte("#!/bin/sh\necho 700\n"), 0o700},
		{"private.txt", []byte("private\n"), 0o600},
		{"empty1", nil, 0o644},
		{"empty2", nil, 0o644},
		{"big1", big, 0o644},
		{"big1-copy", big, 0o644},
		{"big2", randomBytes(2, bigSize), 0o644},
		{"tree/b.txt", []byte("bravo\n"), 0o644},
		{"tree/a/x.txt", []byte("x\n"), 0o644},
		{"rdata/data.txt", []byte("data\n"), 0o644},
		{"rtree/f.txt", []byte("f\n"), 0o644},
	} {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, f.perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.perm); err != nil { // not subject to the umask
			t.Fatal(err)
		}
		if err := os.Chtimes(p, hostTime, hostTime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tree", "a", "deep"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b.txt", filepath.Join(dir, "tree", "link")); err != nil {
		t.Fatal(err)
	}
	// Absolute symlinks in a tree are a sandbox's staging: they are followed.
	if err := os.Symlink(filepath.Join(dir, "a.txt"), filepath.Join(dir, "tree", "abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "rtree"), filepath.Join(dir, "tree", "absdir")); err != nil {
		t.Fatal(err)
	}
	return func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
}

// writeLayer runs build on a layer writer, compresses the stream into a blob
// and checks it with the independent checker. On error it also checks that
// no file is left in the output directory.
func writeLayer(t *testing.T, md *layer.Metadata, build func(w *layer.Writer) error, opts ...compress.Option) ([]blobcheck.Entry, []byte, error) {
	t.Helper()
	return writeLayerWith(t, md, nil, build, opts...)
}

// writeLayerWith is writeLayer with writer options (layer.New).
func writeLayerWith(t *testing.T, md *layer.Metadata, lopts []layer.Option, build func(w *layer.Writer) error, opts ...compress.Option) ([]blobcheck.Entry, []byte, error) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "blob")
	if opts == nil {
		opts = []compress.Option{compress.WithFormat(compress.Uncompressed)}
	}
	res, err := compress.WriteFile(out, func(w io.Writer) error {
		lw, err := layer.New(w, md, lopts...)
		if err != nil {
			return err
		}
		if err := build(lw); err != nil {
			return err
		}
		return lw.Close()
	}, opts...)
	if err != nil {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("failed layer left %d files in the output directory", len(ents))
		}
		return nil, nil, err
	}
	l := metadata.Layer{DiffID: res.DiffID, MediaType: res.MediaType, Digest: res.Digest, Size: res.Size, Annotations: res.Annotations}
	if err := blobcheck.Check(out, l); err != nil {
		t.Fatal(err)
	}
	ents, err := blobcheck.ReadTar(out, res.MediaType)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return ents, blob, nil
}

// ent is the part of a tar entry the tests compare.
type ent struct {
	name string
	typ  byte
	link string
	mode int64
	data string
}

func (e ent) String() string {
	return fmt.Sprintf("{%s %c %q %04o %d bytes}", e.name, e.typ, e.link, e.mode, len(e.data))
}

func reg(name string, mode int64, data string) ent {
	return ent{name: name, typ: tar.TypeReg, mode: mode, data: data}
}
func dir(name string) ent { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func hardlink(name, target string, mode int64) ent {
	return ent{name: name, typ: tar.TypeLink, link: target, mode: mode}
}
func symlink(name, target string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: target, mode: 0}
}

func summarize(ents []blobcheck.Entry) []ent {
	out := make([]ent, 0, len(ents))
	for _, e := range ents {
		out = append(out, ent{e.Header.Name, e.Header.Typeflag, e.Header.Linkname, e.Header.Mode, string(e.Data)})
	}
	return out
}

func compareEntries(t *testing.T, got []blobcheck.Entry, want []ent) {
	t.Helper()
	if g := summarize(got); !reflect.DeepEqual(g, want) {
		t.Errorf("entries:\n got %v\nwant %v", g, want)
	}
}

// checkReproducible fails for host data in headers: mtimes, owners, names.
func checkReproducible(t *testing.T, ents []blobcheck.Entry) {
	t.Helper()
	for _, e := range ents {
		h := e.Header
		if !h.ModTime.Equal(epoch) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || len(h.PAXRecords) != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d uname %q gname %q pax %v; want epoch, 0, 0, empty, empty, none",
				h.Name, h.ModTime.UTC(), h.Uid, h.Gid, h.Uname, h.Gname, h.PAXRecords)
		}
	}
}

type buildFunc func(w *layer.Writer, src func(string) string) error

func ops(fs ...buildFunc) buildFunc {
	return func(w *layer.Writer, src func(string) string) error {
		for _, f := range fs {
			if err := f(w, src); err != nil {
				return err
			}
		}
		return nil
	}
}

func addFile(p, s string) buildFunc {
	return func(w *layer.Writer, src func(string) string) error { return w.AddFile(p, src(s)) }
}

func addTree(p, s string) buildFunc {
	return func(w *layer.Writer, src func(string) string) error { return w.AddTree(p, src(s)) }
}

func addSymlink(p, target string) buildFunc {
	return func(w *layer.Writer, _ func(string) string) error { return w.AddSymlink(p, target) }
}

var big1 = string(randomBytes(1, bigSize))
var big2 = string(randomBytes(2, bigSize))

var treeEntries = []ent{
	dir("opt/tree/"),
	dir("opt/tree/a/"),
	dir("opt/tree/a/deep/"),
	reg("opt/tree/a/x.txt", 0o755, "x\n"),
	reg("opt/tree/abs", 0o755, "alpha\n"),
	dir("opt/tree/absdir/"),
	reg("opt/tree/absdir/f.txt", 0o755, "f\n"),
	reg("opt/tree/b.txt", 0o755, "bravo\n"),
	symlink("opt/tree/link", "b.txt"),
}

func TestWriter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		build   buildFunc
		want    []ent
		wantErr error
		// wantMsg are substrings of the error; "$src:" names a source file.
		wantMsg []string
	}{
		{
			name: "files are 0755 whatever their host mode",
			build: ops(addFile("/app/a.txt", "a.txt"), addFile("/app/tool", "tool.sh"),
				addFile("/app/tool700", "tool700.sh"), addFile("/app/private", "private.txt")),
			want: []ent{reg("app/a.txt", 0o755, "alpha\n"), reg("app/tool", 0o755, "#!/bin/sh\necho hi\n"),
				reg("app/tool700", 0o755, "#!/bin/sh\necho 700\n"), reg("app/private", 0o755, "private\n")},
		},
		{
			name:  "path is cleaned",
			build: addFile("//app/./x/", "a.txt"),
			want:  []ent{reg("app/x", 0o755, "alpha\n")},
		},
		{
			name:  "equal content becomes a hardlink",
			build: ops(addFile("/x/a", "a.txt"), addFile("/y/b", "a-copy.txt")),
			want:  []ent{reg("x/a", 0o755, "alpha\n"), hardlink("y/b", "x/a", 0o755)},
		},
		{
			name:  "same source at two paths",
			build: ops(addFile("/x/a", "a.txt"), addFile("/y/a", "a.txt"), addFile("/z/a", "a-copy.txt")),
			want:  []ent{reg("x/a", 0o755, "alpha\n"), hardlink("y/a", "x/a", 0o755), hardlink("z/a", "x/a", 0o755)},
		},
		{
			name:  "equal content, different host mode: a hardlink",
			build: ops(addFile("/x/a", "a.txt"), addFile("/x/e", "a-exec.sh")),
			want:  []ent{reg("x/a", 0o755, "alpha\n"), hardlink("x/e", "x/a", 0o755)},
		},
		{
			name:  "empty files stay regular",
			build: ops(addFile("/e1", "empty1"), addFile("/e2", "empty2")),
			want:  []ent{reg("e1", 0o755, ""), reg("e2", 0o755, "")},
		},
		{
			name:  "large files of equal size",
			build: ops(addFile("/big/1", "big1"), addFile("/big/2", "big2"), addFile("/big/3", "big1-copy")),
			want:  []ent{reg("big/1", 0o755, big1), reg("big/2", 0o755, big2), hardlink("big/3", "big/1", 0o755)},
		},
		{
			name:  "same path, same source twice",
			build: ops(addFile("/x/a", "a.txt"), addFile("x/a", "a.txt")),
			want:  []ent{reg("x/a", 0o755, "alpha\n")},
		},
		{
			name:  "same path, identical content",
			build: ops(addFile("/x/a", "a.txt"), addFile("/x/a", "a-copy.txt")),
			want:  []ent{reg("x/a", 0o755, "alpha\n")},
		},
		{
			name:    "same path, different content",
			build:   ops(addFile("/x/a", "a.txt"), addFile("/x/a", "b.txt")),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"/x/a", "$src:a.txt", "$src:b.txt"},
		},
		{
			name:    "same path, file then symlink",
			build:   ops(addFile("/x/a", "a.txt"), addSymlink("/x/a", "b")),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"/x/a", "$src:a.txt", "a symlink to b"},
		},
		{
			name:  "same symlink twice",
			build: ops(addSymlink("/l", "t"), addSymlink("l", "t")),
			want:  []ent{symlink("l", "t")},
		},
		{
			name:    "same path, two symlink targets",
			build:   ops(addSymlink("/l", "t1"), addSymlink("/l", "t2")),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"/l", "a symlink to t1", "a symlink to t2"},
		},
		{
			name:    "same path, directory then file",
			build:   ops(addTree("/opt/tree", "tree"), addFile("/opt/tree", "a.txt")),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"/opt/tree", "a directory", "$src:a.txt"},
		},
		{
			name:  "tree sorted, directories with slash, relative symlinks kept",
			build: addTree("/opt/tree", "tree"),
			want:  treeEntries,
		},
		{
			name:  "AddFile of a directory adds the tree",
			build: addFile("/opt/tree", "tree"),
			want:  treeEntries,
		},
		{
			name:  "tree twice",
			build: ops(addTree("/opt/tree", "tree"), addTree("/opt/tree/", "tree")),
			want:  treeEntries,
		},
		{
			name:  "tree file equal to an earlier file",
			build: ops(addFile("/b", "b.txt"), addTree("/opt/tree", "tree")),
			want: append([]ent{reg("b", 0o755, "bravo\n")}, dir("opt/tree/"), dir("opt/tree/a/"), dir("opt/tree/a/deep/"),
				reg("opt/tree/a/x.txt", 0o755, "x\n"), reg("opt/tree/abs", 0o755, "alpha\n"),
				dir("opt/tree/absdir/"), reg("opt/tree/absdir/f.txt", 0o755, "f\n"),
				hardlink("opt/tree/b.txt", "b", 0o755), symlink("opt/tree/link", "b.txt")),
		},
		{
			name: "executable with runfiles",
			build: func(w *layer.Writer, src func(string) string) error {
				return w.AddExecutable("/bin/tool", src("tool.sh"), []layer.RunfilesEntry{
					{Path: "_main/data.txt", Source: src("rdata/data.txt")},
					{Path: "_main/rtree", Source: src("rtree"), Dir: true},
				})
			},
			want: []ent{
				reg("bin/tool", 0o755, "#!/bin/sh\necho hi\n"),
				reg("bin/tool.runfiles/_main/data.txt", 0o755, "data\n"),
				dir("bin/tool.runfiles/_main/rtree/"),
				reg("bin/tool.runfiles/_main/rtree/f.txt", 0o755, "f\n"),
			},
		},
		{
			name: "runfiles path escapes",
			build: func(w *layer.Writer, src func(string) string) error {
				return w.AddExecutable("/bin/tool", src("tool.sh"), []layer.RunfilesEntry{{Path: "../x", Source: src("a.txt")}})
			},
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"runfiles of /bin/tool", "../x"},
		},
		{
			name:    "file escapes the root",
			build:   addFile("../x", "a.txt"),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{`"../x"`},
		},
		{
			name:    "file escapes the root in the middle",
			build:   addFile("/a/../../x", "a.txt"),
			wantErr: layer.ErrInvalidArgument,
		},
		{
			name:    "symlink escapes the root",
			build:   addSymlink("../x", "a"),
			wantErr: layer.ErrInvalidArgument,
		},
		{
			name:    "tree escapes the root",
			build:   addTree("..", "tree"),
			wantErr: layer.ErrInvalidArgument,
		},
		{
			name: "executable escapes the root",
			build: func(w *layer.Writer, src func(string) string) error {
				return w.AddExecutable("../tool", src("tool.sh"), nil)
			},
			wantErr: layer.ErrInvalidArgument,
		},
		{
			name:    "empty path",
			build:   addFile("/", "a.txt"),
			wantErr: layer.ErrInvalidArgument,
		},
		{
			name:    "empty symlink target",
			build:   addSymlink("/l", ""),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"/l"},
		},
		{
			name:    "missing source",
			build:   addFile("/x", "no-such-file"),
			wantErr: fs.ErrNotExist,
			wantMsg: []string{"/x", "$src:no-such-file"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources(t)
			ents, _, err := writeLayer(t, nil, func(w *layer.Writer) error { return tc.build(w, src) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("write layer: %v, want %v", err, tc.wantErr)
			}
			for _, m := range tc.wantMsg {
				if s, ok := strings.CutPrefix(m, "$src:"); ok {
					m = src(s)
				}
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %q", err, m)
				}
			}
			if err != nil {
				return
			}
			compareEntries(t, ents, tc.want)
			checkReproducible(t, ents)
		})
	}
}

func strp(s string) *string { return &s }
func intp(i int) *int       { return &i }

func TestWriterMetadata(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	// hdr is the part of a header that metadata can set.
	type hdr struct {
		name         string
		typ          byte
		link         string
		mode         int64
		uid, gid     int
		uname, gname string
		mtime        time.Time
		pax          map[string]string
	}
	plain := func(name string, typ byte, link string, mode int64) hdr {
		return hdr{name: name, typ: typ, link: link, mode: mode, mtime: epoch}
	}
	app := func(name string, typ byte, link string, mode int64) hdr {
		return hdr{name, typ, link, mode, 1000, 100, "app", "users", when, nil}
	}
	for _, tc := range []struct {
		name      string
		defaults  string
		overrides map[string]string
		build     buildFunc
		want      []hdr
		wantErr   error
		wantMsg   string
	}{
		{
			name:     "defaults; directories keep their mode",
			defaults: `{"uid":1000,"gid":100,"uname":"app","gname":"users","mtime":"2024-01-02T03:04:05Z","mode":"0600"}`,
			build:    ops(addTree("/d", "rtree"), addFile("/t", "tool.sh")),
			want: []hdr{
				app("d/", tar.TypeDir, "", 0o755),
				app("d/f.txt", tar.TypeReg, "", 0o600),
				app("t", tar.TypeReg, "", 0o600),
			},
		},
		{
			name:      "override over defaults",
			defaults:  `{"uid":1000,"gid":100,"uname":"app","gname":"users","mtime":"2024-01-02T03:04:05Z"}`,
			overrides: map[string]string{"/app/a": `{"uid":0,"uname":"root","mode":"4755","pax_records":{"SCHILY.xattr.user.k":"v"}}`},
			build:     ops(addFile("/app/a", "a.txt"), addFile("/app/b", "b.txt")),
			want: []hdr{
				{"app/a", tar.TypeReg, "", 0o4755, 0, 100, "root", "users", when, map[string]string{"SCHILY.xattr.user.k": "v"}},
				app("app/b", tar.TypeReg, "", 0o755),
			},
		},
		{
			name:      "override sets directory mode",
			overrides: map[string]string{"d/": `{"mode":"0700"}`},
			build:     addTree("/d", "rtree"),
			want:      []hdr{plain("d/", tar.TypeDir, "", 0o700), plain("d/f.txt", tar.TypeReg, "", 0o755)},
		},
		{
			name:      "override on a symlink",
			overrides: map[string]string{"//l": `{"uid":5}`},
			build:     addSymlink("/l", "t"),
			want:      []hdr{{name: "l", typ: tar.TypeSymlink, link: "t", mode: 0, uid: 5, mtime: epoch}},
		},
		{
			name:      "different mode by metadata: no hardlink",
			overrides: map[string]string{"/y/b": `{"mode":"0600"}`},
			build:     ops(addFile("/x/a", "a.txt"), addFile("/y/b", "a-copy.txt")),
			want:      []hdr{plain("x/a", tar.TypeReg, "", 0o755), plain("y/b", tar.TypeReg, "", 0o600)},
		},
		{
			name:      "different mtime by metadata: no hardlink",
			overrides: map[string]string{"/y/b": `{"mtime":"2024-01-02T03:04:05Z"}`},
			build:     ops(addFile("/x/a", "a.txt"), addFile("/y/b", "a.txt")),
			want:      []hdr{plain("x/a", tar.TypeReg, "", 0o755), {name: "y/b", typ: tar.TypeReg, mode: 0o755, mtime: when}},
		},
		{
			name:      "different pax records: no hardlink",
			overrides: map[string]string{"/y/b": `{"pax_records":{"SCHILY.xattr.user.k":"v"}}`},
			build:     ops(addFile("/x/a", "a.txt"), addFile("/y/b", "a.txt")),
			want: []hdr{plain("x/a", tar.TypeReg, "", 0o755),
				{name: "y/b", typ: tar.TypeReg, mode: 0o755, mtime: epoch, pax: map[string]string{"SCHILY.xattr.user.k": "v"}}},
		},
		{
			name:      "equal metadata: hardlink",
			overrides: map[string]string{"/x/a": `{"uid":7}`, "/y/b": `{"uid":7}`},
			build:     ops(addFile("/x/a", "a.txt"), addFile("/y/b", "a-copy.txt")),
			want: []hdr{{name: "x/a", typ: tar.TypeReg, mode: 0o755, uid: 7, mtime: epoch},
				{name: "y/b", typ: tar.TypeLink, link: "x/a", mode: 0o755, uid: 7, mtime: epoch}},
		},
		{
			name:      "unused override",
			overrides: map[string]string{"/the/path": `{"uid":1}`, "/app/a": `{"uid":2}`},
			build:     addFile("/app/a", "a.txt"),
			wantErr:   layer.ErrInvalidArgument,
			wantMsg:   "/the/path",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources(t)
			md, err := layer.ParseMetadata(tc.defaults, tc.overrides)
			if err != nil {
				t.Fatalf("ParseMetadata() = %v", err)
			}
			ents, _, err := writeLayer(t, md, func(w *layer.Writer) error { return tc.build(w, src) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("write layer: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("error %q does not name %q", err, tc.wantMsg)
				}
				return
			}
			var got []hdr
			for _, e := range ents {
				h := e.Header
				pax := h.PAXRecords
				if len(pax) == 0 {
					pax = nil
				}
				got = append(got, hdr{h.Name, h.Typeflag, h.Linkname, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime.UTC(), pax})
			}
			for i := range tc.want {
				tc.want[i].mtime = tc.want[i].mtime.UTC()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("headers:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseMetadata(t *testing.T) {
	for _, tc := range []struct {
		name      string
		defaults  string
		overrides map[string]string
		want      *layer.FileMetadata // the defaults, when no error
		wantErr   error
	}{
		{"empty", "", nil, nil, nil},
		{"all fields", `{"mode":"0755","uid":1,"gid":2,"uname":"u","gname":"g","mtime":"2024-01-02T03:04:05+01:00","pax_records":{"k":"v"}}`, nil,
			&layer.FileMetadata{Mode: strp("0755"), UID: intp(1), GID: intp(2), Uname: strp("u"), Gname: strp("g"),
				Mtime: strp("2024-01-02T03:04:05+01:00"), PAXRecords: map[string]string{"k": "v"}}, nil},
		{"mode rwx", `{"mode":"rwx"}`, nil, nil, layer.ErrInvalidArgument},
		{"mode 99", `{"mode":"99"}`, nil, nil, layer.ErrInvalidArgument},
		{"mode too large", `{"mode":"10000"}`, nil, nil, layer.ErrInvalidArgument},
		{"mode negative", `{"mode":"-1"}`, nil, nil, layer.ErrInvalidArgument},
		{"mtime not RFC 3339", `{"mtime":"yesterday"}`, nil, nil, layer.ErrInvalidArgument},
		{"mtime date only", `{"mtime":"2024-01-02"}`, nil, nil, layer.ErrInvalidArgument},
		{"negative uid", `{"uid":-1}`, nil, nil, layer.ErrInvalidArgument},
		{"negative gid", `{"gid":-2}`, nil, nil, layer.ErrInvalidArgument},
		{"unknown field", `{"owner":"root"}`, nil, nil, layer.ErrInvalidArgument},
		{"not JSON", `mode=0644`, nil, nil, layer.ErrInvalidArgument},
		{"mode as number", `{"mode":644}`, nil, nil, layer.ErrInvalidArgument},
		{"two objects", `{"uid":1}{"uid":2}`, nil, nil, layer.ErrInvalidArgument},
		{"trailing garbage", `{"uid":1} x`, nil, nil, layer.ErrInvalidArgument},
		{"trailing space", "{\"uid\":1}\n ", nil, &layer.FileMetadata{UID: intp(1)}, nil},
		{"bad override", "", map[string]string{"/a": `{"mode":"rwx"}`}, nil, layer.ErrInvalidArgument},
		{"override path escapes", "", map[string]string{"../a": `{}`}, nil, layer.ErrInvalidArgument},
		{"override path empty", "", map[string]string{"/": `{}`}, nil, layer.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := layer.ParseMetadata(tc.defaults, tc.overrides)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseMetadata() = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			got := md.Defaults
			if got != nil {
				// Compare only the exported fields.
				got = &layer.FileMetadata{Mode: got.Mode, UID: got.UID, GID: got.GID, Uname: got.Uname, Gname: got.Gname, Mtime: got.Mtime, PAXRecords: got.PAXRecords}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Defaults = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A bad mode or mtime must fail before any entry is written.
func TestParseFileMetadataMessages(t *testing.T) {
	for _, tc := range []struct{ in, wantMsg string }{
		{`{"mode":"rwx"}`, `"rwx"`},
		{`{"mode":"99"}`, `"99"`},
		{`{"mtime":"yesterday"}`, `"yesterday"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := layer.ParseFileMetadata(tc.in)
			if !errors.Is(err, layer.ErrInvalidArgument) {
				t.Fatalf("ParseFileMetadata() = %v, want %v", err, layer.ErrInvalidArgument)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not name %s", err, tc.wantMsg)
			}
		})
	}
}

func TestCleanPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  error
	}{
		{"/a/b", "a/b", nil},
		{"a/b", "a/b", nil},
		{"//a//b/", "a/b", nil},
		{"./a", "a", nil},
		{"/a/./b", "a/b", nil},
		{"a..b/..c", "a..b/..c", nil},
		{"../x", "", layer.ErrInvalidArgument},
		{"/a/../b", "", layer.ErrInvalidArgument},
		{"a/..", "", layer.ErrInvalidArgument},
		{"", "", layer.ErrInvalidArgument},
		{"/", "", layer.ErrInvalidArgument},
		{".", "", layer.ErrInvalidArgument},
		{"/./", "", layer.ErrInvalidArgument},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := layer.CleanPath(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CleanPath(%q) = %v, want %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("CleanPath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// The same inputs give the same bytes, wherever the sources live and
// whatever their host mtimes and permission bits.
func TestWriterDeterministic(t *testing.T) {
	build := func(t *testing.T, touch time.Time, perm os.FileMode) []byte {
		src := sources(t)
		if err := os.Chtimes(src("a.txt"), touch, touch); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"b.txt", "a.txt", "tree/b.txt"} {
			if err := os.Chmod(src(f), perm); err != nil {
				t.Fatal(err)
			}
		}
		md, err := layer.ParseMetadata(`{"uid":1}`, map[string]string{"/app/b": `{"mode":"0640"}`})
		if err != nil {
			t.Fatal(err)
		}
		ents, blob, err := writeLayer(t, md, func(w *layer.Writer) error {
			return ops(addFile("/app/a", "a.txt"), addFile("/app/b", "b.txt"), addFile("/app/c", "a-copy.txt"),
				addFile("/big/1", "big1"), addFile("/big/2", "big1-copy"), addTree("/opt/tree", "tree"),
				addSymlink("/app/l", "a"))(w, src)
		}, compress.WithFormat(compress.Gzip))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 15 {
			t.Fatalf("got %d entries, want 15", len(ents))
		}
		return blob
	}
	first := build(t, time.Now(), 0o600)
	for _, tc := range []struct {
		touch time.Time
		perm  os.FileMode
	}{{time.Now(), 0o600}, {hostTime.Add(time.Hour), 0o755}, {hostTime, 0o444}} {
		if again := build(t, tc.touch, tc.perm); !bytes.Equal(first, again) {
			t.Errorf("a second layer from equal inputs (mtime %v, mode %v) differs: %d bytes vs %d bytes", tc.touch, tc.perm, len(first), len(again))
		}
	}
}

func TestWriterCounts(t *testing.T) {
	src := sources(t)
	var w *layer.Writer
	_, _, err := writeLayer(t, nil, func(lw *layer.Writer) error {
		w = lw
		return ops(addFile("/a", "a.txt"), addFile("/b", "a-copy.txt"), addFile("/c", "b.txt"))(lw, src)
	})
	if err != nil {
		t.Fatal(err)
	}
	if w.Entries != 3 || w.Links != 1 {
		t.Errorf("Entries, Links = %d, %d; want 3, 1", w.Entries, w.Links)
	}
}
