package structuretest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/structuretest/layerfs"
)

// MaxImageConfigBytes bounds an image config JSON.
const MaxImageConfigBytes = 8 << 20

// ImageConfig is the part of an OCI image config that metadataTest reads.
type ImageConfig struct {
	Config struct {
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		WorkingDir   string              `json:"WorkingDir"`
		User         string              `json:"User"`
		Labels       map[string]string   `json:"Labels"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Volumes      map[string]struct{} `json:"Volumes"`
	} `json:"config"`
}

// ParseImageConfig reads an image config JSON; name names it in errors.
func ParseImageConfig(name string, r io.Reader) (*ImageConfig, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImageConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("image config %s: %w", name, err)
	}
	if len(data) > MaxImageConfigBytes {
		return nil, fmt.Errorf("image config %s: larger than %d bytes", name, MaxImageConfigBytes)
	}
	var c ImageConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("image config %s: %w", name, err)
	}
	return &c, nil
}

func (c *ImageConfig) env() map[string]string {
	m := map[string]string{}
	for _, kv := range c.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// Image is one single-platform image to check.
type Image struct {
	// Name names the image in the output, e.g. "//app:image linux/amd64".
	Name   string
	Config *ImageConfig
	FS     *layerfs.FS
}

// Result is the outcome of one test of a config on an image.
type Result struct {
	Config  string // the config file
	Section string // metadataTest, fileExistenceTests, ...
	Test    string // the test's name
	Pass    bool
	// Unsupported marks a test that cannot run without file bytes or a
	// container; it never passes.
	Unsupported bool
	// Problems say what failed, each naming the file or field.
	Problems []string
	// Note qualifies a pass (what was not checked).
	Note string
}

func (r *Result) failf(format string, args ...any) {
	r.Pass = false
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Check runs every test of config c (read from the file configName) on img.
func Check(img *Image, configName string, c *Config) []Result {
	var out []Result
	newResult := func(section, test string) Result {
		return Result{Config: configName, Section: section, Test: test, Pass: true}
	}
	for _, t := range c.CommandTests {
		r := newResult("commandTests", t.Name)
		r.Unsupported = true
		r.failf("unsupported: commandTests run a container, and image_structure_test checks an image without running it")
		out = append(out, r)
	}
	env := img.Config.env()
	for _, t := range c.FileExistenceTests {
		r := newResult("fileExistenceTests", t.Name)
		checkFileExistence(&r, img.FS, t, env)
		out = append(out, r)
	}
	for _, t := range c.FileContentTests {
		r := newResult("fileContentTests", t.Name)
		r.Unsupported = true
		r.failf("path %s: unsupported: fileContentTests read file contents, and image_structure_test never reads layer blobs", t.Path)
		out = append(out, r)
	}
	for i, t := range c.LicenseTests {
		r := newResult("licenseTests", fmt.Sprintf("licenseTests[%d]", i))
		checkLicense(&r, img.FS, t)
		out = append(out, r)
	}
	if c.MetadataTest != nil {
		r := newResult("metadataTest", "metadataTest")
		checkMetadata(&r, img.Config, c.MetadataTest)
		out = append(out, r)
	}
	return out
}

// substitute replaces $VAR and ${VAR} in p with the image's env, as
// container-structure-test does for paths; unknown variables stay.
func substitute(p string, env map[string]string) string {
	if !strings.Contains(p, "$") {
		return p
	}
	return os.Expand(p, func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return "${" + k + "}"
	})
}

func checkFileExistence(r *Result, fs *layerfs.FS, t FileExistenceTest, env map[string]string) {
	p := substitute(t.Path, env)
	shouldExist := t.ShouldExist == nil || *t.ShouldExist
	e, ok, err := fs.Lstat(p)
	if err != nil {
		r.failf("path %s: %v", p, err)
		return
	}
	switch {
	case shouldExist && !ok:
		r.failf("path %s: should exist, but does not", p)
		return
	case !shouldExist && ok:
		r.failf("path %s: should not exist, but does (%s)", p, layerfs.FileMode(e))
		return
	case !ok:
		return
	}
	mode := layerfs.FileMode(e)
	if t.Permissions != "" && mode.String() != t.Permissions {
		r.failf("path %s: permissions: got %s, want %s", p, mode, t.Permissions)
	}
	if t.UID != nil && *t.UID != -1 && e.UID != *t.UID {
		r.failf("path %s: uid: got %d, want %d", p, e.UID, *t.UID)
	}
	if t.GID != nil && *t.GID != -1 && e.GID != *t.GID {
		r.failf("path %s: gid: got %d, want %d", p, e.GID, *t.GID)
	}
	if t.IsExecutableBy != "" {
		bit := map[string]uint32{"any": 0o111, "owner": 0o100, "group": 0o010, "other": 0o001}[t.IsExecutableBy]
		if e.Mode&bit == 0 {
			r.failf("path %s: isExecutableBy %s: not executable (%s)", p, t.IsExecutableBy, mode)
		}
	}
}

// debianDocs is where Debian packages keep their copyright files.
const debianDocs = "usr/share/doc"

func checkLicense(r *Result, fs *layerfs.FS, t LicenseTest) {
	if len(t.Files) > 0 {
		r.Unsupported = true
		r.failf("files %s: unsupported: licenseTests files are scanned for license texts, and image_structure_test never reads layer blobs", strings.Join(t.Files, ", "))
	}
	if !t.Debian {
		return
	}
	var unknown *layerfs.UnknownError
	e, ok, err := fs.Lstat(debianDocs)
	if err == nil && (!ok || e.Type != "dir") {
		r.failf("debian: /%s is not a directory", debianDocs)
		return
	}
	var pkgs []string
	if err == nil {
		pkgs, err = fs.ReadDir(debianDocs)
	}
	if err != nil {
		r.failf("debian: /%s: %v", debianDocs, err)
		return
	}
	for _, pkg := range pkgs {
		if pkg == "libgnutls30" { // container-structure-test's allowlist
			continue
		}
		dir := path.Join(debianDocs, pkg)
		if e, ok, err := fs.Lstat(dir); err != nil || !ok || e.Type != "dir" {
			if errors.As(err, &unknown) {
				r.failf("debian: /%s: %v", dir, err)
			}
			continue
		}
		if _, ok, err := fs.Lstat(path.Join(dir, "copyright")); err != nil {
			r.failf("debian: /%s/copyright: %v", dir, err)
		} else if !ok {
			r.failf("debian: package %s has no /%s/copyright", pkg, dir)
		}
	}
	if r.Pass {
		r.Note = fmt.Sprintf("%d copyright files exist; their texts were not scanned (that needs file bytes)", len(pkgs))
	}
}

func matches(kv KeyValue, got string) bool {
	if !kv.IsRegex {
		return got == kv.Value
	}
	ok, err := regexp.MatchString(kv.Value, got)
	return err == nil && ok
}

func checkMetadata(r *Result, ic *ImageConfig, m *MetadataTest) {
	c := ic.Config
	env := ic.env()
	for _, kv := range append(append([]KeyValue{}, m.Env...), m.EnvVars...) {
		if kv.IsRegex {
			if _, err := regexp.Compile(kv.Value); err != nil {
				r.failf("envVars %s: bad regex %q: %v", kv.Key, kv.Value, err)
				continue
			}
		}
		got, ok := env[kv.Key]
		switch {
		case !ok:
			r.failf("envVars %s: not set in the image", kv.Key)
		case !matches(kv, got):
			r.failf("envVars %s: got %q, want %q", kv.Key, got, kv.Value)
		}
	}
	for _, kv := range m.UnboundEnv {
		if got, ok := env[kv.Key]; ok {
			r.failf("unboundEnv %s: set to %q, want unset", kv.Key, got)
		}
	}
	for _, kv := range m.Labels {
		if kv.IsRegex {
			if _, err := regexp.Compile(kv.Value); err != nil {
				r.failf("labels %s: bad regex %q: %v", kv.Key, kv.Value, err)
				continue
			}
		}
		got, ok := c.Labels[kv.Key]
		switch {
		case !ok:
			r.failf("labels %s: not set in the image", kv.Key)
		case !matches(kv, got):
			r.failf("labels %s: got %q, want %q", kv.Key, got, kv.Value)
		}
	}
	list := func(field string, want *[]string, got []string) {
		if want != nil && !equal(*want, got) {
			r.failf("%s: got %s, want %s", field, quoteList(got), quoteList(*want))
		}
	}
	list("entrypoint", m.Entrypoint, c.Entrypoint)
	list("cmd", m.Cmd, c.Cmd)
	if m.Workdir != "" && m.Workdir != c.WorkingDir {
		r.failf("workdir: got %q, want %q", c.WorkingDir, m.Workdir)
	}
	if m.User != "" && m.User != c.User {
		r.failf("user: got %q, want %q", c.User, m.User)
	}
	for _, p := range m.ExposedPorts {
		if !exposed(c.ExposedPorts, p) {
			r.failf("exposedPorts %s: not exposed (exposed: %s)", p, keys(c.ExposedPorts))
		}
	}
	for _, p := range m.UnexposedPorts {
		if exposed(c.ExposedPorts, p) {
			r.failf("unexposedPorts %s: exposed", p)
		}
	}
	for _, v := range m.Volumes {
		if _, ok := c.Volumes[v]; !ok {
			r.failf("volumes %s: not a volume (volumes: %s)", v, keys(c.Volumes))
		}
	}
	for _, v := range m.UnmountedVolumes {
		if _, ok := c.Volumes[v]; ok {
			r.failf("unmountedVolumes %s: is a volume", v)
		}
	}
}

// exposed: "8080/tcp" matches that key; "8080" matches its port on any
// protocol, as container-structure-test lists ports without protocol.
func exposed(ports map[string]struct{}, p string) bool {
	if _, ok := ports[p]; ok {
		return true
	}
	if strings.Contains(p, "/") {
		return false
	}
	for k := range ports {
		if port, _, _ := strings.Cut(k, "/"); port == p {
			return true
		}
	}
	return false
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func quoteList(l []string) string {
	b, _ := json.Marshal(l)
	if l == nil {
		return "[]"
	}
	return string(b)
}

func keys(m map[string]struct{}) string {
	l := make([]string, 0, len(m))
	for k := range m {
		l = append(l, k)
	}
	if len(l) == 0 {
		return "none"
	}
	sortStrings(l)
	return strings.Join(l, ", ")
}
