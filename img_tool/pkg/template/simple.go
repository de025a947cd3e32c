package template

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotSimple is Simple's error for a template that does more than name
// keys: it needs the Go template engine (package gotemplate).
var ErrNotSimple = errors.New("template needs the full Go template language")

// IsSimple reports whether every action of text names one key and nothing
// else: "{{.KEY}}", with spaces or tabs inside the braces allowed, KEY of
// ASCII letters, digits and "_", not starting with a digit. Text outside
// actions is anything. The rules decide which tool expands a target's
// templates with the same test (common/templating.bzl); keep them equal.
func IsSimple(text string) bool {
	_, ok := parseSimple(text)
	return ok
}

// piece is literal text, or a key when key is set.
type piece struct {
	text string
	key  string
	pos  int // byte offset of ".KEY" in the template, for errors
}

func parseSimple(text string) ([]piece, bool) {
	var out []piece
	offset := 0
	rest := text
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				out = append(out, piece{text: rest})
			}
			return out, true
		}
		if i > 0 {
			out = append(out, piece{text: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, false
		}
		inner := rest[i+2 : i+2+j]
		field := strings.TrimLeft(inner, " \t")
		lead := len(inner) - len(field)
		field = strings.TrimRight(field, " \t")
		if len(field) < 2 || field[0] != '.' || !isKey(field[1:]) {
			return nil, false
		}
		out = append(out, piece{key: field[1:], pos: offset + i + 2 + lead})
		advance := i + 2 + j + 2
		offset += advance
		rest = rest[advance:]
	}
}

func isKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// Simple is the Engine for templates that only name keys (see IsSimple);
// on any other template it fails with ErrNotSimple. Its output and its
// errors are those of the Go template engine on the same template: a
// value that is not a string prints as fmt.Sprint prints it, and an
// unknown key fails where text/template fails, with its message.
func Simple(text string, vars map[string]any, missing MissingKey) (string, error) {
	pieces, ok := parseSimple(text)
	if !ok {
		return "", fmt.Errorf("%q: %w", text, ErrNotSimple)
	}
	var b strings.Builder
	for _, p := range pieces {
		if p.key == "" {
			b.WriteString(p.text)
		} else if v, ok := vars[p.key]; ok {
			if s, isString := v.(string); isString {
				b.WriteString(s)
			} else {
				fmt.Fprint(&b, v)
			}
		} else {
			switch missing {
			case MissingKeyEmpty:
			case MissingKeyKeep:
				return text, nil
			default:
				return "", UnknownKeyError(missingKeyCause(text, p), vars)
			}
		}
		if b.Len() > MaxExpandedSize {
			return "", ErrTooLarge
		}
	}
	return b.String(), nil
}

// missingKeyCause words a missing key as text/template does, with the
// template named "value": line and byte column of the field in its line.
func missingKeyCause(text string, p piece) error {
	before := text[:p.pos]
	line := 1 + strings.Count(before, "\n")
	col := p.pos
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		col = p.pos - (nl + 1)
	}
	return fmt.Errorf("template: value:%d:%d: executing %q at <.%s>: map has no entry for key %q", line, col, "value", p.key, p.key)
}
