package gotemplate_test

import (
	"github.com/rules-img/rules_img/img_tool/pkg/template"
	"github.com/rules-img/rules_img/img_tool/pkg/template/gotemplate"
)

// The tests of this package are written against the names of package
// template; these give them that package's API with the Go template
// engine.

type MissingKey = template.MissingKey

const (
	MissingKeyError = template.MissingKeyError
	MissingKeyEmpty = template.MissingKeyEmpty
	MissingKeyKeep  = template.MissingKeyKeep
)

var (
	ErrUnknownKey      = template.ErrUnknownKey
	ErrInvalidArgument = template.ErrInvalidArgument
	WithMissingKey     = template.WithMissingKey
	ParseValue         = template.ParseValue
)

func Expand(groups map[string]map[string]string, vars map[string]any, opts ...template.Option) (map[string]map[string]string, error) {
	return template.Expand(groups, vars, append(opts, template.WithEngine(gotemplate.Expand))...)
}

func ExpandJSON(v any, vars map[string]any, opts ...template.Option) (any, error) {
	return template.ExpandJSON(v, vars, append(opts, template.WithEngine(gotemplate.Expand))...)
}
