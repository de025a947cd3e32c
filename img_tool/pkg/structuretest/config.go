// Package structuretest checks an image against container-structure-test
// configs (schemaVersion 2.0.0) without its layer blobs: metadataTest
// against the image config JSON, fileExistenceTests and licenseTests (the
// existence of Debian copyright files) against the file listings of the
// layers (pkg/mtree), merged in order with whiteouts applied (package
// layerfs). Tests that
// need file bytes or a running container (fileContentTests, commandTests,
// license text scans) are reported as unsupported and fail.
package structuretest

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// ErrInvalidConfig is wrapped by the errors about a config that cannot be
// read or is not a valid container-structure-test config.
var ErrInvalidConfig = errors.New("invalid structure test config")

// MaxConfigBytes bounds one config file.
const MaxConfigBytes = 4 << 20

// SchemaVersion is the only container-structure-test schema accepted.
const SchemaVersion = "2.0.0"

// Config is one container-structure-test config file.
type Config struct {
	SchemaVersion       string              `yaml:"schemaVersion"`
	GlobalEnvVars       []KeyValue          `yaml:"globalEnvVars"`
	ContainerRunOptions yaml.Node           `yaml:"containerRunOptions"`
	CommandTests        []NamedTest         `yaml:"commandTests"`
	FileExistenceTests  []FileExistenceTest `yaml:"fileExistenceTests"`
	FileContentTests    []NamedTest         `yaml:"fileContentTests"`
	MetadataTest        *MetadataTest       `yaml:"metadataTest"`
	LicenseTests        []LicenseTest       `yaml:"licenseTests"`
}

// KeyValue is an env var or label of metadataTest.
type KeyValue struct {
	Key     string `yaml:"key"`
	Value   string `yaml:"value"`
	IsRegex bool   `yaml:"isRegex"`
}

// NamedTest is a commandTests or fileContentTests entry: only its name is
// read, since such tests cannot run here; the rest is kept unparsed.
type NamedTest struct {
	Name string
	Path string
}

// UnmarshalYAML reads name and path and ignores the other fields.
func (t *NamedTest) UnmarshalYAML(n *yaml.Node) error {
	var m map[string]yaml.Node
	if err := n.Decode(&m); err != nil {
		return err
	}
	if v, ok := m["name"]; ok {
		if err := v.Decode(&t.Name); err != nil {
			return err
		}
	}
	if v, ok := m["path"]; ok {
		_ = v.Decode(&t.Path)
	}
	return nil
}

// FileExistenceTest is a fileExistenceTests entry. ShouldExist defaults
// to true; UID and GID are checked when set and not -1.
type FileExistenceTest struct {
	Name           string `yaml:"name"`
	Path           string `yaml:"path"`
	ShouldExist    *bool  `yaml:"shouldExist"`
	Permissions    string `yaml:"permissions"`
	UID            *int64 `yaml:"uid"`
	GID            *int64 `yaml:"gid"`
	IsExecutableBy string `yaml:"isExecutableBy"`
}

// MetadataTest is the metadataTest section. Entrypoint and Cmd are
// checked when given (an empty list requires an empty value).
type MetadataTest struct {
	Env              []KeyValue `yaml:"env"`
	EnvVars          []KeyValue `yaml:"envVars"`
	UnboundEnv       []KeyValue `yaml:"unboundEnv"`
	Labels           []KeyValue `yaml:"labels"`
	ExposedPorts     []string   `yaml:"exposedPorts"`
	UnexposedPorts   []string   `yaml:"unexposedPorts"`
	Entrypoint       *[]string  `yaml:"entrypoint"`
	Cmd              *[]string  `yaml:"cmd"`
	Workdir          string     `yaml:"workdir"`
	Volumes          []string   `yaml:"volumes"`
	UnmountedVolumes []string   `yaml:"unmountedVolumes"`
	User             string     `yaml:"user"`
}

// LicenseTest is a licenseTests entry.
type LicenseTest struct {
	Debian bool     `yaml:"debian"`
	Files  []string `yaml:"files"`
}

// ParseConfig reads one config (YAML, or JSON, which YAML includes).
// Unknown fields are errors, so that a misspelled or newer check fails
// instead of passing unchecked; name names the file in errors.
func ParseConfig(name string, r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if len(data) > MaxConfigBytes {
		return nil, fmt.Errorf("config %s: larger than %d bytes: %w", name, MaxConfigBytes, ErrInvalidConfig)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config %s: empty: %w", name, ErrInvalidConfig)
		}
		return nil, fmt.Errorf("config %s: %v: %w", name, err, ErrInvalidConfig)
	}
	if c.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("config %s: schemaVersion %q: want %q: %w", name, c.SchemaVersion, SchemaVersion, ErrInvalidConfig)
	}
	for i, t := range c.FileExistenceTests {
		if t.Name == "" {
			return nil, fmt.Errorf("config %s: fileExistenceTests[%d] has no name: %w", name, i, ErrInvalidConfig)
		}
		if t.Path == "" {
			return nil, fmt.Errorf("config %s: fileExistenceTests %q has no path: %w", name, t.Name, ErrInvalidConfig)
		}
		switch t.IsExecutableBy {
		case "", "any", "owner", "group", "other":
		default:
			return nil, fmt.Errorf("config %s: fileExistenceTests %q: isExecutableBy %q: want any, owner, group or other: %w", name, t.Name, t.IsExecutableBy, ErrInvalidConfig)
		}
	}
	if m := c.MetadataTest; m != nil {
		for _, kv := range append(append(append(append([]KeyValue{}, m.Env...), m.EnvVars...), m.UnboundEnv...), m.Labels...) {
			if kv.Key == "" {
				return nil, fmt.Errorf("config %s: metadataTest: an env var or label without key: %w", name, ErrInvalidConfig)
			}
		}
	}
	return &c, nil
}
