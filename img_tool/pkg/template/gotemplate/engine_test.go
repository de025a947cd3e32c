package gotemplate_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// typedVars are what the CLI builds from --build-setting-json and a
// workspace status file: typed build settings, string status keys.
func typedVars() map[string]any {
	return map[string]any{
		"REGISTRY":        "registry.local",
		"STABLE_VERSION":  "1.2.3",
		"BUILD_TIMESTAMP": "1700000000",
		"ON":              true,
		"OFF":             false,
		"COUNT":           3,
		"ZERO":            0,
		"TAGS":            []string{"a", "b"},
		"NONE":            []string{},
		"FALSE_STRING":    "false",
	}
}

func TestExpand(t *testing.T) {
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
			name: "typed values",
			in: map[string]map[string]string{"env": {
				"IF_ON":     "{{if .ON}}yes{{else}}no{{end}}",
				"IF_OFF":    "{{if .OFF}}yes{{else}}no{{end}}",
				"NOT_OFF":   "{{if not .OFF}}yes{{end}}",
				"STRING":    "{{if .FALSE_STRING}}a non-empty string is true{{end}}",
				"COUNT":     "n={{.COUNT}}",
				"EQ":        "{{if eq .COUNT 3}}three{{end}}",
				"ZERO":      "{{if .ZERO}}set{{else}}zero{{end}}",
				"RANGE":     "{{range $i, $t := .TAGS}}{{if $i}},{{end}}{{$t}}{{end}}",
				"LEN":       "{{len .TAGS}}",
				"EMPTY":     "{{range .NONE}}x{{else}}none{{end}}",
				"JOIN_BOOL": "{{.ON}}/{{.OFF}}",
			}},
			want: map[string]map[string]string{"env": {
				"IF_ON":     "yes",
				"IF_OFF":    "no",
				"NOT_OFF":   "yes",
				"STRING":    "a non-empty string is true",
				"COUNT":     "n=3",
				"EQ":        "three",
				"ZERO":      "zero",
				"RANGE":     "a,b",
				"LEN":       "2",
				"EMPTY":     "none",
				"JOIN_BOOL": "true/false",
			}},
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
			got, err := Expand(tc.in, typedVars())
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

// Each template under each missing-key mode. want is the expansion; a
// wantErr instead means the mode fails. keep must give back the very input.
func TestMissingKey(t *testing.T) {
	type result struct {
		want    string
		wantErr error // ErrUnknownKey, or errAny for any other error
	}
	errAny := errors.New("any error")
	kept := func(s string) result { return result{want: s} }
	for _, tc := range []struct {
		name               string
		text               string
		error, empty, keep result
	}{
		{
			name:  "no missing key",
			text:  "{{.REGISTRY}}/app:{{.STABLE_VERSION}}",
			error: result{want: "registry.local/app:1.2.3"},
			empty: result{want: "registry.local/app:1.2.3"},
			keep:  result{want: "registry.local/app:1.2.3"},
		},
		{
			name:  "missing key among known ones",
			text:  "{{.REGISTRY}}/app:{{.STABLE_GIT_COMMIT}}-{{.COUNT}}",
			error: result{wantErr: ErrUnknownKey},
			empty: result{want: "registry.local/app:-3"},
			keep:  kept("{{.REGISTRY}}/app:{{.STABLE_GIT_COMMIT}}-{{.COUNT}}"),
		},
		{
			name:  "missing key twice",
			text:  "{{.STABLE_X}}{{.STABLE_X}}!",
			error: result{wantErr: ErrUnknownKey},
			empty: result{want: "!"},
			keep:  kept("{{.STABLE_X}}{{.STABLE_X}}!"),
		},
		{
			name:  "missing key in a condition",
			text:  "{{if .STABLE_RELEASE}}release{{else}}dev{{end}}",
			error: result{wantErr: ErrUnknownKey},
			empty: result{want: "dev"},
			keep:  kept("{{if .STABLE_RELEASE}}release{{else}}dev{{end}}"),
		},
		{
			name:  "missing key in a branch not taken",
			text:  "{{if .OFF}}{{.STABLE_X}}{{else}}off{{end}}",
			error: result{want: "off"},
			empty: result{want: "off"},
			keep:  result{want: "off"},
		},
		{
			name:  "missing key through $ inside range",
			text:  "{{range .TAGS}}{{.}}{{$.STABLE_SUFFIX}};{{end}}",
			error: result{wantErr: ErrUnknownKey},
			empty: result{want: "a;b;"},
			keep:  kept("{{range .TAGS}}{{.}}{{$.STABLE_SUFFIX}};{{end}}"),
		},
		{
			name:  "missing key in a pipeline",
			text:  `{{.STABLE_X | printf "%q"}}`,
			error: result{wantErr: ErrUnknownKey},
			empty: result{want: `""`},
			keep:  kept(`{{.STABLE_X | printf "%q"}}`),
		},
		{
			name:  "missing key in with, else with",
			text:  "{{with .STABLE_A}}a={{.}}{{else with .REGISTRY}}r={{.}}{{end}}",
			error: result{wantErr: ErrUnknownKey},
			empty: result{want: "r=registry.local"},
			keep:  kept("{{with .STABLE_A}}a={{.}}{{else with .REGISTRY}}r={{.}}{{end}}"),
		},
		{
			name:  "syntax error fails in every mode",
			text:  "{{.STABLE_X",
			error: result{wantErr: errAny},
			empty: result{wantErr: errAny},
			keep:  result{wantErr: errAny},
		},
		{
			name:  "other execution errors fail in every mode",
			text:  "{{index .TAGS 5}}",
			error: result{wantErr: errAny},
			empty: result{wantErr: errAny},
			keep:  result{wantErr: errAny},
		},
	} {
		for _, m := range []struct {
			mode MissingKey
			res  result
		}{{MissingKeyError, tc.error}, {MissingKeyEmpty, tc.empty}, {MissingKeyKeep, tc.keep}} {
			t.Run(tc.name+"/"+string(m.mode), func(t *testing.T) {
				// Through ExpandJSON, as the CLI does, in an array in an object.
				doc := map[string]any{"tags": []any{"plain", tc.text}}
				got, err := ExpandJSON(doc, typedVars(), WithMissingKey(m.mode))
				if m.res.wantErr != nil {
					if err == nil {
						t.Fatalf("ExpandJSON() = %v, want an error", got)
					}
					if m.res.wantErr != errAny && !errors.Is(err, m.res.wantErr) {
						t.Fatalf("ExpandJSON() error = %v, want %v", err, m.res.wantErr)
					}
					if !strings.Contains(err.Error(), `tags[1]`) {
						t.Errorf("error %q does not name the entry tags[1]", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("ExpandJSON() error = %v", err)
				}
				want := map[string]any{"tags": []any{"plain", m.res.want}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("ExpandJSON() = %q, want %q", got, want)
				}
			})
		}
	}
}

// The error of the default mode names the entry, the key and the known keys.
func TestMissingKeyErrorMessage(t *testing.T) {
	_, err := ExpandJSON(map[string]any{"env": map[string]any{"V": "{{.STABLE_NOPE}}"}}, typedVars())
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("error = %v, want ErrUnknownKey", err)
	}
	for _, s := range []string{`env["V"]`, "STABLE_NOPE", "known keys: BUILD_TIMESTAMP, COUNT, FALSE_STRING"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestUnknownKeyWithoutVars(t *testing.T) {
	_, err := Expand(map[string]map[string]string{"env": {"X": "{{.STABLE_X}}"}}, map[string]any{})
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "stamping is off") {
		t.Fatalf("error = %v, want ErrUnknownKey mentioning stamping", err)
	}
	// Without any vars, empty still expands and keep still keeps.
	for _, tc := range []struct {
		mode MissingKey
		want string
	}{{MissingKeyEmpty, "x-"}, {MissingKeyKeep, "x-{{.STABLE_X}}"}} {
		got, err := Expand(map[string]map[string]string{"env": {"X": "x-{{.STABLE_X}}"}}, nil, WithMissingKey(tc.mode))
		if err != nil || got["env"]["X"] != tc.want {
			t.Errorf("mode %s: Expand() = %q, %v; want %q", tc.mode, got["env"]["X"], err, tc.want)
		}
	}
}

func TestExpandJSON(t *testing.T) {
	vars := map[string]any{"REGISTRY": "r.local", "TAG": "v1"}
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
