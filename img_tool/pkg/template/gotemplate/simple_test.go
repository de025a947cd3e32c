package gotemplate_test

import (
	"errors"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/template"
	"github.com/rules-img/rules_img/img_tool/pkg/template/gotemplate"
)

// text/template is the independent checker of template.Simple: on every
// template that Simple takes, both give the same output, or errors with
// the same text, in every missing-key mode.

var simpleVars = map[string]any{
	"S": "str", "B": true, "N": 42, "L": []string{"a", "b"}, "E": []string{},
	"BUILD_USER": "builder", "STABLE_X": "x{{.S}}",
}

var simpleSeeds = []string{
	"", "plain", "{{.S}}", "a {{ .B }} b {{.N}}{{.L}}{{.E}}", "{{.NOPE}}", "x\ny {{.S}}\n z{{\t.NOPE }}",
	"{{.S}}{{.MISSING}}{{.N}}", "}}{{.STABLE_X}}}}", "{{.BUILD_USER}}-{{.BUILD_USER}}", "{{._}}",
	"{{.S}", "{{.}}", "{{if .B}}y{{end}}", "{{.A.B}}", "{{- .S}}", "{{.S -}}",
}

func checkSimpleAsGoTemplate(t *testing.T, text string) {
	t.Helper()
	for _, m := range []template.MissingKey{template.MissingKeyError, template.MissingKeyEmpty, template.MissingKeyKeep} {
		got, err := template.Simple(text, simpleVars, m)
		if !template.IsSimple(text) {
			if !errors.Is(err, template.ErrNotSimple) {
				t.Fatalf("Simple(%q) of a template that is not simple = %q, %v", text, got, err)
			}
			continue
		}
		want, wantErr := gotemplate.Expand(text, simpleVars, m)
		if got != want || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%s: Simple(%q) = %q, %v\ntext/template gives %q, %v", m, text, got, err, want, wantErr)
		}
		if err != nil && !errors.Is(err, template.ErrUnknownKey) {
			t.Fatalf("Simple(%q) error %v is not ErrUnknownKey", text, err)
		}
	}
}

func TestSimpleAsGoTemplate(t *testing.T) {
	for _, s := range simpleSeeds {
		checkSimpleAsGoTemplate(t, s)
	}
}
