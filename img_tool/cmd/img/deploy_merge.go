package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
)

func runDeployMerge(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("deploy-merge", "[--push-strategy S] [--load-strategy S] OUTPUT INPUT...")
	var settings deploy.Settings
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
	for _, in := range fs.Args()[1:] {
		d, err := deploy.Read(in)
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
