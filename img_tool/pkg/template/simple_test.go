package template

import (
	"errors"
	"strings"
	"testing"
)

func TestIsSimple(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"", true},
		{"plain text } }} {", true},
		{"{{.KEY}}", true},
		{"a{{ .K_1 }}b{{\t.x\t}}c", true},
		{"{{._}}", true},
		{"}}{{.A}}}}", true},
		{"{{.}}", false},
		{"{{.1A}}", false},
		{"{{.A.B}}", false},
		{"{{.A-B}}", false},
		{"{{- .A}}", false},
		{"{{.A -}}", false},
		{"{{ .A\n}}", false},
		{"{{.A}}{{", false},
		{"{{{.A}}", false},
		{"{{ {{.A}}", false},
		{"{{if .A}}x{{end}}", false},
		{"{{.A | printf \"%s\"}}", false},
		{"{{/* c */}}", false},
		{"{{$.A}}", false},
		{"{{.Ä}}", false},
		{`{{"s"}}`, false},
	} {
		if got := IsSimple(tc.text); got != tc.want {
			t.Errorf("IsSimple(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestSimple(t *testing.T) {
	vars := map[string]any{"S": "str", "B": true, "N": 42, "L": []string{"a", "b"}, "E": []string{}}
	for _, tc := range []struct {
		text, want string
		missing    MissingKey
		wantErr    error
		errHas     string
	}{
		{text: "x{{.S}}y{{ .B }}{{.N}}{{.L}}{{.E}}", want: "xstrytrue42[a b][]"},
		{text: "no template", want: "no template"},
		{text: "{{.NOPE}}", wantErr: ErrUnknownKey, errHas: `template: value:1:2: executing "value" at <.NOPE>: map has no entry for key "NOPE" (known keys: B, E, L, N, S)`},
		{text: "line\nxx {{ .NOPE}}", wantErr: ErrUnknownKey, errHas: "value:2:6:"},
		{text: "a{{.NOPE}}b{{.S}}", missing: MissingKeyEmpty, want: "abstr"},
		{text: "a{{.NOPE}}b{{.S}}", missing: MissingKeyKeep, want: "a{{.NOPE}}b{{.S}}"},
		{text: "{{if .S}}{{end}}", wantErr: ErrNotSimple},
	} {
		missing := tc.missing
		if missing == "" {
			missing = MissingKeyError
		}
		got, err := Simple(tc.text, vars, missing)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Simple(%q) = %q, %v; want %v containing %q", tc.text, got, err, tc.wantErr, tc.errHas)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Simple(%q) = %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
	big := map[string]any{"X": strings.Repeat("x", MaxExpandedSize/2+1)}
	if _, err := Simple("{{.X}}{{.X}}", big, MissingKeyError); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Simple of more than MaxExpandedSize bytes: %v, want ErrTooLarge", err)
	}
	if _, err := Simple("{{.NOPE}}", nil, MissingKeyError); err == nil || !strings.Contains(err.Error(), "stamping is off") {
		t.Errorf("Simple without vars: %v, want a word on stamping", err)
	}
}
