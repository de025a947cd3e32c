package image

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image/imageconfig"
	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Option configures BuildManifest.
type Option func(*options) error

type options struct {
	os, arch, variant        string
	layers                   []string
	baseManifest, baseConfig string
	fragment, templates      string
	user, workingDir, stop   string
	env, labels, annotations map[string]string
	entrypoint, cmd          []string
	overrides                string
	created                  *time.Time
	artifactType             string
}

// WithPlatform sets the platform of the image. The default is linux/amd64
// without a variant. os and arch must not be empty.
func WithPlatform(os, arch, variant string) Option {
	return func(o *options) error {
		if os == "" || arch == "" {
			return fmt.Errorf("platform %q: os and architecture must not be empty", imageconfig.PlatformString(os, arch, variant))
		}
		o.os, o.arch, o.variant = os, arch, variant
		return nil
	}
}

// WithLayers appends layer metadata files (see package metadata) of new
// layers, bottom to top. The default is no new layers.
func WithLayers(paths ...string) Option {
	return func(o *options) error {
		o.layers = append(o.layers, paths...)
		return nil
	}
}

// WithBase builds on a base image, given its manifest and config JSON
// (OCI or Docker v2). Its layers come first, unchanged, and its config is
// inherited. The default is no base. Giving a base twice is an error.
func WithBase(manifestPath, configPath string) Option {
	return func(o *options) error {
		if manifestPath == "" || configPath == "" {
			return errors.New("base: both the manifest and the config are needed")
		}
		if o.baseManifest != "" {
			return fmt.Errorf("base %s: a base %s is already set", manifestPath, o.baseManifest)
		}
		o.baseManifest, o.baseConfig = manifestPath, configPath
		return nil
	}
}

// WithConfigFragment merges a partial image config JSON file over the
// base config, before the values of the other options. The default is
// none. See BuildManifest for the merge rules.
func WithConfigFragment(path string) Option {
	return func(o *options) error { o.fragment = path; return nil }
}

// WithConfigTemplates reads a JSON file {"env": {}, "labels": {},
// "annotations": {}}; each map present replaces the map given by WithEnv,
// WithLabels or WithAnnotations. The default is none.
func WithConfigTemplates(path string) Option {
	return func(o *options) error { o.templates = path; return nil }
}

// WithConfigOverrides reads a JSON file of imageconfig.ConfigOverrides: the
// configs of the layers and the image's own user, working_dir, stop_signal,
// entrypoint and cmd, with imageconfig.InheritFromBase for "keep". The
// default is none. It conflicts with non-empty WithUser, WithWorkingDir,
// WithStopSignal, WithEntrypoint and WithCmd, which keep the inherited value
// when empty and so cannot unset a field.
func WithConfigOverrides(path string) Option {
	return func(o *options) error { o.overrides = path; return nil }
}

// WithCreated sets the config's created time from s, as
// imageconfig.ParseCreated reads it. The default, and "", is the Unix epoch.
func WithCreated(s string) Option {
	return func(o *options) error {
		if s == "" {
			o.created = nil
			return nil
		}
		t, err := imageconfig.ParseCreated(s)
		if err != nil {
			return fmt.Errorf("created %w", err)
		}
		o.created = &t
		return nil
	}
}

// WithUser sets config.User. The default "" keeps the inherited user. A
// numeric uid or gid must be from 0 to imageconfig.MaxID (see
// imageconfig.ValidateUser).
func WithUser(u string) Option {
	return func(o *options) error {
		if err := imageconfig.ValidateUser(u); err != nil {
			return fmt.Errorf("user: %w", err)
		}
		o.user = u
		return nil
	}
}

// WithWorkingDir sets config.WorkingDir. The default "" keeps the
// inherited one.
func WithWorkingDir(d string) Option {
	return func(o *options) error { o.workingDir = d; return nil }
}

// WithStopSignal sets config.StopSignal. The default "" keeps the
// inherited one.
func WithStopSignal(s string) Option {
	return func(o *options) error { o.stop = s; return nil }
}

// WithEntrypoint sets config.Entrypoint. The default (empty) keeps the
// inherited one.
func WithEntrypoint(args []string) Option {
	return func(o *options) error { o.entrypoint = slices.Clone(args); return nil }
}

// WithCmd sets config.Cmd. The default (empty) keeps the inherited one.
func WithCmd(args []string) Option {
	return func(o *options) error { o.cmd = slices.Clone(args); return nil }
}

// WithEnv sets environment variables: inherited keys keep their position
// with the new value, new keys are appended in sorted order. The default
// is none.
func WithEnv(env map[string]string) Option {
	return func(o *options) error { o.env = maps.Clone(env); return nil }
}

// WithLabels merges labels into config.Labels. The default is none.
func WithLabels(labels map[string]string) Option {
	return func(o *options) error { o.labels = maps.Clone(labels); return nil }
}

// WithAnnotations sets the annotations of the manifest. The default is
// none; base manifest annotations are never inherited.
func WithAnnotations(annotations map[string]string) Option {
	return func(o *options) error { o.annotations = maps.Clone(annotations); return nil }
}

// Manifest is an image config and the manifest that refers to it.
type Manifest struct {
	// Config is the image config; its descriptor is the manifest's config.
	Config jsondoc.Blob
	// Manifest is the image manifest; its descriptor carries the platform.
	Manifest jsondoc.Blob
}

// BuildManifest assembles an image config and manifest.
//
// The config starts from the base config (if any): its rootfs, history and
// the config fields User, Env, Entrypoint, Cmd, WorkingDir, Labels,
// ExposedPorts, Volumes and StopSignal. The layers' configs of
// WithConfigOverrides are applied over it, in order (see
// imageconfig.LayerConfig). The config fragment is merged over that: Env
// keys already present are replaced in place and new ones appended in
// fragment order; Labels are merged; User, WorkingDir, StopSignal and author
// replace when not empty; Entrypoint, Cmd, ExposedPorts and Volumes replace
// when present (an empty list clears); history is appended. Then the options
// are applied with the same rules, and the image's own fields of
// WithConfigOverrides (see imageconfig.ConfigOverrides). Finally the new
// layers extend rootfs.diff_ids and get one history entry each (created at
// the epoch); the config is created at WithCreated's time, or the epoch.
//
// A base config or fragment for another os or architecture (or another
// variant, when both name one) fails with ErrPlatformMismatch. Every input
// file is validated; errors name the file.
func BuildManifest(ctx context.Context, opts ...Option) (*Manifest, error) {
	o := options{os: "linux", arch: "amd64"}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.artifactType != "" {
		return buildArtifact(ctx, &o)
	}
	platform := ocispec.Platform{OS: o.os, Architecture: o.arch, Variant: o.variant}
	var overrides *imageconfig.ConfigOverrides
	if o.overrides != "" {
		if o.user != "" || o.workingDir != "" || o.stop != "" || len(o.entrypoint) > 0 || len(o.cmd) > 0 {
			return nil, fmt.Errorf("config overrides %s: user, working dir, stop signal, entrypoint and cmd are given there; give none as an option too", o.overrides)
		}
		var err error
		if overrides, err = imageconfig.ReadOverrides(o.overrides); err != nil {
			return nil, err
		}
	}

	cfg := ocispec.Image{Platform: platform, RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []ocispec.Digest{}}}
	layers := []ocispec.Descriptor{}
	if o.baseManifest != "" {
		base, baseCfg, err := readBase(o.baseManifest, o.baseConfig)
		if err != nil {
			return nil, err
		}
		if err := imageconfig.Inherit(&cfg, baseCfg, o.baseConfig); err != nil {
			return nil, err
		}
		layers = append(layers, base.Layers...)
	}
	if overrides != nil {
		for i := range overrides.Layers {
			imageconfig.ApplyLayerConfig(&cfg.Config, &overrides.Layers[i])
		}
	}
	if o.fragment != "" {
		frag, err := imageconfig.ReadFragment(o.fragment)
		if err != nil {
			return nil, err
		}
		if err := imageconfig.MergeFragment(&cfg, frag); err != nil {
			return nil, fmt.Errorf("config fragment %s: %w", o.fragment, err)
		}
	}
	if o.templates != "" {
		tmpl, err := imageconfig.ReadTemplates(o.templates)
		if err != nil {
			return nil, err
		}
		if tmpl.Env != nil {
			o.env = tmpl.Env
		}
		if tmpl.Labels != nil {
			o.labels = tmpl.Labels
		}
		if tmpl.Annotations != nil {
			o.annotations = tmpl.Annotations
		}
	}
	applyOptions(&cfg.Config, &o)
	if overrides != nil {
		imageconfig.ApplyImageOverrides(&cfg.Config, overrides)
	}

	for _, path := range o.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := metadata.Read(path)
		if err != nil {
			return nil, err
		}
		if l.IsArtifactBlob() {
			return nil, fmt.Errorf("layer metadata %s: field mediaType: %q is an artifact blob, not a filesystem layer; only an artifact manifest (WithArtifactType) holds it", path, l.MediaType)
		}
		if !metadata.IsLayer(l.MediaType) {
			return nil, fmt.Errorf("layer metadata %s: field mediaType: %q is an attestation, not a filesystem layer; a new image cannot use it", path, l.MediaType)
		}
		layers = append(layers, ocispec.Descriptor{
			MediaType:   l.MediaType,
			Digest:      ocispec.Digest(l.Digest),
			Size:        l.Size,
			Annotations: nonEmpty(l.Annotations),
		})
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, ocispec.Digest(l.DiffID))
		created := epoch
		cfg.History = append(cfg.History, ocispec.History{
			Created:   &created,
			CreatedBy: l.Name,
			Comment:   HistoryComment,
		})
	}
	created := epoch
	if o.created != nil {
		created = *o.created
	}
	cfg.Created = &created

	config, err := jsondoc.New(ocispec.MediaTypeImageConfig, cfg, nil)
	if err != nil {
		return nil, err
	}
	m := ocispec.Manifest{
		Versioned:   ocispec.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      config.Descriptor,
		Layers:      layers,
		Annotations: nonEmpty(o.annotations),
	}
	descPlatform := &ocispec.Platform{OS: o.os, Architecture: o.arch, Variant: o.variant}
	manifest, err := jsondoc.New(ocispec.MediaTypeImageManifest, m, descPlatform)
	if err != nil {
		return nil, err
	}
	return &Manifest{Config: config, Manifest: manifest}, nil
}

// applyOptions applies the config values of the options over c.
func applyOptions(c *ocispec.ImageConfig, o *options) {
	if o.user != "" {
		c.User = o.user
	}
	if len(o.env) > 0 {
		c.Env = imageconfig.MergeEnv(c.Env, imageconfig.SortedPairs(o.env))
	}
	if len(o.entrypoint) > 0 {
		c.Entrypoint = slices.Clone(o.entrypoint)
	}
	if len(o.cmd) > 0 {
		c.Cmd = slices.Clone(o.cmd)
	}
	if o.workingDir != "" {
		c.WorkingDir = o.workingDir
	}
	if len(o.labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, o.labels)
	}
	if o.stop != "" {
		c.StopSignal = o.stop
	}
}

// nonEmpty returns m, or nil when m is empty, so that it is omitted.
func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
