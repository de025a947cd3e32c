package deploy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template/parse"
)

// ErrUnresolvedTemplate is wrapped by the error of a run whose destination
// (registry, repository, tag or load name) still holds Go template text:
// the build expands templates only with stamping or build_settings, and
// leaves them verbatim otherwise.
var ErrUnresolvedTemplate = errors.New("unresolved template")

// templateKeys reports whether s holds a template action ("{{...}}") and
// the keys that its actions read, sorted and without repeats:
// "v-{{.BUILD_TIMESTAMP}}" gives BUILD_TIMESTAMP, "{{.A.B}}" gives A.
// Text that looks like an action but does not parse counts as one with no
// known key.
func templateKeys(s string) (keys []string, ok bool) {
	if !strings.Contains(s, "{{") {
		return nil, false
	}
	tree := parse.New("value")
	tree.Mode = parse.SkipFuncCheck
	if _, err := tree.Parse(s, "", "", map[string]*parse.Tree{}); err != nil || tree.Root == nil {
		return nil, true
	}
	found := false
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case nil:
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.TextNode, *parse.CommentNode:
		case *parse.ActionNode:
			found = true
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			keys = append(keys, n.Ident[0])
		case *parse.VariableNode:
			// $.KEY reads the top-level key; other variables are local.
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				keys = append(keys, n.Ident[1])
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IfNode:
			found = true
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			found = true
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			found = true
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		default:
			// Template calls, break, continue: an action without a key.
			found = true
		}
	}
	walk(tree.Root)
	slices.Sort(keys)
	return slices.Compact(keys), found
}

// hasTemplate reports whether s holds a template action.
func hasTemplate(s string) bool {
	_, ok := templateKeys(s)
	return ok
}

// unresolvedField is one destination field with template text.
type unresolvedField struct {
	what  string // "tag", "registry", ...
	value string
	keys  []string
}

// unresolvedError returns the error of the fields of operation i that
// still hold template text, or nil when none does. It names every key,
// every field and the target, and says how to resolve them.
func unresolvedError(i int, target string, fields []unresolvedField) error {
	if len(fields) == 0 {
		return nil
	}
	var parts, all []string
	for _, f := range fields {
		s := fmt.Sprintf("%s %q", f.what, f.value)
		switch len(f.keys) {
		case 0:
			s += " has template text that does not parse"
		case 1:
			s += " needs key " + f.keys[0]
		default:
			s += " needs keys " + strings.Join(f.keys, ", ")
		}
		parts = append(parts, s)
		all = append(all, f.keys...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	of := "the target"
	if target != "" {
		of = target
	}
	fix := "build with --stamp (the workspace status gives the STABLE_* and BUILD_* keys)"
	if len(all) > 0 {
		fix += " or give " + strings.Join(all, ", ") + " through build_settings of " + of
	} else {
		fix += " or fix the template in " + of
	}
	return fmt.Errorf("%s: %w: %s; the build expands templates only with stamping or build_settings: %s; nothing was pushed or loaded",
		opName(i, target), ErrUnresolvedTemplate, strings.Join(parts, ", "), fix)
}

// collectUnresolved appends a field for value when it holds template text.
func collectUnresolved(fields []unresolvedField, what, value string) []unresolvedField {
	if keys, ok := templateKeys(value); ok {
		fields = append(fields, unresolvedField{what: what, value: value, keys: keys})
	}
	return fields
}

// opName is "operation I (TARGET)", or "operation I" without a target.
func opName(i int, target string) string {
	if target == "" {
		return fmt.Sprintf("operation %d", i)
	}
	return fmt.Sprintf("operation %d (%s)", i, target)
}
