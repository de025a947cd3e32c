package baseimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarEntry is what a test checks of a tar header.
type tarEntry struct {
	name string
	typ  byte
	mode int64
	uid  int
	link string
	body string
}

// readTar reads a tar stream back with archive/tar: every header, checking
// the mtime of each.
func readTar(t *testing.T, data []byte, mtime time.Time) []tarEntry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []tarEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if !h.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, mtime)
		}
		out = append(out, tarEntry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Linkname, string(body)})
	}
}

func frag(producer string, es ...Entry) *Fragment {
	for i := range es {
		es[i].Producer = producer
	}
	return &Fragment{Version: version, Producer: producer, Entries: es}
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frags   []*Fragment
		want    []string // "path type mode"
		wantErr string
	}{
		{
			name: "last wins, parents added, path order",
			frags: []*Fragment{
				frag("//:a", Dir("tmp", 0o1777), File("etc/x", 0o644, []byte("a")), Dir("etc-x", 0o755)),
				frag("//:b", Dir("tmp", 0o700), File("etc/x", 0o600, []byte("b")), File("var/tmp/f", 0o644, nil)),
			},
			want: []string{"etc dir 755", "etc/x file 600", "etc-x dir 755", "tmp dir 700", "var dir 755", "var/tmp dir 1777", "var/tmp/f file 644"},
		},
		{
			name:    "directory and symlink",
			frags:   []*Fragment{frag("//:skeleton", Symlink("lib", "usr/lib")), frag("//:libs", Dir("lib", 0o755))},
			wantErr: "conflicting base image content for /lib: //:skeleton describes it as a symlink, //:libs as a dir",
		},
		{
			name:    "under a symlink",
			frags:   []*Fragment{frag("//:skeleton", Symlink("lib", "usr/lib")), frag("//:libs", File("lib/libc.so.6", 0o755, nil))},
			wantErr: "//:libs places /lib/libc.so.6 underneath /lib, which //:skeleton describes as a symlink rather than a directory",
		},
		{
			name:    "under a file",
			frags:   []*Fragment{frag("//:a", File("etc/hosts", 0o644, nil), File("etc/hosts/x", 0o644, nil))},
			wantErr: "underneath /etc/hosts, which //:a describes as a file",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Merge(tc.frags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("Merge() = %v, want ErrInvalidArgument with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, e := range got {
				s = append(s, fmt.Sprintf("%s %s %o", e.Path, e.Type, e.Mode))
			}
			if fmt.Sprint(s) != fmt.Sprint(tc.want) {
				t.Errorf("got %v\nwant %v", s, tc.want)
			}
		})
	}
}

func TestWriteTar(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "lib.so")
	if err := os.WriteFile(src, []byte("ELF bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	es, err := Merge([]*Fragment{frag("//:x",
		File("etc/passwd", 0o644, []byte("root:x:0:0::/root:/bin/sh\n")),
		Entry{Path: "usr/lib/lib.so.1", Type: TypeFile, Mode: 0o755, Source: src},
		Symlink("usr/lib/lib.so", "lib.so.1"),
		Entry{Path: "home/app", Type: TypeDir, Mode: 0o750, UID: 1000, GID: 1000},
	)})
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var a, b bytes.Buffer
	if err := WriteTar(&a, es, mtime); err != nil {
		t.Fatal(err)
	}
	if err := WriteTar(&b, es, mtime); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two writes differ (%v)", err)
	}
	got := readTar(t, a.Bytes(), mtime)
	want := []tarEntry{
		{"etc/", tar.TypeDir, 0o755, 0, "", ""},
		{"etc/passwd", tar.TypeReg, 0o644, 0, "", "root:x:0:0::/root:/bin/sh\n"},
		{"home/", tar.TypeDir, 0o755, 0, "", ""},
		{"home/app/", tar.TypeDir, 0o750, 1000, "", ""},
		{"usr/", tar.TypeDir, 0o755, 0, "", ""},
		{"usr/lib/", tar.TypeDir, 0o755, 0, "", ""},
		{"usr/lib/lib.so", tar.TypeSymlink, 0o777, 0, "lib.so.1", ""},
		{"usr/lib/lib.so.1", tar.TypeReg, 0o755, 0, "", "ELF bytes"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	os.Remove(src)
	if err := WriteTar(io.Discard, es, mtime); err == nil || !strings.Contains(err.Error(), "/usr/lib/lib.so.1 (from //:x)") {
		t.Errorf("WriteTar with a missing source = %v, want an error naming the entry and producer", err)
	}
}

func TestFragmentRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	es := []Entry{Dir("etc", 0o755), File("etc/hosts", 0o644, []byte("127.0.0.1 localhost\n")), Symlink("bin", "usr/bin")}
	if err := WriteFragment(p, "//:x", es); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFragment(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Producer != "//:x" || len(f.Entries) != 3 || f.Entries[1].Producer != "//:x" || string(f.Entries[1].Content) != "127.0.0.1 localhost\n" {
		t.Errorf("read back %+v", f)
	}
	for _, tc := range []struct{ name, data, wantErr string }{
		{"version", `{"version": 2, "producer": "//:x", "entries": []}`, "format version 2"},
		{"unknown field", `{"version": 1, "producer": "//:x", "entries": [], "x": 1}`, "unknown field"},
		{"escaping path", `{"version": 1, "producer": "//:x", "entries": [{"path": "../etc", "type": "dir", "mode": 493}]}`, "escapes the image root"},
		{"unclean path", `{"version": 1, "producer": "//:x", "entries": [{"path": "/etc", "type": "dir", "mode": 493}]}`, "is not clean"},
		{"symlink without target", `{"version": 1, "producer": "//:x", "entries": [{"path": "bin", "type": "symlink", "mode": 511}]}`, "needs a target"},
		{"bad type", `{"version": 1, "producer": "//:x", "entries": [{"path": "bin", "type": "fifo", "mode": 511}]}`, "unknown entry type"},
		{"absolute source", `{"version": 1, "producer": "//:x", "entries": [{"path": "etc/shadow", "type": "file", "mode": 420, "source": "/etc/shadow"}]}`, "not a relative path below the execution root"},
		{"escaping source", `{"version": 1, "producer": "//:x", "entries": [{"path": "x", "type": "file", "mode": 420, "source": "bazel-out/../../x"}]}`, "not a relative path below the execution root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadFragment(p); err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("ReadFragment() = %v, want ErrInvalidArgument with %q", err, tc.wantErr)
			}
		})
	}
	if err := WriteFragment(p, "//:y", []Entry{{Path: "x", Type: TypeFile, Mode: 0o10000}}); err == nil || !strings.HasPrefix(err.Error(), "//:y: ") {
		t.Errorf("WriteFragment of a bad mode = %v, want an error naming //:y", err)
	}
}

func modes(es []Entry) map[string]string {
	m := map[string]string{}
	for _, e := range es {
		v := fmt.Sprintf("%s %o", e.Type, e.Mode)
		if e.Type == TypeSymlink {
			v = "-> " + e.Link
		}
		m[e.Path] = v
	}
	return m
}

func TestSkeleton(t *testing.T) {
	es, err := Skeleton(SkeletonOptions{UsrMerged: true, Extra: []Entry{{Path: "var/lib/app", Type: TypeDir, Mode: 0o750, UID: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	m := modes(es)
	for p, want := range map[string]string{
		"tmp": "dir 1777", "var/tmp": "dir 1777", "run/lock": "dir 1777", "root": "dir 700",
		"proc": "dir 555", "sys": "dir 555", "etc": "dir 755", "usr/bin": "dir 755",
		"bin": "-> usr/bin", "lib64": "-> usr/lib64", "var/run": "-> ../run", "var/lock": "-> ../run/lock",
		"var/lib/app": "dir 750",
	} {
		if m[p] != want {
			t.Errorf("/%s: %q, want %q", p, m[p], want)
		}
	}
	es, err = Skeleton(SkeletonOptions{Disabled: []string{"run", "home", "tmp"}})
	if err != nil {
		t.Fatal(err)
	}
	m = modes(es)
	if m["bin"] != "dir 755" || m["var/run"] != "" || m["home"] != "" || m["tmp"] != "" || m["run"] != "" || m["var"] != "dir 755" {
		t.Errorf("unmerged, without run, home, tmp: %v", m)
	}
	if _, err := Skeleton(SkeletonOptions{Disabled: []string{"boot"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown group: %v", err)
	}
}

// TestMergeErrorIsStable: of several entries below a symlink, the error
// names the first by path, on every run.
func TestMergeErrorIsStable(t *testing.T) {
	var es []Entry
	for _, n := range []string{"lib/z.so", "lib/m.so", "lib/a.so", "lib/k.so", "lib/b.so"} {
		es = append(es, File(n, 0o755, nil))
	}
	for i := 0; i < 20; i++ {
		_, err := Merge([]*Fragment{frag("//:skeleton", Symlink("lib", "usr/lib")), frag("//:libs", es...)})
		if err == nil || !strings.Contains(err.Error(), "places /lib/a.so underneath /lib") {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}
