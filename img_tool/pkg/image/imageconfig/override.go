package imageconfig

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
)

// InheritFromBase is the value that stands for "what the image had so
// far" in ConfigOverrides: a string field equal to it keeps the earlier
// value, and a list item equal to it is replaced by the earlier list. The
// trailing NUL keeps it apart from every real config value.
const InheritFromBase = "<inherit from base>\x00"

// LayerConfig is what one layer says about the image config (the
// ImageLayerConfigInfo of a layer target). A nil field says nothing.
type LayerConfig struct {
	// Entrypoint replaces the entrypoint; setting it also sets Cmd (to
	// Cmd, or to empty when Cmd is nil), as a Dockerfile ENTRYPOINT does.
	Entrypoint []string `json:"entrypoint"`
	// Cmd replaces the cmd.
	Cmd []string `json:"cmd"`
	// Env is added over the earlier environment (keys in sorted order).
	Env map[string]string `json:"env"`
	// WorkingDir replaces the working directory.
	WorkingDir *string `json:"working_dir"`
}

// ConfigOverrides are the config values of image_manifest, as the rule
// writes them to a JSON file (image.WithConfigOverrides). They are applied
// in this order: Layers, one after the other, over the base config; then the
// config fragment; then the image's own fields.
//
// A nil string field or a string equal to InheritFromBase keeps the value
// so far; any other string replaces it, and "" unsets the field. A nil
// list keeps the value so far; any other list replaces it, with each
// InheritFromBase item replaced by the list so far (so [] unsets the
// field, [InheritFromBase] keeps it and [InheritFromBase, "-v"] appends).
type ConfigOverrides struct {
	Layers     []LayerConfig `json:"layers"`
	User       *string       `json:"user"`
	WorkingDir *string       `json:"working_dir"`
	StopSignal *string       `json:"stop_signal"`
	Entrypoint []string      `json:"entrypoint"`
	Cmd        []string      `json:"cmd"`
}

// ReadOverrides reads and validates a ConfigOverrides file; unknown
// fields are errors.
func ReadOverrides(path string) (*ConfigOverrides, error) {
	var o ConfigOverrides
	if err := jsondoc.Read(path, &o, true); err != nil {
		return nil, fmt.Errorf("config overrides %s: %w", path, err)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("config overrides %s: %w", path, err)
	}
	return &o, nil
}

func (o *ConfigOverrides) validate() error {
	for i, l := range o.Layers {
		if err := checkNoNUL(l.Entrypoint, l.Cmd, l.WorkingDir); err != nil {
			return fmt.Errorf("layers[%d]: %w", i, err)
		}
		for k, v := range l.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
				return fmt.Errorf("layers[%d]: env %q=%q: want a key without '=' and no NUL", i, k, v)
			}
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"user", o.User}, {"working_dir", o.WorkingDir}, {"stop_signal", o.StopSignal}} {
		if f.v != nil && *f.v != InheritFromBase && strings.Contains(*f.v, "\x00") {
			return fmt.Errorf("%s %q: holds a NUL", f.name, *f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"entrypoint", o.Entrypoint}, {"cmd", o.Cmd}} {
		for i, a := range f.v {
			if a != InheritFromBase && strings.Contains(a, "\x00") {
				return fmt.Errorf("%s[%d] %q: holds a NUL", f.name, i, a)
			}
		}
	}
	if o.User != nil && *o.User != InheritFromBase {
		if err := ValidateUser(*o.User); err != nil {
			return fmt.Errorf("user: %w", err)
		}
	}
	return nil
}

// checkNoNUL fails if a layer's value holds a NUL: layers give plain
// values, never InheritFromBase.
func checkNoNUL(entrypoint, cmd []string, workingDir *string) error {
	for _, a := range slices.Concat(entrypoint, cmd) {
		if strings.Contains(a, "\x00") {
			return fmt.Errorf("argument %q holds a NUL", a)
		}
	}
	if workingDir != nil && strings.Contains(*workingDir, "\x00") {
		return fmt.Errorf("working_dir %q holds a NUL", *workingDir)
	}
	return nil
}

// ApplyLayerConfig applies one layer's config over c.
func ApplyLayerConfig(c *ocispec.ImageConfig, l *LayerConfig) {
	switch {
	case l.Entrypoint != nil:
		c.Entrypoint = slices.Clone(l.Entrypoint)
		c.Cmd = slices.Clone(l.Cmd)
	case l.Cmd != nil:
		c.Cmd = slices.Clone(l.Cmd)
	}
	if l.Env != nil {
		c.Env = MergeEnv(c.Env, SortedPairs(l.Env))
	}
	if l.WorkingDir != nil {
		c.WorkingDir = *l.WorkingDir
	}
}

// ApplyImageOverrides applies the image's own fields of o over c.
func ApplyImageOverrides(c *ocispec.ImageConfig, o *ConfigOverrides) {
	c.User = overrideString(c.User, o.User)
	c.WorkingDir = overrideString(c.WorkingDir, o.WorkingDir)
	c.StopSignal = overrideString(c.StopSignal, o.StopSignal)
	c.Entrypoint = overrideList(c.Entrypoint, o.Entrypoint)
	c.Cmd = overrideList(c.Cmd, o.Cmd)
}

func overrideString(cur string, v *string) string {
	if v == nil || *v == InheritFromBase {
		return cur
	}
	return *v
}

func overrideList(cur, v []string) []string {
	if v == nil {
		return cur
	}
	out := []string{}
	for _, a := range v {
		if a == InheritFromBase {
			out = append(out, cur...)
		} else {
			out = append(out, a)
		}
	}
	return out
}

// SortedPairs turns a map into KEY=VALUE entries in key order.
func SortedPairs(m map[string]string) []string {
	keys := slices.Sorted(maps.Keys(m))
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + m[k]
	}
	return pairs
}

// maxUnixSeconds is 9999-12-31T23:59:59Z, the last second RFC 3339 can
// write.
const maxUnixSeconds = 253402300799

// ErrInvalidTimestamp marks a creation time that is neither RFC 3339 nor
// Unix seconds.
var ErrInvalidTimestamp = errors.New("invalid timestamp")

// ParseCreated parses an image creation time: an RFC 3339 date-time
// (e.g. "2024-05-06T07:08:09Z" or with an offset and fractional seconds,
// kept as written), or a number of seconds since the Unix epoch (digits
// only, at most 9999-12-31T23:59:59Z), which becomes a UTC time.
func ParseCreated(s string) (time.Time, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxUnixSeconds {
			return time.Time{}, fmt.Errorf("%q: Unix seconds above %d (year 9999): %w", s, int64(maxUnixSeconds), ErrInvalidTimestamp)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 date-time (2006-01-02T15:04:05Z) or Unix seconds: %w", s, ErrInvalidTimestamp)
	}
	return t, nil
}
