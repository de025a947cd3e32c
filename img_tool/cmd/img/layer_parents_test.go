package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// gnuTarListing lists a blob with GNU tar, which shares no code with the
// writer: "mode owner size date time name [-> target | link to target]".
func gnuTarListing(t *testing.T, blob string) []string {
	t.Helper()
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar on PATH")
	}
	if v, err := exec.Command(tarBin, "--version").Output(); err != nil || !strings.Contains(string(v), "GNU tar") {
		t.Skip("tar on PATH is not GNU tar")
	}
	cmd := exec.Command(tarBin, "--numeric-owner", "-tvf", blob)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tvf %s: %v: %s", blob, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

func TestLayerParentsAndTrees(t *testing.T) {
	// The tree of the fixture at three paths (twice by --add, which comes
	// first, then from the parameter file), the runfiles tree also added
	// by --add, files below new directories, and symlinks.
	inputs := func(f fixture) []string {
		return []string{
			"--add", "/app/a.txt=" + f.i("a.txt"),
			"--add-from-file", f.i("add.params"),
			"--add", "/srv/www/tree=" + f.i("tree"),
			"--add", "/srv/www/tree2=" + f.i("tree"),
			"--executable", "/bin/tool=" + f.i("tool.sh"),
			"--runfiles", f.i("tool.sh") + "=" + f.i("runfiles.params"),
			"--add", "/data/rtree=" + f.i("rtree"),
			"--symlink", "/usr/local/bin/tool=/bin/tool",
			"--format", "gzip",
		}
	}
	full := []string{
		"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/a.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/",
		"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree/link -> x.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/sub/",
		"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/sub/y.txt",
		"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/x.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/",
		"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree2/link -> x.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/sub/",
		"hrwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/sub/y.txt link to srv/www/tree/sub/y.txt",
		"hrwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/x.txt link to srv/www/tree/x.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 data/rtree/",
		"-rwxr-xr-x 0/0 2 1970-01-01 00:00 data/rtree/f.txt",
		"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/from-param",
		"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/copy2.txt link to app/a.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/",
		"l--------- 0/0 0 1970-01-01 00:00 app/tree/link -> x.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/sub/",
		"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/sub/y.txt link to srv/www/tree/sub/y.txt",
		"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/x.txt link to srv/www/tree/x.txt",
		"-rwxr-xr-x 0/0 18 1970-01-01 00:00 bin/tool",
		"-rwxr-xr-x 0/0 8 1970-01-01 00:00 bin/tool.runfiles/_main/data.txt",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/rtree/",
		"hrwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/rtree/f.txt link to data/rtree/f.txt",
		"l--------- 0/0 0 1970-01-01 00:00 usr/local/bin/tool -> /bin/tool",
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string
	}{
		{"defaults", nil, full},
		{"full", []string{"--layer-tree-artifact-handling", "full"}, full},
		{"parents", []string{"--create-parent-directories"}, []string{
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/",
			"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/a.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/",
			"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree/link -> x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/sub/",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/sub/y.txt",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/",
			"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree2/link -> x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/sub/",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/sub/y.txt link to srv/www/tree/sub/y.txt",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree2/x.txt link to srv/www/tree/x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 data/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 data/rtree/",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 data/rtree/f.txt",
			"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/from-param",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/copy2.txt link to app/a.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/",
			"l--------- 0/0 0 1970-01-01 00:00 app/tree/link -> x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/sub/",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/sub/y.txt link to srv/www/tree/sub/y.txt",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/tree/x.txt link to srv/www/tree/x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/",
			"-rwxr-xr-x 0/0 18 1970-01-01 00:00 bin/tool",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/",
			"-rwxr-xr-x 0/0 8 1970-01-01 00:00 bin/tool.runfiles/_main/data.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/rtree/",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/rtree/f.txt link to data/rtree/f.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 usr/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 usr/local/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 usr/local/bin/",
			"l--------- 0/0 0 1970-01-01 00:00 usr/local/bin/tool -> /bin/tool",
		}},
		{"deduplicate_symlink", []string{"--layer-tree-artifact-handling", "deduplicate_symlink"}, []string{
			"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/a.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/",
			"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree/link -> x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/sub/",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/sub/y.txt",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/x.txt",
			"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree2 -> tree",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 data/rtree/",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 data/rtree/f.txt",
			"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/from-param",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/copy2.txt link to app/a.txt",
			"l--------- 0/0 0 1970-01-01 00:00 app/tree -> ../srv/www/tree",
			"-rwxr-xr-x 0/0 18 1970-01-01 00:00 bin/tool",
			"-rwxr-xr-x 0/0 8 1970-01-01 00:00 bin/tool.runfiles/_main/data.txt",
			"l--------- 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/rtree -> ../../../data/rtree",
			"l--------- 0/0 0 1970-01-01 00:00 usr/local/bin/tool -> /bin/tool",
		}},
		{"both", []string{"--create-parent-directories", "--layer-tree-artifact-handling=deduplicate_symlink"}, []string{
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/",
			"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/a.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/",
			"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree/link -> x.txt",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 srv/www/tree/sub/",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/sub/y.txt",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 srv/www/tree/x.txt",
			"l--------- 0/0 0 1970-01-01 00:00 srv/www/tree2 -> tree",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 data/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 data/rtree/",
			"-rwxr-xr-x 0/0 2 1970-01-01 00:00 data/rtree/f.txt",
			"-rwxr-xr-x 0/0 6 1970-01-01 00:00 app/from-param",
			"hrwxr-xr-x 0/0 0 1970-01-01 00:00 app/copy2.txt link to app/a.txt",
			"l--------- 0/0 0 1970-01-01 00:00 app/tree -> ../srv/www/tree",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/",
			"-rwxr-xr-x 0/0 18 1970-01-01 00:00 bin/tool",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/",
			"-rwxr-xr-x 0/0 8 1970-01-01 00:00 bin/tool.runfiles/_main/data.txt",
			"l--------- 0/0 0 1970-01-01 00:00 bin/tool.runfiles/_main/rtree -> ../../../data/rtree",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 usr/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 usr/local/",
			"drwxr-xr-x 0/0 0 1970-01-01 00:00 usr/local/bin/",
			"l--------- 0/0 0 1970-01-01 00:00 usr/local/bin/tool -> /bin/tool",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			blob, md := f.o("layer.tgz"), f.o("layer.json")
			args := append(append([]string{"layer", "--name", "//app:layer", "--metadata", md}, inputs(f)...), tc.flags...)
			mustRun(t, append(args, blob)...)
			checkMetadata(t, blob, md, "//app:layer", metadata.MediaTypeTarGzip, nil, false)
			if got := gnuTarListing(t, blob); !slices.Equal(got, tc.want) {
				t.Errorf("tar -tvf:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Without the new flags, and with their default values given, the layer
// has the bytes it had before they existed.
func TestLayerParentsOffSameDigest(t *testing.T) {
	f := newFixture(t)
	var digests []string
	for i, flags := range [][]string{nil, {"--layer-tree-artifact-handling", "full"}, {"--create-parent-directories=false"}} {
		blob, md := f.o("layer.tgz"), f.o("layer.json")
		args := append([]string{"layer", "--metadata", md, "--add-from-file", f.i("add.params"), "--add", "/x/tree=" + f.i("tree")}, flags...)
		mustRun(t, append(args, blob)...)
		m, err := metadata.Read(md)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, m.Digest)
		if i > 0 && m.Digest != digests[0] {
			t.Errorf("flags %q: digest %s, want %s (no flags)", flags, m.Digest, digests[0])
		}
	}
}

func TestLayerTreeHandlingInvalid(t *testing.T) {
	f := newFixture(t)
	blob := f.o("layer.tgz")
	code, stderr := runImg(t, "layer", "--name", "//app:layer", "--add", "/a="+f.i("a.txt"), "--layer-tree-artifact-handling", "copy", blob)
	if code == 0 {
		t.Fatal("img layer with --layer-tree-artifact-handling copy succeeded")
	}
	for _, want := range []string{"//app:layer", "--layer-tree-artifact-handling", `"copy"`, "deduplicate_symlink"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not name %s", stderr, want)
		}
	}
	if ents, _ := os.ReadDir(f.out); len(ents) != 0 {
		t.Errorf("a failed layer left %d files", len(ents))
	}
}

// The parents that --create-parent-directories writes, as GNU tar lists
// them: 0755, except the shared sticky directories (drwxrwxrwt).
func TestLayerParentModes(t *testing.T) {
	f := newFixture(t)
	blob, md := f.o("layer.tar"), f.o("layer.json")
	mustRun(t, "layer", "--name", "//app:parents", "--metadata", md, "--format", "none", "--create-parent-directories",
		"--add", "/tmp/somefile="+f.i("a.txt"),
		"--add", "/var/tmp/cache/x="+f.i("a.txt"),
		"--executable", "/app/bin/x="+f.i("tool.sh"),
		blob)
	checkMetadata(t, blob, md, "//app:parents", metadata.MediaTypeTar, nil, false)
	want := []string{
		"drwxrwxrwt 0/0 0 1970-01-01 00:00 tmp/",
		"-rwxr-xr-x 0/0 6 1970-01-01 00:00 tmp/somefile",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 var/",
		"drwxrwxrwt 0/0 0 1970-01-01 00:00 var/tmp/",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 var/tmp/cache/",
		"hrwxr-xr-x 0/0 0 1970-01-01 00:00 var/tmp/cache/x link to tmp/somefile",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/",
		"drwxr-xr-x 0/0 0 1970-01-01 00:00 app/bin/",
		"-rwxr-xr-x 0/0 18 1970-01-01 00:00 app/bin/x",
	}
	if got := gnuTarListing(t, blob); !slices.Equal(got, want) {
		t.Errorf("tar -tvf:\n got %q\nwant %q", got, want)
	}
}
