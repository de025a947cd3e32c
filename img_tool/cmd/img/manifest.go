package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image"
	"github.com/rules-img/rules_img/img_tool/pkg/image/imageconfig"
	"github.com/rules-img/rules_img/img_tool/pkg/template"
)

func runManifest(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("manifest", "[flags]")
	var (
		osName, arch, variant                       string
		baseManifest, baseConfig                    string
		fragment, templates, overrides, name        string
		artifactType                                string
		replaceLayers                               bool
		created, createdFile, createdFromStatus     string
		user, workingDir, stopSignal                string
		manifestOut, configOut, descriptorOut, dOut string
		layers, entrypoint, cmd                     listFlag
		env                                         = kvFlag{name: "env"}
		labels                                      = kvFlag{name: "label"}
		annotations                                 = kvFlag{name: "annotation"}
	)
	fs.StringVar(&osName, "os", "linux", "Operating system of the image.")
	fs.StringVar(&arch, "architecture", "amd64", "CPU architecture of the image.")
	fs.StringVar(&variant, "variant", "", "CPU variant of the image, e.g. v8. Optional.")
	fs.Var(&layers, "layer-from-metadata", `Layer metadata JSON of a new layer (from "img layer --metadata"). Repeatable, bottom to top.`)
	fs.StringVar(&baseManifest, "base-manifest", "", "Manifest JSON of the base image (OCI or Docker v2). Needs --base-config.")
	fs.StringVar(&baseConfig, "base-config", "", "Config JSON of the base image. Needs --base-manifest.")
	fs.StringVar(&fragment, "config-fragment", "", "Partial image config JSON merged over the base config.")
	fs.StringVar(&templates, "config-templates", "", `JSON {"env":{},"labels":{},"annotations":{}}; each map replaces --env, --label or --annotation.`)
	fs.StringVar(&overrides, "config-overrides", "",
		`JSON of the layers' configs and the image's user, working_dir, stop_signal, entrypoint and cmd, where "<inherit from base>\x00" keeps the value so far (see imageconfig.ConfigOverrides). Conflicts with --user, --entrypoint, --cmd, --working-dir and --stop-signal.`)
	fs.StringVar(&created, "created", "", "Creation time of the image: RFC 3339, or Unix seconds. Default: the Unix epoch.")
	fs.StringVar(&createdFile, "created-file", "", "File holding the creation time (RFC 3339 or Unix seconds; surrounding whitespace ignored).")
	fs.StringVar(&createdFromStatus, "created-from-status", "", "Bazel workspace status file whose BUILD_TIMESTAMP (Unix seconds) is the creation time.")
	fs.StringVar(&name, "name", "", "Label of the image target, named in errors.")
	fs.StringVar(&user, "user", "", "User (name or UID) the container runs as.")
	fs.Var(&env, "env", "KEY=VALUE environment variable. Repeatable.")
	fs.Var(&entrypoint, "entrypoint", "Entrypoint argument. Repeatable; replaces the inherited entrypoint.")
	fs.Var(&cmd, "cmd", "Cmd argument. Repeatable; replaces the inherited cmd.")
	fs.StringVar(&workingDir, "working-dir", "", "Working directory of the container.")
	fs.Var(&labels, "label", "KEY=VALUE config label. Repeatable.")
	fs.Var(&annotations, "annotation", "KEY=VALUE manifest annotation. Repeatable.")
	fs.StringVar(&stopSignal, "stop-signal", "", "Signal that stops the container.")
	fs.StringVar(&artifactType, "artifact-type", "", "Write an artifact manifest of this artifactType with the empty config {}; its layers may be artifact blobs. Conflicts with the base and config flags.")
	fs.BoolVar(&replaceLayers, "replace-layers", false, "The --layer-from-metadata layers replace the layers of --base-manifest one for one; config and manifest are kept otherwise (image_optimize). Conflicts with the config flags.")
	fs.StringVar(&manifestOut, "manifest", "", "Write the manifest JSON here.")
	fs.StringVar(&configOut, "config", "", "Write the config JSON here.")
	fs.StringVar(&descriptorOut, "descriptor", "", "Write the manifest's descriptor JSON (with platform) here.")
	fs.StringVar(&dOut, "digest", "", `Write the manifest digest ("sha256:...", no newline) here.`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if replaceLayers {
		return runReplaceLayers(ctx, fs, name, baseManifest, baseConfig, layers, ocispec.Platform{OS: osName, Architecture: arch, Variant: variant}, manifestOut, configOut, descriptorOut, dOut)
	}
	createdValue, err := createdFlag(created, createdFile, createdFromStatus)
	if err != nil {
		return withName(name, err)
	}
	opts := []image.Option{
		image.WithConfigOverrides(overrides),
		image.WithCreated(createdValue),
		image.WithPlatform(osName, arch, variant),
		image.WithLayers(layers...),
		image.WithConfigFragment(fragment),
		image.WithConfigTemplates(templates),
		image.WithUser(user),
		image.WithEnv(env.Map()),
		image.WithEntrypoint(entrypoint),
		image.WithCmd(cmd),
		image.WithWorkingDir(workingDir),
		image.WithLabels(labels.Map()),
		image.WithAnnotations(annotations.Map()),
		image.WithStopSignal(stopSignal),
		image.WithArtifactType(artifactType),
	}
	switch {
	case baseManifest != "" && baseConfig != "":
		opts = append(opts, image.WithBase(baseManifest, baseConfig))
	case baseManifest != "" || baseConfig != "":
		return errors.New("--base-manifest and --base-config must be given together")
	}
	m, err := image.BuildManifest(ctx, opts...)
	if err != nil {
		return withName(name, err)
	}
	if err := m.Config.Write(configOut, "", ""); err != nil {
		return err
	}
	return m.Manifest.Write(manifestOut, descriptorOut, dOut)
}

// replaceLayersFlags are the flags --replace-layers goes with.
var replaceLayersFlags = []string{"replace-layers", "base-manifest", "base-config", "layer-from-metadata", "os", "architecture", "variant", "name", "manifest", "config", "descriptor", "digest"}

// runReplaceLayers writes the manifest of an image whose layers were
// rewritten (image.ReplaceLayers).
func runReplaceLayers(ctx context.Context, fs *flag.FlagSet, name, baseManifest, baseConfig string, layers []string, platform ocispec.Platform, manifestOut, configOut, descriptorOut, digestOut string) error {
	var conflicts []string
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains(replaceLayersFlags, f.Name) {
			conflicts = append(conflicts, "--"+f.Name)
		}
	})
	if len(conflicts) > 0 {
		return withName(name, fmt.Errorf("--replace-layers keeps the config; it conflicts with %s", strings.Join(conflicts, ", ")))
	}
	if baseManifest == "" || baseConfig == "" {
		return withName(name, errors.New("--replace-layers needs --base-manifest and --base-config"))
	}
	m, err := image.ReplaceLayers(ctx, baseManifest, baseConfig, layers, platform)
	if err != nil {
		return withName(name, err)
	}
	if err := m.Config.Write(configOut, "", ""); err != nil {
		return err
	}
	return m.Manifest.Write(manifestOut, descriptorOut, digestOut)
}

// createdFlag returns the creation time given by at most one of --created,
// --created-file and --created-from-status, unparsed; "" for none.
func createdFlag(value, file, status string) (string, error) {
	given := 0
	for _, v := range []string{value, file, status} {
		if v != "" {
			given++
		}
	}
	if given > 1 {
		return "", errors.New("give at most one of --created, --created-file and --created-from-status")
	}
	switch {
	case file != "":
		data, err := readSmall(file, 1024)
		if err != nil {
			return "", fmt.Errorf("created file: %w", err)
		}
		v := strings.TrimSpace(string(data))
		if _, err := imageconfig.ParseCreated(v); err != nil {
			return "", fmt.Errorf("created file %s: %w", file, err)
		}
		return v, nil
	case status != "":
		vars := map[string]any{}
		if err := template.ReadStatusFile(status, vars); err != nil {
			return "", err
		}
		v, ok := vars["BUILD_TIMESTAMP"].(string)
		if !ok {
			return "", fmt.Errorf("workspace status %s: no BUILD_TIMESTAMP", status)
		}
		if _, err := imageconfig.ParseCreated(v); err != nil {
			return "", fmt.Errorf("workspace status %s: BUILD_TIMESTAMP %w", status, err)
		}
		return v, nil
	}
	return value, nil
}

// withName prefixes err with the image target's label, when known.
func withName(name string, err error) error {
	if name == "" {
		return err
	}
	return fmt.Errorf("image %s: %w", name, err)
}

// readSmall reads a file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}
