//go:build !img_build_actions

package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
)

func runDeployMerge(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("deploy-merge", "[--push-strategy S] [--load-strategy S] [--runfile I/PATH=FILE...] OUTPUT INPUT...")
	var (
		settings deploy.Settings
		files    = deploy.ManifestRunfiles{}
	)
	fs.Func("runfile", "I/PATH=FILE: file PATH of operation I (root.json, configuration.json, manifests/K/manifest.json), for inputs that are deploy plans. Repeatable.", func(v string) error {
		k, f, ok := strings.Cut(v, "=")
		if !ok || k == "" || f == "" {
			return fmt.Errorf("--runfile %q: want I/PATH=FILE", v)
		}
		files[k] = f
		return nil
	})
	fs.StringVar(&settings.PushStrategy, "push-strategy", deploy.StrategyEager, "Strategy of every push: eager, lazy, cas_registry or bes.")
	fs.StringVar(&settings.LoadStrategy, "load-strategy", deploy.StrategyEager, "Strategy of every load: eager or lazy.")
	remoteCacheFlags(fs, &settings)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return fmt.Errorf("want OUTPUT and at least one INPUT, got %q", fs.Args())
	}
	var ds []*deploy.Dispatch
	for i, in := range fs.Args()[1:] {
		// Input i is operation i of the merged manifest: a plan reads its
		// files below "i/".
		d, err := deploy.ReadResolved(in, files, i)
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	merged, err := deploy.Merge(settings, ds...)
	if err != nil {
		return err
	}
	return merged.Write(fs.Arg(0))
}
