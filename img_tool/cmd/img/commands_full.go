//go:build !img_build_actions

package main

import (
	"context"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/template/gotemplate"
)

// The commands of fullOnlyCommands: the deploy launcher, the servers, the
// structure test executable and its layout reader, the build actions that
// reach a registry, and the rare ones with heavy code (base, from-oci-layout).
func init() {
	for name, c := range map[string]command{
		"base":                {run: runBase, help: "describes base image content (skeleton, /etc files, users, CA certificates, libraries) and merges it into a tar"},
		"from-oci-layout":     {run: runFromOCILayout, help: "imports an image or index from an OCI image layout directory, every blob verified"},
		"download-blob":       {run: runDownloadBlob, help: "downloads one blob by digest from a registry, verified, with mirror fallback"},
		"deploy-metadata":     {run: runDeployMetadata, help: "writes the resolved deploy manifest (dispatch.json) of one push or load (bes strategy)"},
		"deploy-merge":        {run: runDeployMerge, help: "merges deploy manifests and plans into one resolved deploy manifest, in order"},
		"registry":            {serve: runRegistry, help: "serves an OCI registry from the CAS of a remote cache, and the blob cache of cas_registry pushes"},
		"bes":                 {serve: runBesEnv, help: "serves a Build Event Service backend that pushes the images of a build (bes push strategy)"},
		"oci-layout-metadata": {run: runOCILayoutMetadata, help: "writes the image configs, layer metadata and layer listings of an OCI layout directory, for image_structure_test"},
		// A server command, so that it also runs under its own name: the
		// executable of an image_structure_test target is a link named so.
		"image-structure-test": {serve: runImageStructureTestEnv, help: "checks an image's config and file listings against container-structure-test configs (the image_structure_test executable)"},
	} {
		commands[name] = c
	}
	for _, name := range fullOnlyCommands {
		if _, ok := commands[name]; !ok {
			panic("fullOnlyCommands names " + name + ", which commands_full.go does not define")
		}
	}
	templateEngine = gotemplate.Expand
	deployLauncher = func(ctx context.Context, argv []string, getenv func(string) string, stdout, stderr io.Writer) (int, bool) {
		rf := deployRunfiles(argv, getenv)
		if rf == nil {
			return 0, false
		}
		return runDeploy(ctx, rf, argv[1:], getenv, stdout, stderr), true
	}
}

// runBesEnv is runBes with the environment of the process.
func runBesEnv(ctx context.Context, args []string, stderr io.Writer) error {
	return runBes(ctx, args, os.Getenv, stderr)
}
