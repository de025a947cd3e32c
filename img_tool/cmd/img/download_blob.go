//go:build !img_build_actions

package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/rules-img/rules_img/img_tool/pkg/pull"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

func runDownloadBlob(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("download-blob", "--registry HOST --repository NAME --digest sha256:... [--size BYTES] --output FILE")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintf(fs.Output(), "\nEnvironment (flags take precedence):\n%s", registry.LimitsEnvUsage)
	}
	var (
		reg         registry.Flags
		digest, out string
		size        string
	)
	reg.Register(fs)
	fs.StringVar(&digest, "digest", "", `Digest of the blob, "sha256:...".`)
	fs.StringVar(&size, "size", "", "Size of the blob in bytes, when known: a longer or shorter blob is an error. Without it --max-blob-size bounds the blob.")
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
	n, err := parseBlobSize(size)
	if err != nil {
		return err
	}
	return registry.Sanitize(pull.DownloadBlobSized(ctx, reg.Registries, reg.Repository, digest, n, out, reg.Options()...))
}

// parseBlobSize parses --size: -1 when empty.
func parseBlobSize(s string) (int64, error) {
	if s == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		err = registry.CheckSize(n)
	}
	if err != nil {
		return 0, fmt.Errorf("--size %q: want the blob size in bytes: %v", s, err)
	}
	return n, nil
}
