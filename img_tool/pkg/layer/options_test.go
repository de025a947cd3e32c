package layer_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

var (
	parents = []layer.Option{layer.WithParentDirectories()}
	dedup   = []layer.Option{layer.WithTreeHandling(layer.TreesDeduplicateSymlink)}
	both    = []layer.Option{layer.WithParentDirectories(), layer.WithTreeHandling(layer.TreesDeduplicateSymlink)}
)

// importTar imports a tar of the given entries (names as written).
func importTar(entries ...tar.Header) buildFunc {
	return func(w *layer.Writer, _ func(string) string) error {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range entries {
			data := strings.Repeat("v", int(h.Size))
			if err := tw.WriteHeader(&h); err != nil {
				return err
			}
			if _, err := tw.Write([]byte(data)); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return w.ImportTar("vendor.tar", &b)
	}
}

// copyTree makes a second host directory with the content of rtree/.
func copyTree(name string) buildFunc {
	return func(w *layer.Writer, src func(string) string) error {
		if err := os.CopyFS(src(name), os.DirFS(src("rtree"))); err != nil {
			return err
		}
		return nil
	}
}

func addExecutable(p string) buildFunc {
	return func(w *layer.Writer, src func(string) string) error {
		return w.AddExecutable(p, src("tool.sh"), []layer.RunfilesEntry{
			{Path: "_main/data.txt", Source: src("rdata/data.txt")},
			{Path: "_main/rtree", Source: src("rtree"), Dir: true},
		})
	}
}

// prefixed is treeEntries below another path.
func prefixed(prefix string) []ent {
	out := make([]ent, len(treeEntries))
	for i, e := range treeEntries {
		e.name = prefix + strings.TrimPrefix(e.name, "opt/tree")
		out[i] = e
	}
	return out
}

func entries(parts ...[]ent) []ent {
	var out []ent
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestWriterOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []layer.Option
		build   buildFunc
		want    []ent
		wantErr error
		wantMsg string
	}{
		// Parent directories.
		{
			name:  "parents once each, outermost first, before the first child",
			opts:  parents,
			build: ops(addFile("/app/bin/a", "a.txt"), addFile("/app/bin/b", "b.txt"), addFile("/app/etc/c", "tool.sh")),
			want: []ent{dir("app/"), dir("app/bin/"), reg("app/bin/a", 0o755, "alpha\n"), reg("app/bin/b", 0o755, "bravo\n"),
				dir("app/etc/"), reg("app/etc/c", 0o755, "#!/bin/sh\necho hi\n")},
		},
		{
			name:  "no entry for the root",
			opts:  parents,
			build: ops(addFile("/a", "a.txt"), addSymlink("/l", "a")),
			want:  []ent{reg("a", 0o755, "alpha\n"), symlink("l", "a")},
		},
		{
			name:  "directories of a tree are not repeated",
			opts:  parents,
			build: addTree("/opt/tree", "tree"),
			want:  append([]ent{dir("opt/")}, treeEntries...),
		},
		{
			name:  "a tree listed after a file below it",
			opts:  parents,
			build: ops(addFile("/opt/tree/a/extra", "a.txt"), addTree("/opt/tree", "tree")),
			want: []ent{dir("opt/"), dir("opt/tree/"), dir("opt/tree/a/"), reg("opt/tree/a/extra", 0o755, "alpha\n"),
				dir("opt/tree/a/deep/"), reg("opt/tree/a/x.txt", 0o755, "x\n"), hardlink("opt/tree/abs", "opt/tree/a/extra", 0o755),
				dir("opt/tree/absdir/"), reg("opt/tree/absdir/f.txt", 0o755, "f\n"), reg("opt/tree/b.txt", 0o755, "bravo\n"),
				symlink("opt/tree/link", "b.txt")},
		},
		{
			name:  "hardlinks and symlinks get parents",
			opts:  parents,
			build: ops(addFile("/x/a", "a.txt"), addFile("/y/z/b", "a-copy.txt"), addSymlink("/usr/bin/l", "/x/a")),
			want: []ent{dir("x/"), reg("x/a", 0o755, "alpha\n"), dir("y/"), dir("y/z/"), hardlink("y/z/b", "x/a", 0o755),
				dir("usr/"), dir("usr/bin/"), symlink("usr/bin/l", "/x/a")},
		},
		{
			name:  "a symlink is not a parent directory",
			opts:  parents,
			build: ops(addSymlink("/lib", "usr/lib"), addFile("/lib/x", "a.txt")),
			want:  []ent{symlink("lib", "usr/lib"), reg("lib/x", 0o755, "alpha\n")},
		},
		{
			name:  "executable and runfiles",
			opts:  parents,
			build: addExecutable("/bin/tool"),
			want: []ent{dir("bin/"), reg("bin/tool", 0o755, "#!/bin/sh\necho hi\n"), dir("bin/tool.runfiles/"),
				dir("bin/tool.runfiles/_main/"), reg("bin/tool.runfiles/_main/data.txt", 0o755, "data\n"),
				dir("bin/tool.runfiles/_main/rtree/"), reg("bin/tool.runfiles/_main/rtree/f.txt", 0o755, "f\n")},
		},
		{
			name: "imported entries get parents; their own directories count",
			opts: parents,
			build: importTar(
				tar.Header{Name: "vendor/lib/a.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
				tar.Header{Name: "vendor/", Typeflag: tar.TypeDir, Mode: 0o700},
				tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o700},
				tar.Header{Name: "etc/conf", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}),
			want: []ent{dir("vendor/"), dir("vendor/lib/"), reg("vendor/lib/a.txt", 0o644, "vvv"),
				{name: "etc/", typ: tar.TypeDir, mode: 0o700}, reg("etc/conf", 0o644, "v")},
		},
		{
			name:    "a file where a parent directory was written",
			opts:    parents,
			build:   ops(addFile("/a/b", "a.txt"), addFile("/a", "b.txt")),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: "path /a is added twice with different content: from the parent directory written for /a/b",
		},
		{
			name:  "off: only the listed entries",
			build: ops(addFile("/app/bin/a", "a.txt"), addSymlink("/usr/bin/l", "/x/a")),
			want:  []ent{reg("app/bin/a", 0o755, "alpha\n"), symlink("usr/bin/l", "/x/a")},
		},

		// Tree artifacts at several paths.
		{
			name:  "a tree at a second path becomes a relative symlink",
			opts:  dedup,
			build: ops(addTree("/opt/tree", "tree"), addTree("/srv/www/tree", "tree")),
			want:  append(append([]ent{}, treeEntries...), symlink("srv/www/tree", "../../opt/tree")),
		},
		{
			name:  "full: the tree at every path, files hardlinked",
			build: ops(addTree("/a", "rtree"), addTree("/b", "rtree")),
			want:  []ent{dir("a/"), reg("a/f.txt", 0o755, "f\n"), dir("b/"), hardlink("b/f.txt", "a/f.txt", 0o755)},
		},
		{
			name:  "full by option",
			opts:  []layer.Option{layer.WithTreeHandling(layer.TreesFull)},
			build: ops(addTree("/a", "rtree"), addTree("/b", "rtree")),
			want:  []ent{dir("a/"), reg("a/f.txt", 0o755, "f\n"), dir("b/"), hardlink("b/f.txt", "a/f.txt", 0o755)},
		},
		{
			name:  "at the root, within one directory, three times",
			opts:  dedup,
			build: ops(addTree("/a", "rtree"), addTree("/b", "rtree/"), addTree("/a/c/d", "rtree")),
			want:  []ent{dir("a/"), reg("a/f.txt", 0o755, "f\n"), symlink("b", "a"), symlink("a/c/d", "..")},
		},
		{
			name:  "directly inside the first path",
			opts:  dedup,
			build: ops(addTree("/a", "rtree"), addTree("/a/self", "rtree")),
			want:  []ent{dir("a/"), reg("a/f.txt", 0o755, "f\n"), symlink("a/self", ".")},
		},
		{
			name:  "the same path twice is written once",
			opts:  dedup,
			build: ops(addTree("/a", "rtree"), addTree("/a", "rtree")),
			want:  []ent{dir("a/"), reg("a/f.txt", 0o755, "f\n")},
		},
		{
			name:  "a runfiles tree that was added before",
			opts:  dedup,
			build: ops(addTree("/data/rtree", "rtree"), addExecutable("/bin/tool")),
			want: []ent{dir("data/rtree/"), reg("data/rtree/f.txt", 0o755, "f\n"), reg("bin/tool", 0o755, "#!/bin/sh\necho hi\n"),
				reg("bin/tool.runfiles/_main/data.txt", 0o755, "data\n"),
				symlink("bin/tool.runfiles/_main/rtree", "../../../data/rtree")},
		},
		{
			name:  "AddFile of a directory counts as the tree",
			opts:  dedup,
			build: ops(addFile("/a", "rtree"), addTree("/x/b", "rtree")),
			want:  []ent{dir("a/"), reg("a/f.txt", 0o755, "f\n"), symlink("x/b", "../a")},
		},
		{
			name:  "another directory with equal content is written in full",
			opts:  dedup,
			build: ops(copyTree("rtree2"), addTree("/a", "rtree"), addTree("/b", "rtree2")),
			want:  []ent{dir("a/"), reg("a/f.txt", 0o755, "f\n"), dir("b/"), hardlink("b/f.txt", "a/f.txt", 0o755)},
		},
		{
			name:  "both options",
			opts:  both,
			build: ops(addTree("/opt/tree", "tree"), addTree("/srv/www/tree", "tree")),
			want:  entries([]ent{dir("opt/")}, treeEntries, []ent{dir("srv/"), dir("srv/www/"), symlink("srv/www/tree", "../../opt/tree")}),
		},
		{
			name:  "both options, the symlink's parents are the first tree's",
			opts:  both,
			build: ops(addTree("/opt/tree", "tree"), addTree("/opt/tree2", "tree")),
			want:  entries([]ent{dir("opt/")}, treeEntries, []ent{symlink("opt/tree2", "tree")}),
		},
		{
			name:    "a deduplicated tree where a directory is",
			opts:    both,
			build:   ops(addTree("/a", "rtree"), addFile("/b/x", "a.txt"), addTree("/b", "rtree")),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: "path /b is added twice with different content: from the parent directory written for /b/x and from a symlink to a",
		},
		{
			name:    "bad tree handling",
			opts:    []layer.Option{layer.WithTreeHandling("copy")},
			build:   addFile("/a", "a.txt"),
			wantErr: layer.ErrInvalidArgument,
			wantMsg: `"copy"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources(t)
			ents, _, err := writeLayerWith(t, nil, tc.opts, func(w *layer.Writer) error { return tc.build(w, src) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("write layer: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("error %q does not say %q", err, tc.wantMsg)
				}
				return
			}
			compareEntries(t, ents, tc.want)
			checkReproducible(t, ents)
		})
	}
}

// Parent directories take no layer-wide defaults (they are root's, 0755),
// but an override of their exact path; a later listing of the same
// directory is not written again.
func TestParentMetadata(t *testing.T) {
	src := sources(t)
	md, err := layer.ParseMetadata(`{"uid":1000,"gid":100,"mode":"0600"}`, map[string]string{
		"/app":         `{"mode":"0750","uid":7}`,
		"/app/bin/sub": `{"mode":"0700"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	ents, _, err := writeLayerWith(t, md, parents, func(w *layer.Writer) error {
		return ops(addFile("/app/bin/a", "a.txt"), addTree("/app/bin/sub", "rtree"))(w, src)
	})
	if err != nil {
		t.Fatal(err)
	}
	type hdr struct {
		name      string
		mode      int64
		uid, gid  int
		mtimeZero bool
	}
	var got []hdr
	for _, e := range ents {
		got = append(got, hdr{e.Header.Name, e.Header.Mode, e.Header.Uid, e.Header.Gid, e.Header.ModTime.Equal(time.Unix(0, 0))})
	}
	want := []hdr{
		{"app/", 0o750, 7, 0, true},
		{"app/bin/", 0o755, 0, 0, true},
		{"app/bin/a", 0o600, 1000, 100, true},
		{"app/bin/sub/", 0o700, 1000, 100, true},
		{"app/bin/sub/f.txt", 0o600, 1000, 100, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers:\n got %+v\nwant %+v", got, want)
	}
}

// With the options off, explicitly or by default, the bytes are those of
// NewWriter.
func TestOptionsOffSameBytes(t *testing.T) {
	src := sources(t)
	build := func(w *layer.Writer) error {
		return ops(addFile("/app/bin/a", "a.txt"), addTree("/opt/tree", "tree"), addTree("/srv/tree", "tree"),
			addExecutable("/bin/tool"), addSymlink("/usr/bin/l", "/app/bin/a"))(w, src)
	}
	_, want, err := writeLayer(t, nil, build, compress.WithFormat(compress.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]layer.Option{nil, {layer.WithTreeHandling(layer.TreesFull)}} {
		_, got, err := writeLayerWith(t, nil, opts, build, compress.WithFormat(compress.Gzip))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("options %d: %d bytes differ from NewWriter's %d", len(opts), len(got), len(want))
		}
	}
	_, got, err := writeLayerWith(t, nil, both, build, compress.WithFormat(compress.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		t.Error("both options on give the bytes of both off")
	}
}

func TestParseTreeHandling(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    layer.TreeHandling
		wantErr error
	}{
		{"full", layer.TreesFull, nil},
		{"deduplicate_symlink", layer.TreesDeduplicateSymlink, nil},
		{"", "", layer.ErrInvalidArgument},
		{"auto", "", layer.ErrInvalidArgument},
		{"Full", "", layer.ErrInvalidArgument},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := layer.ParseTreeHandling(tc.in)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("ParseTreeHandling(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
