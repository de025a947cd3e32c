package template

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseValue decodes arbitrary text as a build setting's value. An
// accepted value is a bool, an int, a string or a []string; encoded as
// JSON again it parses to the same value. Seeds: testdata/fuzz/FuzzParseValue.
func FuzzParseValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValue(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
			}
			return
		}
		switch v.(type) {
		case bool, int, string, []string:
		default:
			t.Fatalf("ParseValue(%q) = %T", s, v)
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseValue(string(enc))
		if err != nil {
			t.Fatalf("ParseValue(%s) (re-encoded): %v", enc, err)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("ParseValue(%q) = %#v, re-encoded %s parses to %#v", s, v, enc, again)
		}
	})
}
