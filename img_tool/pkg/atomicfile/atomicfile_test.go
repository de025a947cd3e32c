package atomicfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

// names lists the directory, to see temporary files.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestCreate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		existing  string // content at the target before, "" for none
		commit    bool
		perm      os.FileMode
		wantFile  string // content after, "" for no file
		wantNames int
	}{
		{"commit", "", true, 0o644, "new", 1},
		{"commit executable", "", true, 0o755, "new", 1},
		{"commit read-only", "", true, 0o400, "new", 1},
		{"commit replaces", "old", true, 0o644, "new", 1},
		{"abort", "", false, 0o644, "", 0},
		{"abort keeps what was there", "old", false, 0o644, "old", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "out.tar")
			if tc.existing != "" {
				if err := os.WriteFile(p, []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := atomicfile.Create(p, tc.perm)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Abort()
			if f.Path() != p {
				t.Errorf("Path() = %q, want %q", f.Path(), p)
			}
			if _, err := f.WriteString("new"); err != nil {
				t.Fatal(err)
			}
			// Readers never see a partial file at the target.
			if got, err := os.ReadFile(p); tc.existing == "" && !errors.Is(err, fs.ErrNotExist) || tc.existing != "" && string(got) != tc.existing {
				t.Errorf("before Commit the target holds %q (%v)", got, err)
			}
			if tc.commit {
				if err := f.Commit(); err != nil {
					t.Fatalf("Commit() = %v", err)
				}
			} else {
				f.Abort()
			}
			f.Abort() // a no-op now
			got, err := os.ReadFile(p)
			switch {
			case tc.wantFile == "" && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("after abort the target holds %q (%v), want no file", got, err)
			case tc.wantFile != "" && string(got) != tc.wantFile:
				t.Errorf("target holds %q (%v), want %q", got, err, tc.wantFile)
			}
			if tc.commit {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != tc.perm {
					t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.perm)
				}
			}
			if n := names(t, dir); len(n) != tc.wantNames {
				t.Errorf("directory holds %q, want %d files", n, tc.wantNames)
			}
		})
	}
}

func TestCommitTwice(t *testing.T) {
	f, err := atomicfile.Create(filepath.Join(t.TempDir(), "out"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Error("second Commit() succeeded, want an error")
	}
}

func TestCommitFails(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	// A non-empty directory at the target makes the rename fail.
	if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := atomicfile.Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("Commit() over a non-empty directory succeeded")
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "out" {
		t.Errorf("directory holds %q after a failed Commit, want only the old out", n)
	}
}

func TestCreateMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "dir", "out")
	_, err := atomicfile.Create(p, 0o644)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Create() = %v, want %v", err, fs.ErrNotExist)
	}
}

func TestCreateRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := atomicfile.WriteFile("out.json", []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "out.json")); err != nil || string(got) != "{}" {
		t.Errorf("out.json holds %q (%v), want {}", got, err)
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("directory holds %q, want only out.json", n)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	for _, content := range []string{"first", "second, longer"} {
		if err := atomicfile.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != content {
			t.Errorf("file holds %q (%v), want %q", got, err, content)
		}
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("directory holds %q, want only out", n)
	}
}
