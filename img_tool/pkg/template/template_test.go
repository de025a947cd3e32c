package template

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"REGISTRY": "registry.local", "STABLE_VERSION": "1.2.3", "BUILD_TIMESTAMP": "1700000000"}
	for _, tc := range []struct {
		name    string
		in      map[string]map[string]string
		want    map[string]map[string]string
		wantErr error
		errHas  string
	}{
		{
			name: "plain values are kept",
			in:   map[string]map[string]string{"env": {"A": "b {c}"}},
			want: map[string]map[string]string{"env": {"A": "b {c}"}},
		},
		{
			name: "build settings and status keys",
			in: map[string]map[string]string{
				"labels":      {"version": "v{{.STABLE_VERSION}}", "built": "{{.BUILD_TIMESTAMP}}"},
				"annotations": {"ref": "{{.REGISTRY}}/app:{{.STABLE_VERSION}}"},
			},
			want: map[string]map[string]string{
				"labels":      {"version": "v1.2.3", "built": "1700000000"},
				"annotations": {"ref": "registry.local/app:1.2.3"},
			},
		},
		{
			name:    "unknown key names the entry and the known keys",
			in:      map[string]map[string]string{"labels": {"v": "{{.STABLE_MISSING}}"}},
			wantErr: ErrUnknownKey,
			errHas:  `labels["v"] = "{{.STABLE_MISSING}}"`,
		},
		{
			name:   "syntax error",
			in:     map[string]map[string]string{"env": {"X": "{{.A"}},
			errHas: "not a valid template",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Expand(tc.in, vars)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Expand() error = %v, want %v", err, tc.wantErr)
			}
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Expand() error = %v, want it to contain %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Expand() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUnknownKeyWithoutVars(t *testing.T) {
	_, err := Expand(map[string]map[string]string{"env": {"X": "{{.STABLE_X}}"}}, map[string]string{})
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "stamping is off") {
		t.Fatalf("error = %v, want ErrUnknownKey mentioning stamping", err)
	}
}

func TestReadStatusFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stable-status.txt")
	if err := os.WriteFile(p, []byte("STABLE_VERSION 1.2.3\nBUILD_USER some one\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	if err := ReadStatusFile(p, vars); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"STABLE_VERSION": "1.2.3", "BUILD_USER": "some one"}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("vars = %v, want %v", vars, want)
	}
	if err := ReadStatusFile(filepath.Join(t.TempDir(), "missing"), vars); err == nil {
		t.Error("missing status file: no error")
	}
}

func TestExpandJSON(t *testing.T) {
	vars := map[string]string{"REGISTRY": "r.local", "TAG": "v1"}
	in := map[string]any{"registry": "{{.REGISTRY}}", "tags": []any{"latest", "{{.TAG}}"}, "n": 1.0}
	got, err := ExpandJSON(in, vars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"registry": "r.local", "tags": []any{"latest", "v1"}, "n": 1.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExpandJSON() = %v, want %v", got, want)
	}
	_, err = ExpandJSON(map[string]any{"tags": []any{"{{.NOPE}}"}}, vars)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `tags[0] = "{{.NOPE}}"`) {
		t.Errorf("ExpandJSON() error = %v, want ErrUnknownKey naming tags[0]", err)
	}
}
