// Package template expands the Go templates in image attribute values
// (env, labels, annotations) and deploy configurations with build settings
// and workspace status keys.
//
// Keys map to typed values: build settings keep their type (bool, int,
// string or list of strings), so that {{if .FLAG}}, {{range .LIST}} and
// {{.COUNT}} work as written; workspace status keys are strings.
//
// The expansion of one string is an Engine's. This package has Simple,
// for the templates that only name keys ({{.KEY}}), which is all most
// targets use; package gotemplate has the whole Go template language.
// Simple exists so that the build-action tool does not link text/template
// (whose reflection keeps every exported method of the program, and makes
// every build action start slower); the rules send a target whose
// templates need more to the full tool.
package template

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// ErrUnknownKey marks a template that names a key no source provides.
var ErrUnknownKey = errors.New("unknown template key")

// ErrInvalidArgument marks a bad option or value.
var ErrInvalidArgument = errors.New("invalid argument")

// MissingKey says what becomes of a template that names a key no source
// provides.
type MissingKey string

const (
	// MissingKeyError fails with ErrUnknownKey, naming the entry, the key
	// and the known keys.
	MissingKeyError MissingKey = "error"
	// MissingKeyEmpty expands each such key to the empty string; the rest
	// of the template expands as usual.
	MissingKeyEmpty MissingKey = "empty"
	// MissingKeyKeep leaves the whole string that uses such a key as it is
	// written, template text and all, for a later step to report.
	MissingKeyKeep MissingKey = "keep"
)

// ParseMissingKey accepts "error", "empty" and "keep".
func ParseMissingKey(s string) (MissingKey, error) {
	switch m := MissingKey(s); m {
	case MissingKeyError, MissingKeyEmpty, MissingKeyKeep:
		return m, nil
	}
	return "", fmt.Errorf("missing-key mode %q: want error, empty or keep: %w", s, ErrInvalidArgument)
}

// An Engine expands one template string text with vars. missing says
// what a key that vars lacks becomes (see MissingKey); with
// MissingKeyError the error wraps ErrUnknownKey and names the known keys
// (see UnknownKeyError). The expansion is at most MaxExpandedSize bytes.
type Engine func(text string, vars map[string]any, missing MissingKey) (string, error)

type options struct {
	missing MissingKey
	engine  Engine
}

// Option configures Expand and ExpandJSON.
type Option func(*options) error

// WithEngine sets the engine that expands each string. The default is
// Simple.
func WithEngine(e Engine) Option {
	return func(o *options) error {
		if e == nil {
			return fmt.Errorf("nil template engine: %w", ErrInvalidArgument)
		}
		o.engine = e
		return nil
	}
}

// WithMissingKey sets what a key that no source provides becomes. The
// default is MissingKeyError.
func WithMissingKey(m MissingKey) Option {
	return func(o *options) error {
		if _, err := ParseMissingKey(string(m)); err != nil {
			return err
		}
		o.missing = m
		return nil
	}
}

func newOptions(opts []Option) (options, error) {
	o := options{missing: MissingKeyError, engine: Simple}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return options{}, err
		}
	}
	return o, nil
}

// ParseValue decodes the JSON encoding of a build setting's value: a bool,
// an integer, a string or a list of strings. Integers become int and lists
// []string, the types templates compare and range over.
func ParseValue(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%q is not JSON: %w: %w", s, err, ErrInvalidArgument)
	}
	if dec.More() {
		return nil, fmt.Errorf("%q: data after the JSON value: %w", s, ErrInvalidArgument)
	}
	switch x := v.(type) {
	case bool, string:
		return x, nil
	case json.Number:
		n, err := x.Int64()
		if err != nil || int64(int(n)) != n {
			return nil, fmt.Errorf("%s is not an integer: %w", x, ErrInvalidArgument)
		}
		return int(n), nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			str, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s: element %d is not a string: %w", s, i, ErrInvalidArgument)
			}
			out[i] = str
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: want a bool, an integer, a string or a list of strings: %w", s, ErrInvalidArgument)
}

// ReadStatusFile reads a Bazel workspace status file ("KEY VALUE" lines)
// into vars; the values are strings. A key already in vars is overwritten.
func ReadStatusFile(path string, vars map[string]any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("workspace status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("workspace status %s: %w", path, err)
	}
	return nil
}

// Expand expands every value of every group. Values without "{{" are kept
// as they are. Errors name the group and the entry.
func Expand(groups map[string]map[string]string, vars map[string]any, opts ...Option) (map[string]map[string]string, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(groups))
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		out[g] = make(map[string]string, len(groups[g]))
		for _, k := range slices.Sorted(maps.Keys(groups[g])) {
			v := groups[g][k]
			if !strings.Contains(v, "{{") {
				out[g][k] = v
				continue
			}
			expanded, err := o.engine(v, vars, o.missing)
			if err != nil {
				return nil, fmt.Errorf("%s[%q] = %q: %w", g, k, v, err)
			}
			out[g][k] = expanded
		}
	}
	return out, nil
}

// ExpandJSON expands every string anywhere in a decoded JSON value (objects,
// arrays, strings); other values are kept. Errors name the path of the
// string, e.g. tags[1].
func ExpandJSON(v any, vars map[string]any, opts ...Option) (any, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return expandValue(v, "", vars, &o)
}

func expandValue(v any, path string, vars map[string]any, o *options) (any, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		out, err := o.engine(x, vars, o.missing)
		if err != nil {
			return nil, fmt.Errorf("%s = %q: %w", path, x, err)
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = expandValue(e, fmt.Sprintf("%s[%d]", path, i), vars, o); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := k
			if path != "" {
				p = fmt.Sprintf("%s[%q]", path, k)
			}
			var err error
			if out[k], err = expandValue(x[k], p, vars, o); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

// UnknownKeyError is the error of an expansion that failed at a key vars
// lacks: it wraps ErrUnknownKey and cause (the engine's account of where),
// and names the known keys, so that both engines say it alike.
func UnknownKeyError(cause error, vars map[string]any) error {
	known := slices.Sorted(maps.Keys(vars))
	if len(known) == 0 {
		return fmt.Errorf("%w: %v (no build_settings, and stamping is off)", ErrUnknownKey, cause)
	}
	return fmt.Errorf("%w: %v (known keys: %s)", ErrUnknownKey, cause, strings.Join(known, ", "))
}

// MaxExpandedSize bounds the expansion of one template string: a range
// over a range can otherwise grow without bound.
const MaxExpandedSize = 1 << 20

// ErrTooLarge is the error of an expansion over MaxExpandedSize bytes; it
// wraps ErrInvalidArgument.
var ErrTooLarge error = tooLargeError{}

// tooLargeError words its message when it is printed, not when the
// process starts (fmt at init would cost every build action).
type tooLargeError struct{}

func (tooLargeError) Error() string {
	return fmt.Sprintf("expands to more than %d bytes: %v", MaxExpandedSize, ErrInvalidArgument)
}

func (tooLargeError) Unwrap() error { return ErrInvalidArgument }
