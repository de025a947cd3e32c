package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExpandTemplateRejects checks the rejections of hostile template
// documents: the message names the target, the file and what is wrong.
func TestExpandTemplateRejects(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		args          []string
		want          string // IN stands for the template file
	}{
		{name: "trailing data", content: `{"env": {}} {"env": {}}`,
			want: "img expand-template: expand-template //app:image: IN: data after the JSON value\n"},
		{name: "trailing garbage", content: `{"env": {}}]`,
			want: "img expand-template: expand-template //app:image: IN: data after the JSON value\n"},
		{name: "too large", content: `{"env": {}}` + strings.Repeat(" ", maxTemplateFile),
			want: "img expand-template: expand-template //app:image: IN: larger than 16777216 bytes\n"},
		{name: "expansion too large", content: `{"labels": {"k": "{{range .L}}{{range $.L}}{{$.L}}{{end}}{{end}}"}}`,
			args: []string{"--build-setting-json", `L=["` + strings.Repeat("x", 100) + `","` + strings.Repeat("y", 100) + `"` + strings.Repeat(`,"z"`, 400) + `]`},
			want: `img expand-template: expand-template //app:image: labels["k"] = "{{range .L}}{{range $.L}}{{$.L}}{{end}}{{end}}": expands to more than 1048576 bytes: invalid argument` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "templates.json"), filepath.Join(dir, "out", "expanded.json")
			if err := os.WriteFile(in, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{"expand-template", "--name", "//app:image"}, tc.args...), in, out)
			code, stderr := runImg(t, args...)
			want := strings.ReplaceAll(tc.want, "IN", in)
			if code != 1 || stderr != want {
				t.Errorf("exit %d, stderr %q\nwant exit 1, stderr %q", code, stderr, want)
			}
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
				t.Errorf("left %d files in the output directory", len(ents))
			}
		})
	}
}
