// Package imageconfig computes the config of a new image from its inputs:
// the base config it inherits (Inherit), a config fragment (ReadFragment,
// MergeFragment), config templates (ReadTemplates), the overrides of the
// layers and of the image (ConfigOverrides) and the creation time
// (ParseCreated). Input files are read with the bounds of package jsondoc;
// errors name the file and the field.
package imageconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
)

// PlatformString formats a platform as os/architecture[/variant].
func PlatformString(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

// Inherit copies what an image inherits from its base config into
// cfg, whose platform is already set.
func Inherit(cfg *ocispec.Image, base *ocispec.Image, path string) error {
	if err := CheckPlatform(&cfg.Platform, &base.Platform); err != nil {
		return fmt.Errorf("base config %s: base image is %w", path, err)
	}
	if base.OS == cfg.OS {
		cfg.OSVersion = base.OSVersion
		cfg.OSFeatures = slices.Clone(base.OSFeatures)
	}
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, base.RootFS.DiffIDs...)
	cfg.History = append(cfg.History, base.History...)
	b := &base.Config
	cfg.Config = ocispec.ImageConfig{
		User:         b.User,
		ExposedPorts: maps.Clone(b.ExposedPorts),
		Env:          slices.Clone(b.Env),
		Entrypoint:   slices.Clone(b.Entrypoint),
		Cmd:          slices.Clone(b.Cmd),
		Volumes:      maps.Clone(b.Volumes),
		WorkingDir:   b.WorkingDir,
		Labels:       maps.Clone(b.Labels),
		StopSignal:   b.StopSignal,
	}
	return nil
}

// CheckPlatform fails with ErrPlatformMismatch if other names another os
// or architecture than want, or another variant when both name one. The
// error text starts with other's platform, to follow "base image is".
func CheckPlatform(want, other *ocispec.Platform) error {
	osDiffers := other.OS != "" && other.OS != want.OS
	archDiffers := other.Architecture != "" && other.Architecture != want.Architecture
	variantDiffers := other.Variant != "" && want.Variant != "" && other.Variant != want.Variant
	if osDiffers || archDiffers || variantDiffers {
		// An os or architecture other leaves empty is shown as the image's.
		shown := *other
		if shown.OS == "" {
			shown.OS = want.OS
		}
		if shown.Architecture == "" {
			shown.Architecture = want.Architecture
		}
		return fmt.Errorf("%s, image is %s: %w",
			PlatformString(shown.OS, shown.Architecture, shown.Variant),
			PlatformString(want.OS, want.Architecture, want.Variant), ErrPlatformMismatch)
	}
	return nil
}

// ErrPlatformMismatch: a base config or config fragment names another
// platform than the image being built.
var ErrPlatformMismatch = errors.New("platform mismatch")

// fragmentKeys are the top-level keys an image config may have.
var fragmentKeys = []string{
	"created", "author", "architecture", "os", "os.version", "os.features",
	"variant", "config", "rootfs", "history",
}

// ReadFragment reads a partial image config. It must be a JSON object
// whose top-level keys are those of an image config, each of the right
// type; unknown keys inside "config" are ignored, as in a base config.
func ReadFragment(path string) (*ocispec.Image, error) {
	data, err := jsondoc.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config fragment: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("config fragment %s: %w", path, err)
	}
	if top == nil {
		return nil, fmt.Errorf("config fragment %s: want a JSON object, got null", path)
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !slices.Contains(fragmentKeys, k) {
			return nil, fmt.Errorf("config fragment %s: unknown key %q; an image config has %s",
				path, k, strings.Join(fragmentKeys, ", "))
		}
	}
	// rootfs and history describe the layers, which the manifest writes
	// itself: a fragment that set them could only contradict the layers.
	if _, ok := top["rootfs"]; ok {
		return nil, fmt.Errorf("config fragment %s: field rootfs: not allowed; the manifest writes rootfs.diff_ids "+
			"from the base image and the layers, so a fragment's rootfs would be overwritten or contradict them: remove it", path)
	}
	var frag ocispec.Image
	if err := jsondoc.Decode(data, &frag, false); err != nil {
		return nil, fmt.Errorf("config fragment %s: %w", path, err)
	}
	for i, h := range frag.History {
		if !h.EmptyLayer {
			return nil, fmt.Errorf("config fragment %s: field history[%d]: empty_layer is not true; the manifest writes "+
				"one history entry per layer, so a fragment's entry for a layer would make the history disagree with "+
				"rootfs.diff_ids: a fragment may only add entries with \"empty_layer\": true", path, i)
		}
	}
	for _, e := range frag.Config.Env {
		if !strings.Contains(e, "=") || strings.HasPrefix(e, "=") {
			return nil, fmt.Errorf("config fragment %s: env entry %q: want KEY=VALUE", path, e)
		}
	}
	if err := ValidateUser(frag.Config.User); err != nil {
		return nil, fmt.Errorf("config fragment %s: field config.User: %w", path, err)
	}
	return &frag, nil
}

// MaxID bounds a numeric uid or gid: ids are non-negative and below 2^31,
// the range every container runtime and tar reader agrees on.
const MaxID = 1<<31 - 1

// ValidateUser checks the numeric parts of a config User, "USER" or
// "USER:GROUP" where each is a name or a number: a part that looks like
// a number (digits, optionally with a sign) must be from 0 to MaxID.
// Names are left to the runtime.
func ValidateUser(user string) error {
	if user == "" {
		return nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	parts := []struct{ what, v string }{{"uid", u}}
	if hasGroup {
		parts = append(parts, struct{ what, v string }{"gid", g})
	}
	for _, p := range parts {
		if p.v == "" {
			return fmt.Errorf("%q: empty %s", user, p.what)
		}
		if strings.ContainsAny(p.v, "\x00\n") {
			return fmt.Errorf("%q: %s holds a NUL or newline", user, p.what)
		}
		digits := strings.TrimLeft(p.v, "+-")
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			continue // a name
		}
		n, err := strconv.ParseInt(p.v, 10, 64)
		if err != nil || n < 0 || n > MaxID {
			return fmt.Errorf("%q: %s %s is out of range, want 0 to %d", user, p.what, p.v, MaxID)
		}
	}
	return nil
}

// MergeFragment merges a config fragment over cfg (see BuildManifest).
func MergeFragment(cfg *ocispec.Image, frag *ocispec.Image) error {
	if err := CheckPlatform(&cfg.Platform, &frag.Platform); err != nil {
		return fmt.Errorf("fragment is for %w", err)
	}
	if frag.OSVersion != "" {
		cfg.OSVersion = frag.OSVersion
	}
	if frag.OSFeatures != nil {
		cfg.OSFeatures = slices.Clone(frag.OSFeatures)
	}
	if frag.Author != "" {
		cfg.Author = frag.Author
	}
	cfg.History = append(cfg.History, frag.History...)

	c, f := &cfg.Config, &frag.Config
	if f.User != "" {
		c.User = f.User
	}
	if f.Env != nil {
		c.Env = MergeEnv(c.Env, f.Env)
	}
	if f.Entrypoint != nil {
		c.Entrypoint = slices.Clone(f.Entrypoint)
	}
	if f.Cmd != nil {
		c.Cmd = slices.Clone(f.Cmd)
	}
	if f.ExposedPorts != nil {
		c.ExposedPorts = maps.Clone(f.ExposedPorts)
	}
	if f.Volumes != nil {
		c.Volumes = maps.Clone(f.Volumes)
	}
	if f.WorkingDir != "" {
		c.WorkingDir = f.WorkingDir
	}
	if f.Labels != nil {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, f.Labels)
	}
	if f.StopSignal != "" {
		c.StopSignal = f.StopSignal
	}
	return nil
}

// MergeEnv applies KEY=VALUE entries, in order, to env: an entry whose
// key is already set replaces it in place (every occurrence), any other
// is appended. The result is a new slice.
func MergeEnv(env, entries []string) []string {
	out := slices.Clone(env)
	for _, e := range entries {
		key := envKey(e)
		found := false
		for i, old := range out {
			if envKey(old) == key {
				out[i] = e
				found = true
			}
		}
		if !found {
			out = append(out, e)
		}
	}
	return out
}

func envKey(e string) string {
	k, _, _ := strings.Cut(e, "=")
	return k
}

// Templates are the template-expanded values of env, labels and
// annotations; a map that is present replaces the plain one.
type Templates struct {
	Env         map[string]string `json:"env"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// ReadTemplates reads a Templates file; unknown fields are errors.
func ReadTemplates(path string) (*Templates, error) {
	var t Templates
	if err := jsondoc.Read(path, &t, true); err != nil {
		return nil, fmt.Errorf("config templates %s: %w", path, err)
	}
	for k := range t.Env {
		if k == "" || strings.Contains(k, "=") {
			return nil, fmt.Errorf("config templates %s: env key %q is empty or contains '='", path, k)
		}
	}
	return &t, nil
}
