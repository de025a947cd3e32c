// Package template expands the Go templates in image attribute values
// (env, labels, annotations) with build settings and workspace status keys.
package template

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/template"
)

// ErrUnknownKey marks a template that names a key no source provides.
var ErrUnknownKey = errors.New("unknown template key")

// ReadStatusFile reads a Bazel workspace status file ("KEY VALUE" lines)
// into vars. A key already in vars is overwritten.
func ReadStatusFile(path string, vars map[string]string) error {
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
// as they are. A key that vars lacks is an ErrUnknownKey error naming the
// group, the entry and the known keys.
func Expand(groups map[string]map[string]string, vars map[string]string) (map[string]map[string]string, error) {
	out := make(map[string]map[string]string, len(groups))
	for _, g := range sortedKeys(groups) {
		out[g] = make(map[string]string, len(groups[g]))
		for _, k := range sortedKeys(groups[g]) {
			v := groups[g][k]
			if !strings.Contains(v, "{{") {
				out[g][k] = v
				continue
			}
			expanded, err := expandOne(v, vars)
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
func ExpandJSON(v any, vars map[string]string) (any, error) {
	return expandValue(v, "", vars)
}

func expandValue(v any, path string, vars map[string]string) (any, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		out, err := expandOne(x, vars)
		if err != nil {
			return nil, fmt.Errorf("%s = %q: %w", path, x, err)
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = expandValue(e, fmt.Sprintf("%s[%d]", path, i), vars); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			p := k
			if path != "" {
				p = fmt.Sprintf("%s[%q]", path, k)
			}
			var err error
			if out[k], err = expandValue(x[k], p, vars); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

func expandOne(text string, vars map[string]string) (string, error) {
	t, err := template.New("value").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("not a valid template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		if strings.Contains(err.Error(), "map has no entry for key") {
			known := sortedKeys(vars)
			if len(known) == 0 {
				return "", fmt.Errorf("%w (no build_settings, and stamping is off)", ErrUnknownKey)
			}
			return "", fmt.Errorf("%w: %v (known keys: %s)", ErrUnknownKey, err, strings.Join(known, ", "))
		}
		return "", err
	}
	return b.String(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
