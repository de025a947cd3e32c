//go:build !img_build_actions

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// structureFixture writes a request tree as the image_structure_test rule
// lays out its runfiles: two layers (the lower one without a listing when
// unlisted), an image config and the given configs.
func structureFixture(t *testing.T, unlisted bool, configs map[string]string) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := "image_structure_test/"
	write(d+"images/0/config.json", `{"config":{"Entrypoint":["/app/hello"],"Env":["A=b"]}}`)
	write(d+"images/0/layers/0.json", `{"name":"//base:layer","digest":"sha256:0123","diff_id":"sha256:0123","mediaType":"x","size":1}`)
	write(d+"images/0/layers/0.mtree", "#mtree\n./bin/sh type=file mode=755 uid=0 gid=0 size=1\n")
	write(d+"images/0/layers/1.mtree", "#mtree\n./app/hello type=file mode=755 uid=0 gid=0 size=1\n./bin/.wh.sh type=file mode=644 uid=0 gid=0 size=0\n")
	lower := `"mtree":"` + d + `images/0/layers/0.mtree"`
	if unlisted {
		lower = `"mtree":""`
	}
	var cs []string
	for name, data := range configs {
		write(d+"configs/"+name, data)
		cs = append(cs, `{"name":"pkg/`+name+`","path":"`+d+`configs/`+name+`"}`)
	}
	write(d+"request.json", `{"configs":[`+strings.Join(cs, ",")+`],"images":[{"name":"//pkg:image","config":"`+d+`images/0/config.json","layers":[{"metadata":"`+d+`images/0/layers/0.json",`+lower+`},{"mtree":"`+d+`images/0/layers/1.mtree"}]}]}`)
	return root
}

func TestImageStructureTestCommand(t *testing.T) {
	pass := map[string]string{"ok.yaml": "schemaVersion: 2.0.0\nmetadataTest:\n  entrypoint: [/app/hello]\nfileExistenceTests:\n- name: hello\n  path: /app/hello\n- name: no shell\n  path: /bin/sh\n  shouldExist: false\n"}
	for _, tc := range []struct {
		name     string
		unlisted bool
		configs  map[string]string
		want     []string
		wantErr  string
	}{
		{"pass", false, pass, []string{"PASS  pkg/ok.yaml fileExistenceTests \"hello\"", "Summary: 3 passed, 0 failed"}, ""},
		{"unlisted base: what the top layer decides passes", true, pass, []string{"Summary: 3 passed, 0 failed"}, ""},
		{"unlisted base: absence fails naming the layer", true,
			map[string]string{"absent.yaml": "schemaVersion: 2.0.0\nfileExistenceTests:\n- name: no perl\n  path: /usr/bin/perl\n  shouldExist: false\n"},
			[]string{`pkg/absent.yaml: fileExistenceTests "no perl": path /usr/bin/perl: layer 0 (sha256:0123, //base:layer) has no file listing`}, "1 of 1 structure tests failed"},
		{"command tests", false,
			map[string]string{"cmd.yaml": "schemaVersion: 2.0.0\ncommandTests:\n- name: echo\n  command: echo\n"},
			[]string{`FAIL  (unsupported)  pkg/cmd.yaml commandTests "echo"`}, "1 of 1 structure tests failed"},
		{"bad config", false, map[string]string{"bad.yaml": "schemaVersion: 1.0.0\n"}, nil, "config pkg/bad.yaml: schemaVersion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := structureFixture(t, tc.unlisted, tc.configs)
			env := map[string]string{"RUNFILES_DIR": root}
			var out bytes.Buffer
			err := runImageStructureTest(context.Background(), nil, "/nowhere/image-structure-test", func(k string) string { return env[k] }, &out)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q\n%s", err, tc.wantErr, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	// --request and --root, outside any runfiles; and no request at all.
	root := structureFixture(t, false, pass)
	var out bytes.Buffer
	if err := runImageStructureTest(context.Background(), []string{"--request", filepath.Join(root, structureTestRequest), "--root", root}, "x", func(string) string { return "" }, &out); err != nil {
		t.Errorf("--request: %v\n%s", err, out.String())
	}
	if err := runImageStructureTest(context.Background(), nil, filepath.Join(t.TempDir(), "x"), func(string) string { return "" }, &out); err == nil || !strings.Contains(err.Error(), "no image_structure_test/request.json in the runfiles") {
		t.Errorf("without runfiles: %v", err)
	}
	// Through main's dispatch: the server command under its own name.
	if name, ok := serverForExecutable("/x/pkg/t/image-structure-test"); !ok || name != "image-structure-test" {
		t.Errorf("serverForExecutable = %q, %v", name, ok)
	}
}

// A request naming a layout metadata directory (img oci-layout-metadata's
// output): its images are checked, named after the layout.
func TestImageStructureTestLayout(t *testing.T) {
	root := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := "image_structure_test/"
	write(d+"layout/images.json", `{"images":[{"name":"linux/amd64 sha256:aa","config":"0/config.json","layers":[{"metadata":"0/layers/0.json","mtree":"0/layers/0.mtree"}]}]}`)
	write(d+"layout/0/config.json", `{"config":{}}`)
	write(d+"layout/0/layers/0.json", `{"digest":"sha256:bb"}`)
	write(d+"layout/0/layers/0.mtree", "#mtree\n./x type=file mode=644 uid=0 gid=0 size=1\n")
	write(d+"configs/0/c.yaml", "schemaVersion: 2.0.0\nfileExistenceTests:\n- name: x\n  path: /x\n  permissions: -rw-r--r--\n")
	write(d+"request.json", `{"configs":[{"name":"pkg/c.yaml","path":"`+d+`configs/0/c.yaml"}],"layouts":[{"name":"//pkg:layout","path":"`+d+`layout"}]}`)
	var out bytes.Buffer
	err := runImageStructureTest(context.Background(), nil, "x", func(k string) string { return map[string]string{"TEST_SRCDIR": root}[k] }, &out)
	if err != nil || !strings.Contains(out.String(), "=== image //pkg:layout linux/amd64 sha256:aa\nPASS  pkg/c.yaml fileExistenceTests \"x\"") {
		t.Errorf("err %v\n%s", err, out.String())
	}
}
