// Package gotemplate is the template.Engine with the whole Go template
// language (text/template): conditions, ranges, pipelines and functions
// over build settings and workspace status keys. It is linked by the full
// img tool only (see package template).
package gotemplate

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	imgtemplate "github.com/rules-img/rules_img/img_tool/pkg/template"
)

// Expand is the Go template Engine: text is parsed as a text/template
// named "value" and executed on vars.
func Expand(text string, vars map[string]any, missing imgtemplate.MissingKey) (string, error) {
	t, err := template.New("value").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("not a valid template: %w", err)
	}
	data := vars
	if missing == imgtemplate.MissingKeyEmpty {
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
	b := limitedBuffer{max: imgtemplate.MaxExpandedSize}
	if err := t.Execute(&b, data); err != nil {
		if errors.Is(err, errTooLarge) {
			return "", imgtemplate.ErrTooLarge
		}
		var execErr template.ExecError
		if !errors.As(err, &execErr) || !strings.Contains(err.Error(), "map has no entry for key") {
			return "", err
		}
		if missing == imgtemplate.MissingKeyKeep {
			return text, nil
		}
		return "", imgtemplate.UnknownKeyError(err, vars)
	}
	return b.String(), nil
}

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
