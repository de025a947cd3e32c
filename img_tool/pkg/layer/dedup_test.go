package layer_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

// Contents of the deduplication tests: equal sizes with different bytes,
// around the sizes where the writer changes how it reads or hashes a file
// (hashed when written up to 4 KiB, prefetched tree items up to 256 KiB, in
// memory up to 1 MiB, streamed above).
var (
	smallX  = "xxxxxxxx\n"
	smallY  = "yyyyyyyy\n"                  // as long as smallX
	kX      = string(randomBytes(19, 5000)) // above the size hashed eagerly
	kY      = string(randomBytes(20, 5000))
	midX    = string(randomBytes(11, 300<<10))
	midY    = string(randomBytes(12, 300<<10))
	bigX    = string(randomBytes(13, bigSize))
	bigY    = string(randomBytes(14, bigSize))
	prefX   = string(randomBytes(15, 256<<10)) // the largest prefetched size
	prefY   = string(randomBytes(16, 256<<10))
	oneMiBX = string(randomBytes(17, 1<<20)) // the largest in-memory size
	oneMiBY = string(randomBytes(18, 1<<20))
)

// hostFiles writes files (name -> content, "/"-separated names) below a new
// directory and returns a function from name to host path.
func hostFiles(t *testing.T, files map[string]string) func(string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
}

// importEnts imports a tar of the given entries.
func importEnts(ents ...tarEnt) buildFunc {
	return func(w *layer.Writer, _ func(string) string) error {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, e := range ents {
			h := e.h
			if err := tw.WriteHeader(&h); err != nil {
				return err
			}
			if _, err := tw.Write([]byte(e.data)); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return w.ImportTar("in.tar", &b)
	}
}

// hostSymlink makes an absolute symlink at name to the host file target.
func hostSymlink(name, target string) buildFunc {
	return func(_ *layer.Writer, src func(string) string) error {
		return os.Symlink(src(target), src(name))
	}
}

// gnuTarLinks lists blob (an uncompressed tar) with GNU tar and returns
// every member name, in order, and the hardlinks (name -> target).
func gnuTarLinks(t *testing.T, blob []byte) ([]string, map[string]string) {
	t.Helper()
	gnutar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar")
	}
	if v, err := exec.Command(gnutar, "--version").Output(); err != nil || !bytes.Contains(v, []byte("GNU tar")) {
		t.Skip("tar is not GNU tar")
	}
	p := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(p, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := exec.Command(gnutar, "-tf", p).Output()
	if err != nil {
		t.Fatalf("tar -tf: %v", err)
	}
	cmd := exec.Command(gnutar, "-tvf", p)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	verbose, err := cmd.Output()
	if err != nil {
		t.Fatalf("tar -tvf: %v", err)
	}
	links := map[string]string{}
	// "hrwxr-xr-x 0/0 0 1970-01-01 00:00 b link to a": names have no spaces here.
	for _, line := range strings.Split(strings.TrimSpace(string(verbose)), "\n") {
		left, target, ok := strings.Cut(line, " link to ")
		if !ok {
			continue
		}
		f := strings.Fields(left)
		links[f[len(f)-1]] = target
	}
	return strings.Fields(string(names)), links
}

func TestDeduplication(t *testing.T) {
	for _, tc := range []struct {
		name      string
		files     map[string]string // host files
		overrides map[string]string // file_metadata
		build     buildFunc
		wantNames []string          // tar members in order (nil: not checked)
		wantLinks map[string]string // every hardlink: name -> target
		wantErr   string
	}{
		{
			name:  "same size, different content",
			files: map[string]string{"x": smallX, "y": smallY, "mx": midX, "my": midY, "bx": bigX, "by": bigY, "ox": oneMiBX, "oy": oneMiBY},
			build: ops(addFile("a", "x"), addFile("b", "y"), addFile("c", "mx"), addFile("d", "my"),
				addFile("e", "bx"), addFile("f", "by"), addFile("g", "ox"), addFile("h", "oy")),
			wantNames: []string{"a", "b", "c", "d", "e", "f", "g", "h"},
			wantLinks: map[string]string{},
		},
		{
			name:      "same content, different mode",
			files:     map[string]string{"x": smallX, "x2": smallX, "k": kX, "k2": kX},
			overrides: map[string]string{"b": `{"mode":"0644"}`, "e": `{"mode":"0644"}`},
			build:     ops(addFile("a", "x"), addFile("b", "x2"), addFile("c", "x2"), addFile("d", "k"), addFile("e", "k2"), addFile("f", "k2")),
			wantLinks: map[string]string{"c": "a", "f": "d"},
		},
		{
			name:      "same content, different owner",
			files:     map[string]string{"x": smallX, "x2": smallX},
			overrides: map[string]string{"a": `{"uid":7}`},
			build:     ops(addFile("a", "x"), addFile("b", "x2")),
			wantLinks: map[string]string{},
		},
		{
			name:  "same content links to the first",
			files: map[string]string{"x": smallX, "x2": smallX, "y": smallY, "mx": midX, "mx2": midX, "ox": oneMiBX, "ox2": oneMiBX},
			build: ops(addFile("a", "x"), addFile("b", "y"), addFile("c", "x2"), addFile("d", "x"),
				addFile("e", "mx"), addFile("f", "mx2"), addFile("g", "ox"), addFile("h", "ox2")),
			wantNames: []string{"a", "b", "c", "d", "e", "f", "g", "h"},
			wantLinks: map[string]string{"c": "a", "d": "a", "f": "e", "h": "g"},
		},
		{
			name:      "unique size in between",
			files:     map[string]string{"x": smallX, "z": "zz", "x2": smallX, "y": smallY, "k": kX, "k2": kX, "ky": kY},
			build:     ops(addFile("a", "x"), addFile("k", "k"), addFile("b", "z"), addFile("c", "y"), addFile("d", "x2"), addFile("e", "y"), addFile("ky", "ky"), addFile("k2", "k2")),
			wantLinks: map[string]string{"d": "a", "e": "c", "k2": "k"},
		},
		{
			name:  "small file equal to an earlier imported entry",
			files: map[string]string{"x": smallX, "y": smallY, "mx": midX},
			build: ops(importEnts(plainFile("imp/a", smallX), plainFile("imp/m", midX), file("imp/owned", smallY)),
				addFile("b", "x"), addFile("c", "y"), addFile("d", "mx")),
			wantNames: []string{"imp/a", "imp/m", "imp/owned", "b", "c", "d"},
			wantLinks: map[string]string{"b": "imp/a", "d": "imp/m"},
		},
		{
			name:  "imported entry equal to an earlier small file",
			files: map[string]string{"x": smallX, "y": smallY},
			build: ops(addFile("a", "x"), addFile("b", "y"),
				importEnts(plainFile("imp/b", smallY), plainFile("imp/a", smallX), file("imp/owned", smallX), file("imp/owned2", smallX))),
			wantLinks: map[string]string{"imp/b": "b", "imp/a": "a", "imp/owned2": "imp/owned"},
		},
		{
			name: "tree items",
			files: map[string]string{"t/1": smallX, "t/2": smallY, "t/3": smallX, "t/4": prefX, "t/5": prefY, "t/6": prefX,
				"t/7": midX, "t/8": midX, "x": smallX, "py": prefY, "u/1": smallY, "u/2": midX},
			build:     ops(addFile("first", "x"), addTree("t", "t"), addFile("later", "py"), addTree("u", "u")),
			wantNames: []string{"first", "t/", "t/1", "t/2", "t/3", "t/4", "t/5", "t/6", "t/7", "t/8", "later", "u/", "u/1", "u/2"},
			wantLinks: map[string]string{"t/1": "first", "t/3": "first", "t/6": "t/4", "t/8": "t/7", "later": "t/5", "u/1": "t/2", "u/2": "t/7"},
		},
		{
			name:  "tree item through an absolute symlink",
			files: map[string]string{"x": kX, "s/1": kY, "sx": smallX, "s/2": smallY},
			build: ops(hostSymlink("s/abs", "x"), hostSymlink("s/abs2", "sx"), addTree("s", "s"), addFile("after", "x"), addFile("y", "s/1"),
				addFile("after2", "sx"), addFile("y2", "s/2")),
			wantNames: []string{"s/", "s/1", "s/2", "s/abs", "s/abs2", "after", "y", "after2", "y2"},
			wantLinks: map[string]string{"after": "s/abs", "y": "s/1", "after2": "s/abs2", "y2": "s/2"},
		},
		{
			name:      "tree item with metadata",
			files:     map[string]string{"t/1": smallX, "t/2": smallX, "t/3": smallX},
			overrides: map[string]string{"t/2": `{"mode":"0600"}`},
			build:     ops(addTree("t", "t")),
			wantLinks: map[string]string{"t/3": "t/1"},
		},
		{
			name:      "file added twice",
			files:     map[string]string{"x": smallX, "x2": smallX, "o": oneMiBX, "o2": oneMiBX, "p": prefX, "t/p": prefX},
			build:     ops(addFile("a", "x"), addFile("a", "x"), addFile("a", "x2"), addFile("b", "o"), addFile("b", "o2"), addTree("t", "t"), addFile("t/p", "p")),
			wantNames: []string{"a", "b", "t/", "t/p"},
			wantLinks: map[string]string{},
		},
		{
			name:      "imported entry added twice",
			files:     map[string]string{"x": smallX},
			build:     ops(addFile("a", "x"), importEnts(plainFile("a", smallX)), importEnts(file("c", smallY)), importEnts(file("c", smallY))),
			wantNames: []string{"a", "c"},
			wantLinks: map[string]string{},
		},
		{
			name:      "empty files",
			files:     map[string]string{"e": "", "e2": ""},
			build:     ops(addFile("a", "e"), addFile("b", "e2"), importEnts(plainFile("c", ""), plainFile("c", "")), addFile("c", "e"), addFile("a", "e2")),
			wantNames: []string{"a", "b", "c"},
			wantLinks: map[string]string{},
		},
		{
			name:    "file added twice with different content",
			files:   map[string]string{"x": smallX, "y": smallY},
			build:   ops(addFile("a", "x"), addFile("a", "y")),
			wantErr: "path /a is added twice with different content",
		},
		{
			name:    "imported entry added twice with different content",
			files:   map[string]string{"x": smallX},
			build:   ops(addFile("a", "x"), importEnts(plainFile("a", smallY))),
			wantErr: "path /a is added twice with different content",
		},
		{
			name:    "imported then host file with different content",
			files:   map[string]string{"y": smallY},
			build:   ops(importEnts(plainFile("a", smallX)), addFile("a", "y")),
			wantErr: "path /a is added twice with different content",
		},
		{
			name:      "imported then host file with the same content",
			files:     map[string]string{"x": smallX},
			build:     ops(importEnts(plainFile("a", smallX)), addFile("a", "x")),
			wantNames: []string{"a"},
			wantLinks: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := hostFiles(t, tc.files)
			md := mustMetadata(t, "", tc.overrides)
			_, blob, err := writeLayer(t, md, func(w *layer.Writer) error { return tc.build(w, src) })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, layer.ErrInvalidArgument) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names, links := gnuTarLinks(t, blob)
			if tc.wantNames != nil && !reflect.DeepEqual(names, tc.wantNames) {
				t.Errorf("members %q, want %q", names, tc.wantNames)
			}
			if !reflect.DeepEqual(links, tc.wantLinks) {
				t.Errorf("hardlinks %v, want %v", links, tc.wantLinks)
			}
		})
	}
}

// pinnedInput is a layer of many small files of few sizes (so that most
// have twins by size but not by content), duplicates, imported entries,
// metadata overrides and files beyond the in-memory size.
func pinnedInput(t *testing.T) (func(string) string, *layer.Metadata, buildFunc) {
	files := map[string]string{"big": bigX, "big2": bigX, "big3": bigY, "one": oneMiBX}
	for i := range 300 {
		size := 1 + i%17
		files[fmt.Sprintf("t/d%d/f%03d", i%7, i)] = string(randomBytes(int64(i%40), size))
	}
	for i := range 20 {
		files[fmt.Sprintf("loose/%02d", i)] = string(randomBytes(int64(i%5), 3+i%4))
	}
	src := hostFiles(t, files)
	md := mustMetadata(t, `{"uid":3}`, map[string]string{"t/d1/f001": `{"mode":"0600"}`, "l/04": `{"gid":9}`})
	var imported []tarEnt
	for i := range 30 {
		imported = append(imported, plainFile(fmt.Sprintf("imp/%02d", i), string(randomBytes(int64(i%9), 1+i%17))))
		imported[i].h.Uid = 3
	}
	imported = append(imported, file("imp/owned", smallX), plainFile("imp/big", bigY))
	var build []buildFunc
	build = append(build, addFile("a", "loose/00"), importEnts(imported...))
	for i := range 20 {
		build = append(build, addFile(fmt.Sprintf("l/%02d", i), fmt.Sprintf("loose/%02d", i)))
	}
	build = append(build, addTree("t", "t"), addFile("b1", "big"), addFile("b2", "big2"), addFile("b3", "big3"),
		addFile("o", "one"), addTree("t2", "t/d3"), addFile("a", "loose/00"))
	return src, md, ops(build...)
}

// The bytes of a fixed layer are pinned: deduplication must not change
// which files are stored and which become links. The digests were computed
// before small files were hashed lazily.
func TestDeduplicationBytesPinned(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []layer.Option
		want string
	}{
		{"default", nil, "6f8f778a9c024ef06b592bb0b0c18beea5d9ec2d0c2eb473be3a3242c594168a"},
		{"parents and tree symlinks", both, "492729702d07872098824f03c820dc97594c04a914b4e5db888f397fa679c08a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, md, build := pinnedInput(t)
			var w *layer.Writer
			_, blob, err := writeLayerWith(t, md, tc.opts, func(lw *layer.Writer) error { w = lw; return build(lw, src) })
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(blob)
			if got := hex.EncodeToString(sum[:]); got != tc.want {
				t.Errorf("layer sha256 %s, want %s (%d entries, %d links)", got, tc.want, w.Entries, w.Links)
			}
		})
	}
}
