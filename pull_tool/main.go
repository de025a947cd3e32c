// Command pull_tool fetches base images for the pull repository rule:
// `pull` writes an image's manifests and configs (and layers, if eager) with
// a pull.json, `download-blob` fetches one blob by digest. The work is done
// by img_tool/pkg/pull; this file only parses flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/rules-img/rules_img/img_tool/pkg/pull"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

type command struct {
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	help string
}

var commands = map[string]command{
	"pull":          {runPull, "fetches an image's manifests and configs (and layers, if eager) and writes pull.json"},
	"download-blob": {runDownloadBlob, "downloads one blob by digest, verified, with mirror fallback"},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: pull_tool COMMAND [ARGS...]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].help)
	}
	fmt.Fprintf(w, "\nEnvironment (flags take precedence):\n%s", registry.LimitsEnvUsage)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pull_tool: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// Errors are sanitized where they arise; scrub once more, so that
		// nothing credential-shaped reaches the repository rule's fail().
		fmt.Fprintf(stderr, "pull_tool %s: %s\n", args[0], registry.Scrub(registry.Sanitize(err).Error()))
		return 1
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pull_tool %s %s\n", name, synopsis)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nEnvironment (flags take precedence):\n%s", registry.LimitsEnvUsage)
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

func runPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pull", "--registry HOST --repository NAME (--tag TAG | --digest sha256:...) --output DIR", stderr)
	var (
		reg                           registry.Flags
		tag, digest, handling, output string
	)
	reg.Register(fs)
	fs.StringVar(&tag, "tag", "", "Tag to resolve when no --digest is given; recorded in pull.json.")
	fs.StringVar(&digest, "digest", "", `Digest ("sha256:...") of the root manifest or index; the fetched bytes must match it.`)
	fs.StringVar(&handling, "layer-handling", string(pull.Shallow), "shallow or lazy: layers stay in the registry; eager: layers are fetched too.")
	fs.StringVar(&output, "output", "", "Output directory: blobs/sha256/<hex> and pull.json. Replaced on success, untouched on error.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := reg.Check(); err != nil {
		return err
	}
	if tag == "" && digest == "" {
		return errors.New("--tag or --digest is required")
	}
	if output == "" {
		return errors.New("--output is required")
	}
	res, err := pull.Pull(ctx, pull.Request{
		Registries:      reg.Registries,
		Repository:      reg.Repository,
		Tag:             tag,
		Digest:          digest,
		LayerHandling:   pull.LayerHandling(handling),
		OutputDir:       output,
		RegistryOptions: reg.Options(),
	})
	if err != nil {
		return err
	}
	md := res.Metadata
	fmt.Fprintf(stderr, "pulled %s/%s@%s: fetched %d bytes of %d (%d layers left in the registry)\n",
		md.Registry, md.Repository, md.Root.Digest, res.Fetched, res.Total, res.LayersLeft)
	return nil
}

func runDownloadBlob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("download-blob", "--registry HOST --repository NAME --digest sha256:... [--size BYTES] --output FILE [--executable]", stderr)
	var (
		reg            registry.Flags
		digest, output string
		executable     bool
		size           int64
	)
	reg.Register(fs)
	fs.StringVar(&digest, "digest", "", `Digest of the blob, "sha256:...".`)
	fs.Int64Var(&size, "size", -1, "Size of the blob in bytes, when known: a longer or shorter blob is an error. -1: unknown, --max-blob-size bounds it.")
	fs.StringVar(&output, "output", "", "Write the verified blob here.")
	fs.BoolVar(&executable, "executable", false, "Make the output executable (mode 0755); by default it is 0644.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := reg.Check(); err != nil {
		return err
	}
	if digest == "" || output == "" {
		return errors.New("--digest and --output are required")
	}
	if size != -1 {
		if err := registry.CheckSize(size); err != nil {
			return fmt.Errorf("--size: %w", err)
		}
	}
	if err := pull.DownloadBlobSized(ctx, reg.Registries, reg.Repository, digest, size, output, reg.Options()...); err != nil {
		return err
	}
	if executable {
		if err := os.Chmod(output, 0o755); err != nil {
			return fmt.Errorf("download blob %s: %w", digest, err)
		}
	}
	return nil
}
