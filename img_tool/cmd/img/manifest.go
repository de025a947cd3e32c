package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/image"
)

func runManifest(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("manifest", "[flags]")
	var (
		osName, arch, variant                       string
		baseManifest, baseConfig                    string
		fragment, templates                         string
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
	fs.StringVar(&user, "user", "", "User (name or UID) the container runs as.")
	fs.Var(&env, "env", "KEY=VALUE environment variable. Repeatable.")
	fs.Var(&entrypoint, "entrypoint", "Entrypoint argument. Repeatable; replaces the inherited entrypoint.")
	fs.Var(&cmd, "cmd", "Cmd argument. Repeatable; replaces the inherited cmd.")
	fs.StringVar(&workingDir, "working-dir", "", "Working directory of the container.")
	fs.Var(&labels, "label", "KEY=VALUE config label. Repeatable.")
	fs.Var(&annotations, "annotation", "KEY=VALUE manifest annotation. Repeatable.")
	fs.StringVar(&stopSignal, "stop-signal", "", "Signal that stops the container.")
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
	opts := []image.Option{
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
	}
	switch {
	case baseManifest != "" && baseConfig != "":
		opts = append(opts, image.WithBase(baseManifest, baseConfig))
	case baseManifest != "" || baseConfig != "":
		return errors.New("--base-manifest and --base-config must be given together")
	}
	m, err := image.BuildManifest(ctx, opts...)
	if err != nil {
		return err
	}
	if err := m.Config.Write(configOut, "", ""); err != nil {
		return err
	}
	return m.Manifest.Write(manifestOut, descriptorOut, dOut)
}
