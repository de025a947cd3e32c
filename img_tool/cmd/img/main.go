// Command img is the rules_img tool: the build actions call its
// subcommands, `bazel run` deploy targets run it as their launcher, and its
// servers `img registry` and `img bes` back the cas_registry and bes push
// strategies. Run under the name registry or bes (e.g. through a symlink),
// it is that server, with its flags as arguments.
//
// Built with the tag img_build_actions it is the build-action tool: the
// same subcommands that write layers, manifests, indexes and layouts, but
// none of the registry, remote cache, containerd or Build Event Service
// clients (commands_full.go), so that each of the many short build actions
// starts like a small program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

type command struct {
	run  func(ctx context.Context, args []string, stdout io.Writer) error
	help string
	// serve, when set, runs the command instead of run: a server, which
	// logs to stderr and serves until SIGINT or SIGTERM (see runServer).
	serve func(ctx context.Context, args []string, stderr io.Writer) error
}

var commands = map[string]command{
	"layer":             {run: runLayer, help: "writes a layer blob and its metadata from files, trees, symlinks and tars"},
	"layer-metadata":    {run: runLayerMetadata, help: "writes the metadata of an existing layer blob"},
	"artifact-metadata": {run: runArtifactMetadata, help: "writes the metadata of a file used as it is as an artifact blob (ORAS)"},
	"compress":          {run: runCompress, help: "(re-)compresses a layer blob and writes its metadata"},
	"expand-template":   {run: runExpandTemplate, help: "expands templates in env, labels and annotations"},
	"manifest":          {run: runManifest, help: "writes an image config and manifest from layer metadata and a base image"},
	"index":             {run: runIndex, help: "writes an image index from manifest descriptors"},
	"oci-layout":        {run: runOCILayout, help: "writes an OCI image layout (directory or tar) of an image or index"},
	"docker-save":       {run: runDockerSave, help: "writes a `docker load` archive (tar or directory) of an image or index, also an OCI layout"},
}

// fullOnlyCommands are the commands that only the full tool has (see
// commands_full.go): they link the registry, remote cache, containerd, Build
// Event Service or YAML code, or are actions that run a few times per build
// (base image content, layout imports) and link certificate, ELF and
// layout-reading code that would slow the start of every other action.
var fullOnlyCommands = []string{"download-blob", "deploy-metadata", "deploy-merge", "registry", "bes", "image-structure-test", "oci-layout-metadata", "base", "from-oci-layout"}

// deployLauncher, when set (by the full tool, see commands_full.go), runs
// img as the launcher of a `bazel run` deploy target; ok is false when argv
// finds no deploy manifest in its runfiles.
var deployLauncher func(ctx context.Context, argv []string, getenv func(string) string, stdout, stderr io.Writer) (code int, ok bool)

// errUsage is returned, or wrapped, by servers for bad arguments, after
// printing their message and the usage.
var errUsage = errors.New("usage error")

// runServer runs the server command name until ctx ends or SIGINT or
// SIGTERM arrives, and returns its exit code: 0 when it stopped cleanly or
// printed its help (flag.ErrHelp), 2 for errUsage, else 1 after printing
// "NAME: ERROR" to stderr.
func runServer(ctx context.Context, name string, serve func(context.Context, []string, io.Writer) error, args []string, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := serve(ctx, args, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// serverForExecutable returns the server that img is when run as argv0:
// registry or bes when the base name of argv0, without a .exe suffix, is
// that name (a symlink to img, as a `bazel run` target of a server makes).
func serverForExecutable(argv0 string) (string, bool) {
	name := filepath.Base(argv0)
	if n := len(name) - len(".exe"); n > 0 && strings.EqualFold(name[n:], ".exe") {
		name = name[:n]
	}
	if c, ok := commands[name]; ok && c.serve != nil {
		return name, true
	}
	return "", false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: img COMMAND [ARGS...]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].help)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		usage(stderr)
		return 2
	}
	if len(args) > 1 && (args[0] == "--insecure" || args[0] == "-insecure") {
		// img --insecure COMMAND: the command's own --insecure.
		args = append([]string{args[1], "--insecure"}, args[2:]...)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "img: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if cmd.serve != nil {
		return runServer(ctx, args[0], cmd.serve, args[1:], stderr)
	}
	if err := cmd.run(ctx, args[1:], stdout); err != nil {
		fmt.Fprintf(stderr, "img %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func main() {
	if os.Getenv("GOGC") == "" {
		// Layer actions keep a record per file; a tighter heap goal keeps
		// the peak memory of large layers low at a small CPU cost.
		debug.SetGCPercent(50)
	}
	ctx := context.Background()
	// As the launcher of a `bazel run` deploy target, img finds the deploy
	// manifest in its runfiles and deploys instead of running a subcommand.
	if deployLauncher != nil {
		if code, ok := deployLauncher(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); ok {
			os.Exit(code)
		}
	}
	// Under the name of a server, img is that server.
	if name, ok := serverForExecutable(os.Args[0]); ok {
		os.Exit(run(ctx, append([]string{name}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	// A build action interrupted by SIGINT or SIGTERM removes the
	// temporary files of the outputs it is writing, then exits 130 or 143.
	// The servers and the deploy launcher above handle signals themselves.
	if isBuildAction(os.Args[1:]) {
		atomicfile.RemoveOnSignal(func(sig os.Signal, removed int64) {
			fmt.Fprintf(os.Stderr, "img %s: %v: removed %d bytes of unfinished outputs\n", os.Args[1], sig, removed)
		})
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// isBuildAction reports whether args run a subcommand that is not a
// server (see the commands table).
func isBuildAction(args []string) bool {
	if len(args) == 0 {
		return false
	}
	c, ok := commands[args[0]]
	return ok && c.serve == nil
}
