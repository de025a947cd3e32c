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
		registries, insecure                 listFlag
		repository, digest, out, dir, caFile string
	)
	fs.Var(&registries, "registry", "Registry host to fetch from. Repeatable: tried in order until one serves the blob.")
	fs.StringVar(&repository, "repository", "", "Repository on the registries, e.g. library/ubuntu.")
	fs.StringVar(&digest, "digest", "", `Digest of the blob, "sha256:...".`)
	fs.StringVar(&out, "output", "", "Write the verified blob here.")
	fs.StringVar(&dir, "docker-config", "", "Directory of the docker config.json with credentials. Default: $DOCKER_CONFIG, else ~/.docker.")
	fs.Var(&insecure, "insecure-registry", "Host (or host:port) that may use plain HTTP besides loopback hosts. Repeatable.")
	fs.StringVar(&caFile, "ca-file", "", "PEM file of CA certificates to trust besides the system ones.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range []struct{ name, value string }{{"repository", repository}, {"digest", digest}, {"output", out}} {
		if f.value == "" {
			return fmt.Errorf("--%s is required", f.name)
		}
	}
	if len(registries) == 0 {
		return fmt.Errorf("--registry is required")
	}
	opts := []registry.Option{registry.WithConfigDir(dir), registry.WithInsecureRegistries(insecure...)}
	if caFile != "" {
		opts = append(opts, registry.WithCAFile(caFile))
	}
	return pull.DownloadBlob(ctx, registries, repository, digest, out, opts...)
}
