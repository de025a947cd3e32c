package gotemplate_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzExpand expands an arbitrary template with stamping keys (workspace
// status as strings) and a build setting whose value is parsed from the
// second argument. Values without "{{" are kept as they are; expanding is
// deterministic; Expand and ExpandJSON agree; MissingKeyKeep gives what
// MissingKeyError gives, or the text unchanged where that fails with
// ErrUnknownKey; MissingKeyEmpty never fails with ErrUnknownKey.
// Templates with loops or template calls (range, template, block) are
// skipped: their output, and the time to make it, are not bounded by
// their size. Seeds: testdata/fuzz/FuzzExpand.
func FuzzExpand(f *testing.F) {
	f.Fuzz(func(t *testing.T, text, value string) {
		for _, kw := range []string{"range", "template", "block"} {
			if strings.Contains(text, kw) {
				return
			}
		}
		vars := map[string]any{
			"BUILD_USER":        "builder",
			"BUILD_TIMESTAMP":   "1700000000",
			"STABLE_GIT_COMMIT": "0123456789abcdef0123456789abcdef01234567",
			"STABLE_VERSION":    "v1.2.3",
		}
		if v, err := ParseValue(value); err == nil {
			vars["//settings:flag"] = v
			vars["flag"] = v
		}
		expand := func(m MissingKey) (string, error) {
			out, err := Expand(map[string]map[string]string{"labels": {"k": text}}, vars, WithMissingKey(m))
			if err != nil {
				return "", err
			}
			return out["labels"]["k"], nil
		}
		got, err := expand(MissingKeyError)
		if !strings.Contains(text, "{{") && (err != nil || got != text) {
			t.Fatalf("text without {{: got %q, %v", got, err)
		}
		if again, err2 := expand(MissingKeyError); again != got || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %q, %v; then %q, %v", got, err, again, err2)
		}
		js, jsErr := ExpandJSON(map[string]any{"labels": map[string]any{"k": text}, "tags": []any{text}}, vars)
		if (err == nil) != (jsErr == nil) {
			t.Fatalf("Expand error %v, ExpandJSON error %v", err, jsErr)
		}
		if err == nil {
			want := map[string]any{"labels": map[string]any{"k": got}, "tags": []any{got}}
			if !reflect.DeepEqual(js, want) {
				t.Fatalf("ExpandJSON = %#v, want %#v", js, want)
			}
		}
		unknown := errors.Is(err, ErrUnknownKey)
		if unknown && !strings.Contains(err.Error(), "BUILD_TIMESTAMP, BUILD_USER, STABLE_GIT_COMMIT, STABLE_VERSION") {
			t.Fatalf("unknown key error does not name the known keys: %v", err)
		}
		kept, keepErr := expand(MissingKeyKeep)
		switch {
		case err == nil && (keepErr != nil || kept != got):
			t.Fatalf("keep mode: %q, %v; error mode: %q", kept, keepErr, got)
		case unknown && (keepErr != nil || kept != text):
			t.Fatalf("keep mode on an unknown key: %q, %v; want the text %q", kept, keepErr, text)
		}
		if _, emptyErr := expand(MissingKeyEmpty); errors.Is(emptyErr, ErrUnknownKey) {
			t.Fatalf("empty mode fails with an unknown key: %v", emptyErr)
		}
	})
}

// FuzzSimpleAsGoTemplate checks Simple against text/template on arbitrary
// text, and on text made of the pieces templates are made of.
func FuzzSimpleAsGoTemplate(f *testing.F) {
	for _, s := range simpleSeeds {
		f.Add(s, uint64(0))
	}
	pieces := []string{"{{", "}}", ".", " ", "\t", "\n", "S", "N", "L", "NOPE", "_", "1", "x", "-", "{", "}", "BUILD_USER"}
	f.Fuzz(func(t *testing.T, text string, recipe uint64) {
		if len(text) > 4096 {
			return
		}
		checkSimpleAsGoTemplate(t, text)
		var b strings.Builder
		for r := recipe; r != 0; r /= uint64(len(pieces)) {
			b.WriteString(pieces[r%uint64(len(pieces))])
		}
		checkSimpleAsGoTemplate(t, b.String())
	})
}
