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

func runExpandTemplate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("expand-template", "[flags] TEMPLATE OUTPUT")
	var (
		name     string
		stamps   listFlag
		settings = kvFlag{name: "build-setting"}
	)
	fs.StringVar(&name, "name", "", "Label of the target, for error messages.")
	fs.Var(&settings, "build-setting", "KEY=VALUE available to templates as {{.KEY}}. Repeatable.")
	fs.Var(&stamps, "stamp", "Workspace status file (KEY VALUE lines) whose keys templates may use. Repeatable.")
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
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("expand-template: %w", err)
	}
	var doc any
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return fmt.Errorf("expand-template %s: %s: %w", ident, in, err)
	}
	vars := map[string]string{}
	for _, f := range stamps {
		if err := template.ReadStatusFile(f, vars); err != nil {
			return fmt.Errorf("expand-template %s: %w", ident, err)
		}
	}
	for _, kv := range settings.pairs {
		vars[kv[0]] = kv[1] // build settings win over status keys of the same name
	}
	expanded, err := template.ExpandJSON(doc, vars)
	if err != nil {
		return fmt.Errorf("expand-template %s: %w", ident, err)
	}
	js, err := json.MarshalIndent(expanded, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(out, append(js, '\n'), 0o644)
}
