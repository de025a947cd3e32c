package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/template"
)

// templateEngine expands each template string: template.Simple (only
// {{.KEY}}) in the build-action tool, the Go template engine in the full
// tool (commands_full.go). The rules run the full tool for a target whose
// templates are not all simple (common/templating.bzl).
var templateEngine template.Engine = template.Simple

func runExpandTemplate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("expand-template", "[flags] TEMPLATE OUTPUT")
	var (
		name, missingKey string
		stamps           listFlag
		settings         = kvFlag{name: "build-setting"}
		jsonSettings     = kvFlag{name: "build-setting-json"}
	)
	fs.StringVar(&name, "name", "", "Label of the target, for error messages.")
	fs.Var(&settings, "build-setting", "KEY=VALUE: templates see {{.KEY}} as the string VALUE. Repeatable.")
	fs.Var(&jsonSettings, "build-setting-json", "KEY=JSON: templates see {{.KEY}} with the type of the JSON value: a bool, an integer, a string or a list of strings. Repeatable.")
	fs.Var(&stamps, "stamp", "Workspace status file (KEY VALUE lines) whose keys templates may use, as strings. Repeatable.")
	fs.StringVar(&missingKey, "missing-key", string(template.MissingKeyError),
		"What a key that no build setting or status file gives becomes: error (fail, naming the entry, the key and the known keys), "+
			"empty (that key expands to the empty string) or keep (the whole string that uses it stays as written).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want TEMPLATE and OUTPUT arguments, got %d arguments", fs.NArg())
	}
	in, out := fs.Arg(0), fs.Arg(1)
	ident := in
	if name != "" {
		ident = name
	}
	mode, err := template.ParseMissingKey(missingKey)
	if err != nil {
		return fmt.Errorf("expand-template %s: --missing-key: %w", ident, err)
	}
	settingVars, err := buildSettings(settings.pairs, jsonSettings.pairs)
	if err != nil {
		return fmt.Errorf("expand-template %s: %w", ident, err)
	}
	data, err := readTemplateFile(in)
	if err != nil {
		return fmt.Errorf("expand-template %s: %w", ident, err)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("expand-template %s: %s: %w", ident, in, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("expand-template %s: %s: data after the JSON value", ident, in)
	}
	vars := map[string]any{}
	for _, f := range stamps {
		if err := template.ReadStatusFile(f, vars); err != nil {
			return fmt.Errorf("expand-template %s: %w", ident, err)
		}
	}
	for k, v := range settingVars {
		vars[k] = v // build settings win over status keys of the same name
	}
	expanded, err := template.ExpandJSON(doc, vars, template.WithMissingKey(mode), template.WithEngine(templateEngine))
	if err != nil {
		return fmt.Errorf("expand-template %s: %w", ident, err)
	}
	js, err := json.MarshalIndent(expanded, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(out, append(js, '\n'), 0o644)
}

// maxTemplateFile bounds the template JSON the rules write (the template
// strings of a target's attributes).
const maxTemplateFile = 16 << 20

func readTemplateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTemplateFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTemplateFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxTemplateFile)
	}
	return data, nil
}

// buildSettings merges string settings and JSON-typed settings; a key may
// be given once across both.
func buildSettings(strs, jsons [][2]string) (map[string]any, error) {
	vars := map[string]any{}
	for _, kv := range strs {
		if _, dup := vars[kv[0]]; dup {
			return nil, fmt.Errorf("build setting %q is given twice", kv[0])
		}
		vars[kv[0]] = kv[1]
	}
	for _, kv := range jsons {
		if _, dup := vars[kv[0]]; dup {
			return nil, fmt.Errorf("build setting %q is given twice", kv[0])
		}
		v, err := template.ParseValue(kv[1])
		if err != nil {
			return nil, fmt.Errorf("--build-setting-json %s: %w", kv[0], err)
		}
		vars[kv[0]] = v
	}
	return vars, nil
}
