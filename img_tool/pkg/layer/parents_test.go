package layer_test

import (
	"archive/tar"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

func sticky(name string) ent { return ent{name: name, typ: tar.TypeDir, mode: 0o1777} }

// The parent directories that a layer writes for itself: the shared
// sticky directories keep their standard mode, everything else is 0755.
func TestParentDirectoryModes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		md    *layer.Metadata
		build buildFunc
		want  []ent
	}{
		{
			name:  "tmp is sticky, its subdirectories are not",
			build: ops(addFile("/tmp/x", "a.txt"), addFile("/tmp/sub/y", "b.txt")),
			want:  []ent{sticky("tmp/"), reg("tmp/x", 0o755, "alpha\n"), dir("tmp/sub/"), reg("tmp/sub/y", 0o755, "bravo\n")},
		},
		{
			name:  "var/tmp is sticky, var is not",
			build: addFile("/var/tmp/x", "a.txt"),
			want:  []ent{dir("var/"), sticky("var/tmp/"), reg("var/tmp/x", 0o755, "alpha\n")},
		},
		{
			name:  "dev/shm and run/lock are sticky",
			build: ops(addFile("/dev/shm/x", "a.txt"), addSymlink("/run/lock/l", "/x")),
			want: []ent{dir("dev/"), sticky("dev/shm/"), reg("dev/shm/x", 0o755, "alpha\n"),
				dir("run/"), sticky("run/lock/"), symlink("run/lock/l", "/x")},
		},
		{
			name:  "names that only look alike are 0755",
			build: ops(addFile("/tmpdir/x", "a.txt"), addFile("/usr/tmp/x", "b.txt"), addFile("/app/tmp/x", "tool.sh"), addFile("/var/lock/x", "a-copy.txt")),
			want: []ent{dir("tmpdir/"), reg("tmpdir/x", 0o755, "alpha\n"), dir("usr/"), dir("usr/tmp/"), reg("usr/tmp/x", 0o755, "bravo\n"),
				dir("app/"), dir("app/tmp/"), reg("app/tmp/x", 0o755, "#!/bin/sh\necho hi\n"),
				dir("var/"), dir("var/lock/"), hardlink("var/lock/x", "tmpdir/x", 0o755)},
		},
		{
			name:  "every other parent is 0755",
			build: ops(addFile("/app/bin/x", "tool.sh"), addFile("/tmp/somefile", "a.txt")),
			want:  []ent{dir("app/"), dir("app/bin/"), reg("app/bin/x", 0o755, "#!/bin/sh\necho hi\n"), sticky("tmp/"), reg("tmp/somefile", 0o755, "alpha\n")},
		},
		{
			name:  "a file_metadata override of the path wins",
			md:    mustMetadata(t, "", map[string]string{"/tmp": `{"mode": "0700"}`}),
			build: addFile("/tmp/x", "a.txt"),
			want:  []ent{{name: "tmp/", typ: tar.TypeDir, mode: 0o700}, reg("tmp/x", 0o755, "alpha\n")},
		},
		{
			name:  "layer-wide defaults do not change a parent",
			md:    mustMetadata(t, `{"mode": "0644"}`, nil),
			build: addFile("/tmp/x", "a.txt"),
			want:  []ent{sticky("tmp/"), reg("tmp/x", 0o644, "alpha\n")},
		},
		{
			name:  "a directory the layer lists before its children keeps its own mode",
			build: ops(addTree("/tmp", "rtree")),
			want:  []ent{dir("tmp/"), reg("tmp/f.txt", 0o755, "f\n")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources(t)
			ents, _, err := writeLayerWith(t, tc.md, parents, func(w *layer.Writer) error { return tc.build(w, src) })
			if err != nil {
				t.Fatal(err)
			}
			compareEntries(t, ents, tc.want)
			checkReproducible(t, ents)
		})
	}
}

func TestParentMode(t *testing.T) {
	for dir, want := range map[string]int64{
		"tmp": 0o1777, "var/tmp": 0o1777, "dev/shm": 0o1777, "run/lock": 0o1777,
		"var": 0o755, "dev": 0o755, "run": 0o755, "app/bin": 0o755, "tmp/sub": 0o755, "var/lock": 0o755,
	} {
		if got := layer.ParentMode(dir); got != want {
			t.Errorf("ParentMode(%q) = %04o, want %04o", dir, got, want)
		}
	}
}

func mustMetadata(t *testing.T, defaults string, overrides map[string]string) *layer.Metadata {
	t.Helper()
	md, err := layer.ParseMetadata(defaults, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return md
}
