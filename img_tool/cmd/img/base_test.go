//go:build !img_build_actions

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runBaseVerb runs `img base VERB` with config (JSON) and returns the
// fragment path and the error output.
func runBaseVerb(t *testing.T, dir, verb, producer, config string) (string, string) {
	t.Helper()
	cfg := filepath.Join(dir, verb+".json")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, verb+".frag")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"base", verb, "--producer", producer, "--config", cfg, out}, io.Discard, &stderr); code != 0 {
		return "", stderr.String()
	}
	return out, ""
}

func TestBaseVerbsAndMerge(t *testing.T) {
	dir := t.TempDir()
	sk, errOut := runBaseVerb(t, dir, "skeleton", "//:skeleton", `{"disabled": ["home"], "usr_merged": true, "extra_directories": {"/srv/app": "{\"mode\": \"0750\", \"uid\": 1000}"}}`)
	if errOut != "" {
		t.Fatal(errOut)
	}
	pw, errOut := runBaseVerb(t, dir, "etc-passwd", "//:users", `{"users": ["{\"username\":\"app\",\"uid\":1000,\"gid\":1000,\"home\":\"/home/app\"}"], "groups": [], "passwd_path": "/etc/passwd", "group_path": "/etc/group", "shadow_path": "/etc/shadow", "create_home_directories": true, "write_shadow": false, "home_directory_mode": "0750", "mode": ""}`)
	if errOut != "" {
		t.Fatal(errOut)
	}
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte(sk+"\n"+pw+"\n"), 0o644)
	tarPath := filepath.Join(dir, "base.tar")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"base", "merge", "--name", "//:layer", "--fragments-from-file", list, "--default-metadata", `{"mtime": "2024-01-01T00:00:00Z"}`, tarPath}, io.Discard, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	got := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	for name, mode := range map[string]int64{"tmp/": 0o1777, "root/": 0o700, "srv/app/": 0o750, "home/": 0o755, "home/app/": 0o750, "etc/passwd": 0o644} {
		if h := got[name]; h == nil || h.Mode != mode || h.ModTime.Year() != 2024 {
			t.Errorf("%s: %+v, want mode %o, mtime in 2024", name, h, mode)
		}
	}
	if got["home/app/"] == nil || got["home/app/"].Uid != 1000 {
		t.Errorf("home/app not owned by 1000")
	}
	if _, ok := got["etc/shadow"]; ok {
		t.Errorf("etc/shadow written with write_shadow false")
	}
}

func TestBaseErrorsNameTheTarget(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ verb, config, want string }{
		{"etc-passwd", `{"users": ["{\"username\":\"a\",\"uid\":1,\"gid\":1}", "{\"username\":\"b\",\"uid\":1,\"gid\":1}"], "passwd_path": "/etc/passwd", "group_path": "/etc/group"}`, "//:x: users a and b have the same uid 1"},
		{"trust-store", `{"certs": ["` + filepath.Join(dir, "missing.pem") + `"], "bundle": true, "bundle_path": "/etc/ssl/certs/ca-certificates.crt"}`, "//:x: stat "},
		{"etc-hosts", `{"hosts": [["db", "10.0.0.1"]], "path": "/etc/hosts"}`, `//:x: hosts: "db" is not an IP address`},
		{"skeleton", `{"extra_directories": {"/x": "{\"mtime\": \"2024-01-01T00:00:00Z\"}"}}`, "only mode, uid, gid, uname and gname apply"},
		{"etc-release", `{"os_release": [], "mode": "999", "os_release_path": "/etc/os-release"}`, `mode "999" is not an octal mode`},
		{"system-libraries", `{"unknown": 1}`, `unknown field "unknown"`},
	} {
		t.Run(tc.verb, func(t *testing.T) {
			_, errOut := runBaseVerb(t, dir, tc.verb, "//:x", tc.config)
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q, want %q", errOut, tc.want)
			}
		})
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"base", "nope"}, io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), `unknown verb "nope"`) {
		t.Errorf("unknown verb: %d %q", code, stderr.String())
	}
}

func TestBaseTrustStoreDirectory(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	os.MkdirAll(filepath.Join(certs, "sub"), 0o755)
	for src, dst := range map[string]string{"ca.pem": "b.pem", "server.pem": "sub/a.pem"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "pkg", "truststore", "testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(certs, dst), data, 0o644)
	}
	frag, errOut := runBaseVerb(t, dir, "trust-store", "//:trust", `{"certs": ["`+certs+`"], "bundle": true, "bundle_path": "/etc/ssl/certs/ca-certificates.crt", "exploded": true, "exploded_dir": "/etc/ssl/certs"}`)
	if errOut != "" {
		t.Fatal(errOut)
	}
	data, _ := os.ReadFile(frag)
	for _, want := range []string{`"etc/ssl/certs/ab3e8be6.0"`, `"etc/ssl/certs/ce275665.0"`, `"link":"rules_img_e2e_test_CA.pem"`, `"link":"localhost.pem"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("fragment lacks %s: %s", want, data)
		}
	}
	// A file in the directory that is not a certificate fails, naming it.
	os.WriteFile(filepath.Join(certs, "README"), []byte("hello"), 0o644)
	if _, errOut := runBaseVerb(t, dir, "trust-store", "//:trust", `{"certs": ["`+certs+`"], "bundle": true, "bundle_path": "/etc/ssl/certs/ca-certificates.crt"}`); !strings.Contains(errOut, "//:trust: "+certs+"/README: not a PEM, DER or PKCS#7") {
		t.Errorf("stderr %q", errOut)
	}
}
