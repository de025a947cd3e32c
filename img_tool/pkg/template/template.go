// Package template expands the Go templates in image attribute values
// (env, labels, annotations) and deploy configurations with build settings
// and workspace status keys.
//
// Keys map to typed values: build settings keep their type (bool, int,
// string or list of strings), so that {{if .FLAG}}, {{range .LIST}} and
// {{.COUNT}} work as written; workspace status keys are strings.
package template

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
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

type options struct {
	missing MissingKey
}

// Option configures Expand and ExpandJSON.
type Option func(*options) error

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
	o := options{missing: MissingKeyError}
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
			expanded, err := expandOne(v, vars, o.missing)
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
	return expandValue(v, "", vars, o.missing)
}

func expandValue(v any, path string, vars map[string]any, missing MissingKey) (any, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		out, err := expandOne(x, vars, missing)
		if err != nil {
			return nil, fmt.Errorf("%s = %q: %w", path, x, err)
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = expandValue(e, fmt.Sprintf("%s[%d]", path, i), vars, missing); err != nil {
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
			if out[k], err = expandValue(x[k], p, vars, missing); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

func expandOne(text string, vars map[string]any, missing MissingKey) (string, error) {
	t, err := template.New("value").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("not a valid template: %w", err)
	}
	data := vars
	if missing == MissingKeyEmpty {
		if absent := absentKeys(t, vars); len(absent) > 0 {
			data = maps.Clone(vars)
			if data == nil {
				data = map[string]any{}
			}
			for _, k := range absent {
				data[k] = ""
			}
		}
	}
	b := limitedBuffer{max: MaxExpandedSize}
	if err := t.Execute(&b, data); err != nil {
		if errors.Is(err, errTooLarge) {
			return "", fmt.Errorf("expands to more than %d bytes: %w", MaxExpandedSize, ErrInvalidArgument)
		}
		var execErr template.ExecError
		if !errors.As(err, &execErr) || !strings.Contains(err.Error(), "map has no entry for key") {
			return "", err
		}
		if missing == MissingKeyKeep {
			return text, nil
		}
		known := slices.Sorted(maps.Keys(vars))
		if len(known) == 0 {
			return "", fmt.Errorf("%w: %v (no build_settings, and stamping is off)", ErrUnknownKey, err)
		}
		return "", fmt.Errorf("%w: %v (known keys: %s)", ErrUnknownKey, err, strings.Join(known, ", "))
	}
	return b.String(), nil
}

// MaxExpandedSize bounds the expansion of one template string: a range
// over a range can otherwise grow without bound.
const MaxExpandedSize = 1 << 20

var errTooLarge = errors.New("expansion too large")

// limitedBuffer is a bytes.Buffer that fails writes beyond max bytes.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

func (b *limitedBuffer) WriteString(s string) (int, error) {
	if b.Len()+len(s) > b.max {
		return 0, errTooLarge
	}
	return b.Buffer.WriteString(s)
}

// absentKeys lists the keys that t names as fields (.KEY, $.KEY) and vars
// lacks. It may name more than the top-level lookups (.KEY inside range or
// with looks up the element), which is harmless: such a key is absent from
// vars either way.
func absentKeys(t *template.Template, vars map[string]any) []string {
	seen := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x != nil {
				for _, c := range x.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.PipeNode:
			if x != nil {
				for _, c := range x.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range x.Args {
				walk(a)
			}
		case *parse.FieldNode:
			seen[x.Ident[0]] = true
		case *parse.VariableNode:
			// $.K, and $v.K for a variable that may hold the data map.
			if len(x.Ident) > 1 {
				seen[x.Ident[1]] = true
			}
		case *parse.ChainNode:
			// (pipeline).K: the pipeline may yield the data map.
			walk(x.Node)
			if len(x.Field) > 0 {
				seen[x.Field[0]] = true
			}
		case *parse.IfNode:
			walk(&x.BranchNode)
		case *parse.RangeNode:
			walk(&x.BranchNode)
		case *parse.WithNode:
			walk(&x.BranchNode)
		case *parse.BranchNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.TemplateNode:
			walk(x.Pipe)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree.Root)
		}
	}
	var out []string
	for k := range seen {
		if _, ok := vars[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
