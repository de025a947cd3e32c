package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// expandTemplate writes the template document and a status file, runs
// `img expand-template` with args and returns the decoded output, or the
// exit code and stderr.
func expandTemplate(t *testing.T, doc any, args ...string) (got any, code int, stderr string) {
	t.Helper()
	dir := t.TempDir()
	in, out, status := filepath.Join(dir, "templates.json"), filepath.Join(dir, "out", "expanded.json"), filepath.Join(dir, "stable-status.txt")
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(status, []byte("STABLE_VERSION 1.2.3\nSTABLE_ON false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	full := []string{"expand-template", "--name", "//app:image"}
	for _, a := range args {
		full = append(full, strings.ReplaceAll(a, "$STATUS", status))
	}
	code, stderr = runImg(t, append(full, in, out)...)
	if code != 0 {
		if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
			t.Errorf("failed expand-template left %d files", len(ents))
		}
		return nil, code, stderr
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("output %s: %v", b, err)
	}
	return got, 0, stderr
}

func TestExpandTemplate(t *testing.T) {
	doc := map[string]any{
		"env": map[string]any{
			"DEBUG":   "{{if .DEBUG}}1{{else}}0{{end}}",
			"WORKERS": "{{.WORKERS}}",
			"REGIONS": "{{range $i, $r := .REGIONS}}{{if $i}} {{end}}{{$r}}{{end}}",
			"MODE":    "{{.MODE}}",
			"PLAIN":   "no template",
		},
		"labels": map[string]any{"version": "{{.STABLE_VERSION}}", "commit": "{{.STABLE_GIT_COMMIT}}"},
		"tags":   []any{"latest", "v{{.STABLE_VERSION}}-{{.STABLE_GIT_COMMIT}}"},
	}
	typed := []string{
		"--build-setting-json", "DEBUG=false",
		"--build-setting-json", "WORKERS=4",
		"--build-setting-json", `REGIONS=["eu","us"]`,
		"--build-setting", "MODE=false", // a string: true in {{if}}
	}
	env := map[string]any{"DEBUG": "0", "WORKERS": "4", "REGIONS": "eu us", "MODE": "false", "PLAIN": "no template"}
	for _, tc := range []struct {
		name     string
		args     []string
		want     any
		wantCode int
		wantMsg  []string
	}{
		{
			name:     "stamped, missing key: error names entry, key and known keys",
			args:     append(append([]string{}, typed...), "--stamp", "$STATUS"),
			wantCode: 1,
			wantMsg:  []string{"//app:image", `labels["commit"]`, "STABLE_GIT_COMMIT", "known keys: DEBUG, MODE, REGIONS, STABLE_ON, STABLE_VERSION, WORKERS"},
		},
		{
			name:     "error is the default",
			args:     typed,
			wantCode: 1,
			wantMsg:  []string{"STABLE_"},
		},
		{
			name: "unstamped image config: empty",
			args: append(append([]string{}, typed...), "--missing-key", "empty"),
			want: map[string]any{
				"env":    env,
				"labels": map[string]any{"version": "", "commit": ""},
				"tags":   []any{"latest", "v-"},
			},
		},
		{
			name: "unstamped deploy configuration: keep",
			args: append(append([]string{}, typed...), "--missing-key", "keep"),
			want: map[string]any{
				"env":    env,
				"labels": map[string]any{"version": "{{.STABLE_VERSION}}", "commit": "{{.STABLE_GIT_COMMIT}}"},
				"tags":   []any{"latest", "v{{.STABLE_VERSION}}-{{.STABLE_GIT_COMMIT}}"},
			},
		},
		{
			name: "stamped with keep: only the string with the missing key stays",
			args: append(append([]string{}, typed...), "--stamp", "$STATUS", "--missing-key", "keep"),
			want: map[string]any{
				"env":    env,
				"labels": map[string]any{"version": "1.2.3", "commit": "{{.STABLE_GIT_COMMIT}}"},
				"tags":   []any{"latest", "v{{.STABLE_VERSION}}-{{.STABLE_GIT_COMMIT}}"},
			},
		},
		{
			name: "build settings win over status keys and keep their type",
			args: []string{"--stamp", "$STATUS", "--build-setting-json", "STABLE_ON=true", "--missing-key", "empty"},
			want: map[string]any{"on": "yes"},
		},
		{
			name:     "bad JSON value names the key",
			args:     []string{"--build-setting-json", "WORKERS=4.5"},
			wantCode: 1,
			wantMsg:  []string{"//app:image", "WORKERS", "4.5"},
		},
		{
			name:     "object value",
			args:     []string{"--build-setting-json", `CFG={"a":1}`},
			wantCode: 1,
			wantMsg:  []string{"CFG"},
		},
		{
			name:     "key given twice",
			args:     []string{"--build-setting", "MODE=a", "--build-setting-json", `MODE="b"`},
			wantCode: 1,
			wantMsg:  []string{"MODE", "twice"},
		},
		{
			name:     "unknown missing-key mode",
			args:     []string{"--missing-key", "zero"},
			wantCode: 1,
			wantMsg:  []string{"--missing-key", "zero"},
		},
		{
			name:     "--build-setting-json without a key",
			args:     []string{"--build-setting-json", "=true"},
			wantCode: 1,
			wantMsg:  []string{"--build-setting-json"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := any(doc)
			if strings.HasPrefix(tc.name, "build settings win") {
				in = map[string]any{"on": "{{if .STABLE_ON}}yes{{else}}no{{end}}"}
			}
			got, code, stderr := expandTemplate(t, in, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.wantCode, stderr)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(stderr, m) {
					t.Errorf("stderr %q does not contain %q", stderr, m)
				}
			}
			if code == 0 && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("expanded:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}
