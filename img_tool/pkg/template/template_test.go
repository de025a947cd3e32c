package template

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseMissingKey(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    MissingKey
		wantErr error
	}{
		{"error", MissingKeyError, nil},
		{"empty", MissingKeyEmpty, nil},
		{"keep", MissingKeyKeep, nil},
		{"", "", ErrInvalidArgument},
		{"zero", "", ErrInvalidArgument},
		{"Error", "", ErrInvalidArgument},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMissingKey(tc.in)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("ParseMissingKey(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
	if _, err := Expand(nil, nil, WithMissingKey("zero")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("WithMissingKey(zero): %v, want %v", err, ErrInvalidArgument)
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    any
		wantErr error
	}{
		{`true`, true, nil},
		{`false`, false, nil},
		{`0`, 0, nil},
		{`-42`, -42, nil},
		{`9007199254740993`, 9007199254740993, nil},
		{`"false"`, "false", nil},
		{`""`, "", nil},
		{`"a \"quoted\" \u00e9"`, `a "quoted" é`, nil},
		{`["a","b"]`, []string{"a", "b"}, nil},
		{`[]`, []string{}, nil},
		{` 7 `, 7, nil},
		{`1.5`, nil, ErrInvalidArgument},
		{`1e3`, nil, ErrInvalidArgument},
		{`99999999999999999999`, nil, ErrInvalidArgument},
		{`null`, nil, ErrInvalidArgument},
		{`{"a":1}`, nil, ErrInvalidArgument},
		{`[1,2]`, nil, ErrInvalidArgument},
		{`["a",true]`, nil, ErrInvalidArgument},
		{`[["a"]]`, nil, ErrInvalidArgument},
		{`true false`, nil, ErrInvalidArgument},
		{`yes`, nil, ErrInvalidArgument},
		{``, nil, ErrInvalidArgument},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseValue(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseValue(%q) = %v, want %v", tc.in, err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseValue(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestReadStatusFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stable-status.txt")
	if err := os.WriteFile(p, []byte("STABLE_VERSION 1.2.3\nBUILD_USER some one\nSTABLE_FLAG true\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	if err := ReadStatusFile(p, vars); err != nil {
		t.Fatal(err)
	}
	// Status values stay strings, even those that look like other types.
	want := map[string]any{"STABLE_VERSION": "1.2.3", "BUILD_USER": "some one", "STABLE_FLAG": "true"}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("vars = %v, want %v", vars, want)
	}
	if err := ReadStatusFile(filepath.Join(t.TempDir(), "missing"), vars); err == nil {
		t.Error("missing status file: no error")
	}
}
