package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/pull"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

func runDownloadBlob(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("download-blob", "--registry HOST --repository NAME --digest sha256:... --output FILE")
	var (
		reg         registry.Flags
		digest, out string
	)
	reg.Register(fs)
	fs.StringVar(&digest, "digest", "", `Digest of the blob, "sha256:...".`)
	fs.StringVar(&out, "output", "", "Write the verified blob here.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := reg.Check(); err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{{"digest", digest}, {"output", out}} {
		if f.value == "" {
			return fmt.Errorf("--%s is required", f.name)
		}
	}
	return pull.DownloadBlob(ctx, reg.Registries, reg.Repository, digest, out, reg.Options()...)
}
