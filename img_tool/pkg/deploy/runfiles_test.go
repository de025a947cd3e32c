package deploy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestFindRunfiles(t *testing.T) {
	root := t.TempDir()
	mkfile := func(rel string) string {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The real binary lives elsewhere; `bazel run` executes a symlink to it
	// beside which the runfiles tree lies.
	tool := mkfile("tool/img")
	exe := filepath.Join(root, "bin/pkg/push")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tool, exe); err != nil {
		t.Fatal(err)
	}
	mkfile("bin/pkg/push.runfiles/dispatch.json")
	envDir := filepath.Dir(mkfile("env.runfiles/dispatch.json"))
	emptyDir := t.TempDir()
	target := mkfile("somewhere/dispatch-target.json")
	manifest := filepath.Join(root, "MANIFEST")
	if err := os.WriteFile(manifest, []byte("_main/x /abs/x\ndispatch.json "+target+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noDispatch := filepath.Join(root, "MANIFEST.none")
	if err := os.WriteFile(noDispatch, []byte("_main/x /abs/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		argv0 string
		env   map[string]string
		want  Runfiles // nil: none found
	}{
		{"RUNFILES_DIR first", exe, map[string]string{"RUNFILES_DIR": envDir, "RUNFILES_MANIFEST_FILE": manifest}, DirRunfiles(envDir)},
		{"argv0 symlink not resolved", exe, nil, DirRunfiles(exe + ".runfiles")},
		{"RUNFILES_DIR without dispatch.json", exe, map[string]string{"RUNFILES_DIR": emptyDir}, DirRunfiles(exe + ".runfiles")},
		{"resolved binary has none", tool, nil, nil},
		{"manifest file", tool, map[string]string{"RUNFILES_MANIFEST_FILE": manifest}, ManifestRunfiles{"_main/x": "/abs/x", "dispatch.json": target}},
		{"manifest without dispatch.json", tool, map[string]string{"RUNFILES_MANIFEST_FILE": noDispatch}, nil},
		{"unreadable manifest", tool, map[string]string{"RUNFILES_MANIFEST_FILE": filepath.Join(root, "nope")}, nil},
		{"no argv0", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FindRunfiles(tc.argv0, func(k string) string { return tc.env[k] })
			if tc.want == nil {
				if got != nil {
					t.Fatalf("FindRunfiles() = %#v, want none", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("FindRunfiles() = nil, want %#v", tc.want)
			}
			gotPath, err := got.Path(DispatchName)
			if err != nil {
				t.Fatal(err)
			}
			wantPath, _ := tc.want.Path(DispatchName)
			if gotPath != wantPath {
				t.Errorf("dispatch.json at %s, want %s", gotPath, wantPath)
			}
		})
	}
}

func TestReadRunfilesManifest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "MANIFEST")
	data := "dispatch.json /out/d.json\n" +
		"0/root.json /out/root.json\n" +
		` 0/a\sb /out/with\sspace\bx` + "\n" +
		"_main/empty \n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadRunfilesManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"dispatch.json": "/out/d.json",
		"0/root.json":   "/out/root.json",
		"0/a b":         `/out/with space\x`,
	} {
		if got, err := m.Path(name); err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := m.Path("_main/empty"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Path(empty file) = %v, want ErrNotExist", err)
	}
	if _, err := m.Path("0/manifests/0/layer/0"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Path(absent) = %v, want ErrNotExist", err)
	}
}
