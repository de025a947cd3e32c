package paramfile_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/paramfile"
)

// FuzzParamFile reads arbitrary bytes as a files parameter file and as a
// pairs parameter file. Accepted files give entries with a non-empty key
// and no line breaks in keys or values; writing the entries back in the
// multiline format and reading them again gives the same entries; a valid
// files parameter file is a valid pairs file with as many lines. Seeds:
// testdata/fuzz/FuzzParamFile (files as the layer rule writes them).
func FuzzParamFile(f *testing.F) {
	f.Add([]byte("/app/a\x00fbazel-out/k8-fastbuild/bin/a.txt\n/app/d\x00dbazel-out/tree\n/app/l\x00l../a\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "params")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		pairs, pairsErr := paramfile.ReadPairs(p)
		if pairsErr == nil {
			var b strings.Builder
			for _, kv := range pairs {
				if kv[0] == "" || strings.ContainsAny(kv[0], "\x00\n") || strings.Contains(kv[1], "\n") {
					t.Fatalf("pair %q: empty key, NUL in key or newline", kv)
				}
				b.WriteString(kv[0] + "\x00" + kv[1] + "\n")
			}
			if len(pairs) > strings.Count(string(data), "\x00") {
				t.Fatalf("%d pairs from %d NUL bytes", len(pairs), strings.Count(string(data), "\x00"))
			}
			if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			again, err := paramfile.ReadPairs(p)
			if err != nil {
				t.Fatalf("pairs written back %q: %v", b.String(), err)
			}
			if !reflect.DeepEqual(pairs, again) {
				t.Fatalf("pairs %q, written back and read again %q", pairs, again)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		files, err := paramfile.ReadFiles(p)
		if err != nil {
			return
		}
		if pairsErr != nil {
			t.Fatalf("valid files parameter file is not a valid pairs file: %v", pairsErr)
		}
		if len(files) != len(pairs) {
			t.Fatalf("%d entries, %d pairs", len(files), len(pairs))
		}
		var b strings.Builder
		for i, e := range files {
			if !strings.ContainsRune("fdl", rune(e.Type)) {
				t.Fatalf("entry %q: type %q", e.Path, e.Type)
			}
			if e.Path != pairs[i][0] || string(e.Type)+e.Source != pairs[i][1] {
				t.Fatalf("entry %+v differs from pair %q", e, pairs[i])
			}
			b.WriteString(e.Path + "\x00" + string(e.Type) + e.Source + "\n")
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		again, err := paramfile.ReadFiles(p)
		if err != nil {
			t.Fatalf("entries written back %q: %v", b.String(), err)
		}
		if !reflect.DeepEqual(files, again) {
			t.Fatalf("entries %q, written back and read again %q", files, again)
		}
	})
}
