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

func passwdFiles(t *testing.T, o PasswdOptions) (map[string]string, []Entry) {
	t.Helper()
	if o.PasswdPath == "" {
		o.PasswdPath, o.GroupPath, o.ShadowPath = "/etc/passwd", "/etc/group", "/etc/shadow"
		o.Mode, o.ShadowMode, o.HomeMode = 0o644, 0o640, 0o750
	}
	es, err := Passwd(o)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range es {
		if e.Type == TypeFile {
			files[e.Path] = string(e.Content)
		}
	}
	return files, es
}

func TestPasswd(t *testing.T) {
	files, es := passwdFiles(t, PasswdOptions{
		PasswdSrcs:  []NamedData{{"base.passwd", []byte("# comment\nroot:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")}},
		GroupSrcs:   []NamedData{{"base.group", []byte("root:x:0:\n")}},
		ShadowSrcs:  []NamedData{{"base.shadow", []byte("root:*:19000:0:99999:7:::\n")}},
		Users:       []User{{Username: "app", UID: 1000, GID: 1000, Home: "/home/app"}, {Username: "svc", UID: 1001, GID: 1000}},
		Groups:      []Group{{Name: "app", GID: 1000, Users: []string{"app", "daemon"}}},
		CreateHomes: true, WriteShadow: true,
	})
	want := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/sbin/nologin\nsvc:x:1001:1000::/:/sbin/nologin\n",
		"etc/group":  "root:x:0:\napp:x:1000:app,daemon\n",
		"etc/shadow": "root:*:19000:0:99999:7:::\ndaemon:!*::0:99999:7:::\napp:!*::0:99999:7:::\nsvc:!*::0:99999:7:::\n",
	}
	for p, w := range want {
		if files[p] != w {
			t.Errorf("/%s:\n%s\nwant\n%s", p, files[p], w)
		}
	}
	// Homes: only declared users whose home is not "/"; not /usr/sbin of daemon.
	var homes []string
	for _, e := range es {
		if e.Type == TypeDir {
			homes = append(homes, fmt.Sprintf("%s %o %d:%d", e.Path, e.Mode, e.UID, e.GID))
		}
	}
	if fmt.Sprint(homes) != "[home/app 750 1000:1000]" {
		t.Errorf("home directories %v", homes)
	}
	_, es = passwdFiles(t, PasswdOptions{Users: []User{{Username: "root", Home: "/root"}}, CreateHomes: true})
	if last := es[len(es)-1]; last.Path != "root" || last.Mode != 0o700 {
		t.Errorf("root's home: %+v", last)
	}

	for _, tc := range []struct {
		name    string
		o       PasswdOptions
		wantErr string
	}{
		{"duplicate name", PasswdOptions{Users: []User{{Username: "a", UID: 1}, {Username: "a", UID: 2}}}, "user a is defined twice"},
		{"duplicate uid", PasswdOptions{Users: []User{{Username: "a", UID: 7}, {Username: "b", UID: 7}}}, "users a and b have the same uid 7"},
		{"duplicate uid with a file", PasswdOptions{PasswdSrcs: []NamedData{{"p", []byte("root:x:0:0::/root:/bin/sh\n")}}, Users: []User{{Username: "toor"}}}, "users root and toor have the same uid 0"},
		{"duplicate group", PasswdOptions{Groups: []Group{{Name: "g", GID: 1}, {Name: "g", GID: 2}}}, "group g is defined twice"},
		{"duplicate gid", PasswdOptions{Groups: []Group{{Name: "g", GID: 1}, {Name: "h", GID: 1}}}, "groups g and h have the same gid 1"},
		{"unknown member", PasswdOptions{Groups: []Group{{Name: "g", GID: 1, Users: []string{"nobody"}}}}, "group g lists user nobody, which no passwd record defines"},
		{"colon in name", PasswdOptions{Users: []User{{Username: "a:b"}}}, `user name "a:b"`},
		{"relative home", PasswdOptions{Users: []User{{Username: "a", Home: "home/a"}}}, "must be absolute paths"},
		{"newline in gecos", PasswdOptions{Users: []User{{Username: "a", Gecos: "x\ny"}}}, "contains ':' or a line break"},
		{"bad line", PasswdOptions{PasswdSrcs: []NamedData{{"base.passwd", []byte("root:x:0\n")}}}, "base.passwd:1: want 7 colon-separated fields, got 3"},
		{"bad uid", PasswdOptions{PasswdSrcs: []NamedData{{"base.passwd", []byte("root:x:zero:0::/:/bin/sh\n")}}}, `base.passwd:1: uid "zero"`},
		{"shadow of a stranger", PasswdOptions{WriteShadow: true, ShadowSrcs: []NamedData{{"s", []byte("x:*:1:0:99999:7:::\n")}}}, "shadow record of user x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.PasswdPath, tc.o.GroupPath, tc.o.ShadowPath = "/etc/passwd", "/etc/group", "/etc/shadow"
			_, err := Passwd(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Passwd() = %v, want ErrInvalidArgument with %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ParseUser(`{"username": "a", "uid": 1, "gid": 1, "password": "x"}`); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a password field: %v, want ErrInvalidArgument", err)
	}
}

func content(t *testing.T, es []Entry, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return string(es[0].Content)
}

func TestHosts(t *testing.T) {
	es, err := Hosts(HostsOptions{
		IncludeDefaults: true, Path: "/etc/hosts", Mode: 0o644,
		Srcs:  []NamedData{{"h", []byte("# c\n10.0.0.7 db # the database\n127.0.0.1 localhost app\n")}},
		Hosts: []Pair{{"127.0.0.1", "app.local"}, {"::1", "app6"}},
	})
	want := "127.0.0.1\tlocalhost app app.local\n::1\tlocalhost ip6-localhost ip6-loopback app6\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n10.0.0.7\tdb\n"
	if got := content(t, es, err); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	es, err = Hosts(HostsOptions{Path: "/etc/hosts", Hosts: []Pair{{"10.0.0.1", "a"}}})
	if got := content(t, es, err); got != "10.0.0.1\ta\n" {
		t.Errorf("without defaults: %q", got)
	}
	for _, h := range []Pair{{"db", "10.0.0.7"}, {"10.0.0.1", " "}} {
		if _, err := Hosts(HostsOptions{Path: "/etc/hosts", Hosts: []Pair{h}}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Hosts(%v) = %v, want ErrInvalidArgument", h, err)
		}
	}
}

func TestReleaseAndEnvironment(t *testing.T) {
	es, err := Release(ReleaseOptions{
		OSRelease:     []Pair{{"ID", "acme"}, {"PRETTY_NAME", `ACME "base" $1`}},
		OSReleaseSrcs: []NamedData{{"os", []byte("NAME=\"Old\"\nID=old\n")}},
		OSReleasePath: "/etc/os-release", UsrLibPath: "/usr/lib/os-release", UsrLibSymlink: true,
		WriteLSBRelease: true, LSBRelease: []Pair{{"DISTRIB_ID", "acme"}}, LSBReleasePath: "/etc/lsb-release", Mode: 0o644,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := modes(es)
	if m["etc/os-release"] != "-> ../usr/lib/os-release" || m["usr/lib/os-release"] != "file 644" || m["etc/lsb-release"] != "file 644" {
		t.Errorf("entries %v", m)
	}
	if got, want := string(es[0].Content), "NAME=\"Old\"\nID=\"acme\"\nPRETTY_NAME=\"ACME \\\"base\\\" \\$1\"\n"; got != want {
		t.Errorf("os-release\n%s\nwant\n%s", got, want)
	}
	if _, err := Release(ReleaseOptions{OSRelease: []Pair{{"id", "x"}}, OSReleasePath: "/etc/os-release"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("lower-case key: %v", err)
	}
	es, err = Environment(EnvironmentOptions{Path: "/etc/environment", Quote: true, Env: []Pair{{"LANG", "C.UTF-8"}}, Srcs: []NamedData{{"e", []byte("export PATH='/bin'\nLANG=en\n")}}})
	if got := content(t, es, err); got != "PATH=\"/bin\"\nLANG=\"C.UTF-8\"\n" {
		t.Errorf("environment %q", got)
	}
	if _, err := Environment(EnvironmentOptions{Path: "/etc/environment", Env: []Pair{{"A", "x y"}}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unquoted blank: %v", err)
	}
}

func TestRelTarget(t *testing.T) {
	for _, tc := range [][3]string{
		{"etc/os-release", "usr/lib/os-release", "../usr/lib/os-release"},
		{"os-release", "usr/lib/os-release", "usr/lib/os-release"},
		{"usr/lib/a/b", "usr/lib/c", "../c"},
		{"a/b/c", "a/d", "../d"},
	} {
		if got := relTarget(tc[0], tc[1]); got != tc[2] {
			t.Errorf("relTarget(%s, %s) = %s, want %s", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestLibraries(t *testing.T) {
	libc, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/libc.so.6")
	if len(libc) == 0 {
		libc, _ = filepath.Glob("/lib/*/libc.so.6")
	}
	if len(libc) == 0 {
		t.Skip("no libc.so.6 on this host")
	}
	es, err := Libraries(LibrariesOptions{LibDir: "/usr/lib/x86_64-linux-gnu", LdSoConf: true, Mode: 0o755, Libraries: []Library{{Name: "libc-2.36.so", Source: libc[0]}}})
	if err != nil {
		t.Fatal(err)
	}
	m := modes(es)
	if m["usr/lib/x86_64-linux-gnu/libc-2.36.so"] != "file 755" || m["usr/lib/x86_64-linux-gnu/libc.so.6"] != "-> libc-2.36.so" || m["etc/ld.so.conf.d/rules_img.conf"] != "file 644" {
		t.Errorf("entries %v", m)
	}
	notELF := filepath.Join(t.TempDir(), "libx.so")
	os.WriteFile(notELF, []byte("text"), 0o644)
	if _, err := Libraries(LibrariesOptions{LibDir: "/usr/lib", Libraries: []Library{{Name: "libx.so", Source: notELF}}}); err == nil || !strings.Contains(err.Error(), "is not an ELF file") {
		t.Errorf("non-ELF: %v", err)
	}
	exe, _ := os.Executable() // the test binary: an ELF executable, not a shared object
	if _, err := Libraries(LibrariesOptions{LibDir: "/usr/lib", Libraries: []Library{{Name: "liby.so", Source: exe}}}); err == nil || !strings.Contains(err.Error(), "not a shared object") {
		t.Errorf("the test binary as a library: %v, want an error", err)
	}
}
