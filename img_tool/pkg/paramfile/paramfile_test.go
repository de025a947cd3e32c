package paramfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/paramfile"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "params")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadFiles(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // above bufio.Scanner's default 64 KiB
	for _, tc := range []struct {
		name    string
		content string
		want    []paramfile.Entry
		wantErr error
		wantMsg string
	}{
		{"empty", "", nil, nil, ""},
		{"file, dir, symlink", "/app/a\x00fbazel-out/a.txt\n/app/d\x00dbazel-out/tree\n/app/l\x00l../a\n", []paramfile.Entry{
			{Path: "/app/a", Type: 'f', Source: "bazel-out/a.txt"},
			{Path: "/app/d", Type: 'd', Source: "bazel-out/tree"},
			{Path: "/app/l", Type: 'l', Source: "../a"},
		}, nil, ""},
		{"no final newline", "a\x00fb", []paramfile.Entry{{Path: "a", Type: 'f', Source: "b"}}, nil, ""},
		{"empty lines skipped", "\na\x00fb\n\n", []paramfile.Entry{{Path: "a", Type: 'f', Source: "b"}}, nil, ""},
		{"spaces kept", "/my dir/a b\x00fsrc/a b\n", []paramfile.Entry{{Path: "/my dir/a b", Type: 'f', Source: "src/a b"}}, nil, ""},
		{"second NUL is part of the source", "a\x00fb\x00c\n", []paramfile.Entry{{Path: "a", Type: 'f', Source: "b\x00c"}}, nil, ""},
		{"carriage returns are part of names", "a\r\x00fb\r\r\n", []paramfile.Entry{{Path: "a\r", Type: 'f', Source: "b\r\r"}}, nil, ""},
		{"long line", "a\x00f" + long + "\n", []paramfile.Entry{{Path: "a", Type: 'f', Source: long}}, nil, ""},
		{"no NUL", "a\x00fb\n/app/a bazel-out/a\n", nil, paramfile.ErrInvalidArgument, ":2:"},
		{"empty path", "\x00fb\n", nil, paramfile.ErrInvalidArgument, ":1:"},
		{"unknown type", "a\x00xb\n", nil, paramfile.ErrInvalidArgument, ":1:"},
		{"type without source", "a\x00f\n", nil, paramfile.ErrInvalidArgument, ":1:"},
		{"empty value", "a\x00\n", nil, paramfile.ErrInvalidArgument, ":1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.content)
			got, err := paramfile.ReadFiles(p)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadFiles() = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), p+tc.wantMsg) {
					t.Errorf("error %q does not name %s%s", err, p, tc.wantMsg)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadFiles() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadPairs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    [][2]string
		wantErr error
	}{
		{"empty", "", nil, nil},
		{"pairs", "/usr/bin/python\x00python3\n/lib\x00/usr/lib\n", [][2]string{{"/usr/bin/python", "python3"}, {"/lib", "/usr/lib"}}, nil},
		{"empty value", "a\x00\n", [][2]string{{"a", ""}}, nil},
		{"no NUL", "a b\n", nil, paramfile.ErrInvalidArgument},
		{"empty key", "\x00b\n", nil, paramfile.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := paramfile.ReadPairs(write(t, tc.content))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadPairs() = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadPairs() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing")
	for name, read := range map[string]func(string) error{
		"ReadFiles": func(p string) error { _, err := paramfile.ReadFiles(p); return err },
		"ReadPairs": func(p string) error { _, err := paramfile.ReadPairs(p); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := read(p)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s() = %v, want %v", name, err, fs.ErrNotExist)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %s", err, p)
			}
		})
	}
}
