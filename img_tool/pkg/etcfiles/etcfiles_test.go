package etcfiles

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
)

func modes(es []baseimage.Entry) map[string]string {
	m := map[string]string{}
	for _, e := range es {
		v := fmt.Sprintf("%s %o", e.Type, e.Mode)
		if e.Type == baseimage.TypeSymlink {
			v = "-> " + e.Link
		}
		m[e.Path] = v
	}
	return m
}

func passwdFiles(t *testing.T, o PasswdOptions) (map[string]string, []baseimage.Entry) {
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
		if e.Type == baseimage.TypeFile {
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
		if e.Type == baseimage.TypeDir {
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
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, baseimage.ErrInvalidArgument) {
				t.Errorf("Passwd() = %v, want baseimage.ErrInvalidArgument with %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ParseUser(`{"username": "a", "uid": 1, "gid": 1, "password": "x"}`); !errors.Is(err, baseimage.ErrInvalidArgument) {
		t.Errorf("a password field: %v, want baseimage.ErrInvalidArgument", err)
	}
}

func content(t *testing.T, es []baseimage.Entry, err error) string {
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
		if _, err := Hosts(HostsOptions{Path: "/etc/hosts", Hosts: []Pair{h}}); !errors.Is(err, baseimage.ErrInvalidArgument) {
			t.Errorf("Hosts(%v) = %v, want baseimage.ErrInvalidArgument", h, err)
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
	if _, err := Release(ReleaseOptions{OSRelease: []Pair{{"id", "x"}}, OSReleasePath: "/etc/os-release"}); !errors.Is(err, baseimage.ErrInvalidArgument) {
		t.Errorf("lower-case key: %v", err)
	}
	es, err = Environment(EnvironmentOptions{Path: "/etc/environment", Quote: true, Env: []Pair{{"LANG", "C.UTF-8"}}, Srcs: []NamedData{{"e", []byte("export PATH='/bin'\nLANG=en\n")}}})
	if got := content(t, es, err); got != "PATH=\"/bin\"\nLANG=\"C.UTF-8\"\n" {
		t.Errorf("environment %q", got)
	}
	if _, err := Environment(EnvironmentOptions{Path: "/etc/environment", Env: []Pair{{"A", "x y"}}}); !errors.Is(err, baseimage.ErrInvalidArgument) {
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
