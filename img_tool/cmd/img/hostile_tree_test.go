//go:build unix

package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rules-img/rules_img/img_tool/internal/blobcheck"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Directory inputs with symlink cycles, and tars of ordinary trees made by
// GNU tar, bsdtar and archive/tar.

func htWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func htSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func TestHostileTrees(t *testing.T) {
	for _, tc := range []struct {
		name   string
		make   func(t *testing.T, dir string)
		reject []string // nil: accepted
		names  []string // entries of an accepted layer
	}{
		{
			name: "absolute link to an ancestor",
			make: func(t *testing.T, dir string) {
				htWrite(t, filepath.Join(dir, "a/f"), "f\n")
				htSymlink(t, dir, filepath.Join(dir, "a/up"))
			},
			reject: []string{"symlink cycle", "a/up -> "},
		},
		{
			name: "absolute link to itself",
			make: func(t *testing.T, dir string) {
				htSymlink(t, filepath.Join(dir, "self"), filepath.Join(dir, "self"))
			},
			reject: []string{"/t/self", "symlinks followed"},
		},
		{
			name: "absolute symlink cycle",
			make: func(t *testing.T, dir string) {
				htSymlink(t, filepath.Join(dir, "y"), filepath.Join(dir, "x"))
				htSymlink(t, filepath.Join(dir, "x"), filepath.Join(dir, "y"))
			},
			reject: []string{"/t/x", "symlinks followed"},
		},
		{
			name: "absolute links between directories that cross",
			make: func(t *testing.T, dir string) {
				htWrite(t, filepath.Join(dir, "p/f"), "p\n")
				htWrite(t, filepath.Join(dir, "q/g"), "q\n")
				htSymlink(t, filepath.Join(dir, "q"), filepath.Join(dir, "p/toq"))
				htSymlink(t, filepath.Join(dir, "p"), filepath.Join(dir, "q/top"))
			},
			reject: []string{"add /t/p/toq/top: symlink cycle", "q/top -> ", "already being added at /t/p"},
		},
		{
			name: "absolute link to a sibling directory (no cycle)",
			make: func(t *testing.T, dir string) {
				htWrite(t, filepath.Join(dir, "p/f"), "p\n")
				htSymlink(t, filepath.Join(dir, "p"), filepath.Join(dir, "q"))
			},
			names: []string{"t/", "t/p/", "t/p/f", "t/q/", "t/q/f"},
		},
		{
			name: "relative link to an ancestor (kept as a symlink)",
			make: func(t *testing.T, dir string) {
				htWrite(t, filepath.Join(dir, "a/f"), "f\n")
				htSymlink(t, "..", filepath.Join(dir, "a/up"))
			},
			names: []string{"t/", "t/a/", "t/a/f", "t/a/up"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tree := filepath.Join(dir, "tree")
			if err := os.Mkdir(tree, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.make(t, tree)
			for _, args := range [][]string{
				{"layer", "--add", "t=" + tree},
				{"layer", "--estargz", "--add", "t=" + tree},
				{"layer", "--format", "zstd", "--add-from-file", htParamFile(t, dir, "t\x00d"+tree)},
			} {
				out := filepath.Join(dir, "out")
				code, stderr := runImg(t, append(args, out)...)
				switch {
				case tc.reject == nil && code != 0:
					t.Fatalf("%q: exit %d: %s", args, code, stderr)
				case tc.reject != nil && code == 0:
					t.Fatalf("%q: succeeded, want an error naming %q", args, tc.reject)
				}
				for _, w := range tc.reject {
					if !strings.Contains(stderr, w) {
						t.Errorf("%q: error does not name %q: %s", args, w, stderr)
					}
				}
				if code != 0 {
					continue
				}
				mt := metadata.MediaTypeTarGzip
				if slices.Contains(args, "zstd") {
					mt = metadata.MediaTypeTarZstd
				}
				var got []string
				for _, l := range listing(t, out, mt) {
					got = append(got, strings.Fields(l)[1])
				}
				if !slices.Equal(got, tc.names) {
					t.Errorf("%q: entries %q, want %q", args, got, tc.names)
				}
				os.Remove(out)
			}
		})
	}
}

func htParamFile(t *testing.T, dir, line string) string {
	t.Helper()
	p := filepath.Join(dir, "params")
	if err := os.WriteFile(p, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// htNormalTree is an ordinary tree: nested directories, a long path, a
// non-ASCII name (a PAX record), a symlink, a hardlink and an empty file.
func htNormalTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	long := strings.Repeat("d", 120) + "/" + strings.Repeat("n", 150) + ".txt"
	for name, data := range map[string]string{
		"bin/tool":    "#!/bin/sh\necho hi\n",
		"data/a.txt":  "alpha\n",
		"data/empty":  "",
		"ünïcode.txt": "unicode\n",
		long:          "long\n",
	} {
		htWrite(t, filepath.Join(root, name), data)
	}
	if err := os.Chmod(filepath.Join(root, "bin/tool"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "data/a.txt"), filepath.Join(root, "data/hard")); err != nil {
		t.Fatal(err)
	}
	htSymlink(t, "a.txt", filepath.Join(root, "data/link"))
	if err := os.Mkdir(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// htGoTar writes root as archive/tar would for `tar -C root -cf - .`:
// "./" names, PAX headers, hardlinks to the first path of an inode.
func htGoTar(t *testing.T, root string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	seen := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		name := "./"
		if rel != "." {
			name = "./" + filepath.ToSlash(rel)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name, h.Format = name, tar.FormatPAX
		if fi.IsDir() && rel != "." {
			h.Name += "/"
		}
		if fi.Mode().IsRegular() {
			ino := fi.Sys().(*syscall.Stat_t).Ino
			if first, ok := seen[ino]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				seen[ino] = name
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tw.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// htWithoutRoot removes the root member ("./" or ".", with the PAX or GNU
// headers before it) from a tar: a tar that the importer accepted before
// it learned to drop the root, and that must import to the same layer.
func htWithoutRoot(t *testing.T, data []byte) []byte {
	t.Helper()
	group := 0
	for off := 0; off+512 <= len(data); {
		blk := data[off : off+512]
		if bytes.Equal(blk, make([]byte, 512)) {
			break
		}
		name := string(bytes.TrimRight(blk[:100], "\x00"))
		typ := blk[156]
		sizeField := strings.TrimSpace(string(bytes.Trim(blk[124:136], "\x00 ")))
		size, err := strconv.ParseInt(sizeField, 8, 64)
		if err != nil {
			t.Fatalf("size field %q of %q: %v", sizeField, name, err)
		}
		next := off + 512 + int((size+511)/512*512)
		switch typ {
		case 'x', 'g', 'L', 'K':
			off = next
			continue
		}
		if typ == '5' && (name == "./" || name == ".") {
			return slices.Concat(data[:group], data[next:])
		}
		off, group = next, next
	}
	t.Fatal("no root member")
	return nil
}

type htTool struct {
	name string
	make func(t *testing.T, root, out string) []byte
}

func htExecTar(tool string, args ...string) func(t *testing.T, root, out string) []byte {
	return func(t *testing.T, root, out string) []byte {
		t.Helper()
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed", tool)
		}
		if tool == "tar" {
			if v, _ := exec.Command(path, "--version").Output(); !bytes.Contains(v, []byte("GNU tar")) {
				t.Skip("tar is not GNU tar")
			}
		}
		cmd := exec.Command(path, slices.Concat([]string{"-C", root, "-cf", out}, args, []string{"."})...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, msg)
		}
		return loReadFile(t, out)
	}
}

var htTools = []htTool{
	{"GNU tar", htExecTar("tar", "--sort=name")},
	{"GNU tar posix", htExecTar("tar", "--sort=name", "--format=posix")},
	{"bsdtar", htExecTar("bsdtar")},
	{"bsdtar pax", htExecTar("bsdtar", "--format=pax")},
	{"archive/tar", func(t *testing.T, root, out string) []byte { return htGoTar(t, root) }},
}

// TestRealTars: tars of an ordinary tree with a "./" root, as the usual
// tools make them, pass every command; the import drops the root and gives
// the layer that the same tar without its root gives.
func TestRealTars(t *testing.T) {
	root := htNormalTree(t)
	for _, tool := range htTools {
		t.Run(tool.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.tar")
			data := tool.make(t, root, in)
			os.WriteFile(in, data, 0o644)
			rootless := filepath.Join(dir, "rootless.tar")
			if err := os.WriteFile(rootless, htWithoutRoot(t, data), 0o644); err != nil {
				t.Fatal(err)
			}
			for j, c := range htCommands {
				out := filepath.Join(dir, fmt.Sprint("out", j))
				if code, stderr := runImg(t, c.args(in, out)...); code != 0 {
					t.Errorf("%s: exit %d: %s", c.name, code, stderr)
				}
			}
			if got := loReadFile(t, filepath.Join(dir, "out4")); !bytes.Equal(got, data) {
				t.Errorf("compress --format none changed the tar")
			}
			a, b := filepath.Join(dir, "a.tgz"), filepath.Join(dir, "b.tgz")
			mustRun(t, "layer", "--import-tar", in, a)
			mustRun(t, "layer", "--import-tar", rootless, b)
			if !bytes.Equal(loReadFile(t, a), loReadFile(t, b)) {
				t.Errorf("importing the tar with and without its root gives different layers:\n%q\n%q",
					listing(t, a, metadata.MediaTypeTarGzip), listing(t, b, metadata.MediaTypeTarGzip))
			}
			// The layer holds the tree: every name, each type, each content.
			want := htTreeEntries(t, data)
			got := htTreeEntries(t, htUncompressed(t, loReadFile(t, a)))
			if !slices.Equal(got, want) {
				t.Errorf("layer entries\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// htTreeEntries lists a tar as "type name [-> link] [content]" with clean
// names and without the root; hardlinks show their target's content.
func htTreeEntries(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	content := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if name == "" || name == "." {
			continue
		}
		s := fmt.Sprintf("%c %s", h.Typeflag, name)
		switch h.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			content[name] = string(b)
			s += fmt.Sprintf(" %q", b)
		case tar.TypeLink:
			l := strings.TrimPrefix(h.Linkname, "./")
			s = fmt.Sprintf("%c %s %q", tar.TypeReg, name, content[l])
		case tar.TypeSymlink:
			s += " -> " + h.Linkname
		}
		out = append(out, s)
	}
}

// TestSparseTars: sparse members in PAX format (as GNU tar --format=posix
// and bsdtar write them for a file with holes) are accepted by every
// command; the import writes the file whole, holes as zeros. Old GNU
// sparse members (type 'S') are rejected by every command, by name.
func TestSparseTars(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "sparse.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	const size = 4 << 20
	if _, err := f.WriteAt([]byte("data"), size/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil || st.Blocks*512 >= size {
		t.Skip("the file system does not keep holes")
	}
	want := make([]byte, size)
	copy(want[size/2:], "data")
	t.Run("GNU tar old GNU", func(t *testing.T) {
		dir := t.TempDir()
		in := filepath.Join(dir, "in.tar")
		htExecTar("tar", "--sparse", "--format=gnu")(t, root, in)
		for j, c := range htCommands {
			code, stderr := runImg(t, c.args(in, filepath.Join(dir, fmt.Sprint("out", j)))...)
			if code == 0 || !strings.Contains(stderr, `member "./sparse.bin" is an old GNU sparse file`) {
				t.Errorf("%s: exit %d, want an error naming the sparse member: %s", c.name, code, stderr)
			}
		}
	})
	for _, tool := range []htTool{
		{"GNU tar posix", htExecTar("tar", "--sparse", "--format=posix")},
		{"bsdtar", htExecTar("bsdtar")},
	} {
		t.Run(tool.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.tar")
			data := tool.make(t, root, in)
			if bytes.Contains(data, want[size/2-4096:size/2]) && len(data) > size {
				t.Logf("%s wrote the file whole (%d bytes)", tool.name, len(data))
			}
			for j, c := range htCommands {
				out := filepath.Join(dir, fmt.Sprint("out", j))
				if code, stderr := runImg(t, c.args(in, out)...); code != 0 {
					t.Errorf("%s: exit %d: %s", c.name, code, stderr)
				}
			}
			ents, err := blobcheck.ReadTar(filepath.Join(dir, "out0"), metadata.MediaTypeTarGzip)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range ents {
				if e.Header.Name == "sparse.bin" {
					found = true
					if e.Header.Typeflag != tar.TypeReg || !bytes.Equal(e.Data, want) {
						t.Errorf("sparse.bin: type %q, %d bytes, want a regular file of %d bytes", e.Header.Typeflag, len(e.Data), size)
					}
					for k := range e.Header.PAXRecords {
						if strings.HasPrefix(k, "GNU.sparse") {
							t.Errorf("sparse.bin keeps PAX record %s", k)
						}
					}
				}
			}
			if !found {
				t.Error("no sparse.bin in the layer")
			}
		})
	}
}
