// Command img is the rules_img tool: the build actions call its
// subcommands, and `bazel run` deploy targets run it as their launcher.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
)

type command struct {
	run  func(ctx context.Context, args []string, stdout io.Writer) error
	help string
}

var commands = map[string]command{
	"layer":           {runLayer, "writes a layer blob and its metadata from files, trees, symlinks and tars"},
	"layer-metadata":  {runLayerMetadata, "writes the metadata of an existing layer blob"},
	"compress":        {runCompress, "(re-)compresses a layer blob and writes its metadata"},
	"expand-template": {runExpandTemplate, "expands templates in env, labels and annotations"},
	"manifest":        {runManifest, "writes an image config and manifest from layer metadata and a base image"},
	"index":           {runIndex, "writes an image index from manifest descriptors"},
	"oci-layout":      {runOCILayout, "writes an OCI image layout (directory or tar) of an image or index"},
	"docker-save":     {runDockerSave, "writes a `docker load` archive (tar or directory) of an image or index, also an OCI layout"},
	"download-blob":   {runDownloadBlob, "downloads one blob by digest from a registry, verified, with mirror fallback"},
	"deploy-metadata": {runDeployMetadata, "writes the deploy manifest (dispatch.json) of one push or load"},
	"deploy-merge":    {runDeployMerge, "merges deploy manifests into one, in order"},
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
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "img: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
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
	if rf := deployRunfiles(os.Args, os.Getenv); rf != nil {
		os.Exit(runDeploy(ctx, rf, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
