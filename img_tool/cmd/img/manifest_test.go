package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	specv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Helpers of this file start with mf, to stay clear of other test files of
// package main.

func mfDigest(data []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(data)) }

func mfWrite(t *testing.T, path string, v any) string {
	t.Helper()
	var data []byte
	switch v := v.(type) {
	case string:
		data = []byte(v)
	case []byte:
		data = v
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mfImg runs img through the command table and returns stderr on failure.
func mfImg(args ...string) (code int, stderr string) {
	var so, se bytes.Buffer
	code = run(context.Background(), args, &so, &se)
	return code, se.String()
}

// mfLayers are the new layers of the tests; metadata files are written
// by newMfFixture.
var mfLayers = []metadata.Layer{
	{Name: "//app:base_layer", MediaType: metadata.MediaTypeTarGzip, Size: 1234, Annotations: map[string]string{}},
	{Name: "//app:zstd_layer", MediaType: metadata.MediaTypeTarZstd, Size: 99, Annotations: map[string]string{"org.example.layer": "zstd"}},
	{Name: "//app:estargz", MediaType: metadata.MediaTypeTarGzip, Size: 7, Annotations: map[string]string{
		metadata.AnnotationTOCDigest:        mfDigest([]byte("toc")),
		metadata.AnnotationUncompressedSize: "2048",
	}},
}

func init() {
	for i := range mfLayers {
		mfLayers[i].Digest = mfDigest([]byte(mfLayers[i].Name + " blob"))
		mfLayers[i].DiffID = mfDigest([]byte(mfLayers[i].Name + " tar"))
	}
}

// mfFixture holds the input files of the manifest tests.
type mfFixture struct {
	dir    string
	layers []string // metadata files of mfLayers

	ociManifest, ociConfig       string // linux/amd64 OCI base
	dockerManifest, dockerConfig string // linux/amd64 Docker v2 base
	armManifest, armConfig       string // linux/arm64 base

	ociBaseLayers, dockerBaseLayers []specv1.Descriptor
	ociBase, dockerBase             specv1.Image
}

func (f *mfFixture) path(name string) string { return filepath.Join(f.dir, name) }

func mfEpoch() *time.Time { t := time.Unix(0, 0).UTC(); return &t }

func newMfFixture(t *testing.T) *mfFixture {
	t.Helper()
	f := &mfFixture{dir: t.TempDir()}
	for i, l := range mfLayers {
		p := f.path(fmt.Sprintf("layer%d.json", i))
		if err := metadata.Write(p, &l); err != nil {
			t.Fatal(err)
		}
		f.layers = append(f.layers, p)
	}

	created := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	f.ociBase = specv1.Image{
		Created:  &created,
		Author:   "base author",
		Platform: specv1.Platform{OS: "linux", Architecture: "amd64"},
		Config: specv1.ImageConfig{
			User:         "nobody",
			ExposedPorts: map[string]struct{}{"80/tcp": {}},
			Env:          []string{"PATH=/usr/bin", "HOME=/root", "LANG=C"},
			Entrypoint:   []string{"/bin/sh"},
			Cmd:          []string{"-c", "true"},
			Volumes:      map[string]struct{}{"/data": {}},
			WorkingDir:   "/",
			Labels:       map[string]string{"base": "yes", "over": "base"},
			StopSignal:   "SIGTERM",
		},
		RootFS: specv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{
			digest.FromString("base tar 1"), digest.FromString("base tar 2"),
		}},
		History: []specv1.History{
			{Created: &created, CreatedBy: "ADD rootfs"},
			{Created: &created, CreatedBy: "ENV LANG=C", EmptyLayer: true},
			{Created: &created, CreatedBy: "RUN apt-get"},
		},
	}
	f.ociBaseLayers = []specv1.Descriptor{
		{MediaType: specv1.MediaTypeImageLayerGzip, Digest: digest.FromString("base blob 1"), Size: 1000},
		{
			MediaType:   specv1.MediaTypeImageLayerGzip,
			Digest:      digest.FromString("base blob 2"),
			Size:        2000,
			URLs:        []string{"https://example.com/blob2"},
			Annotations: map[string]string{"org.example.base": "2"},
		},
	}
	f.ociManifest, f.ociConfig = f.writeBase(t, "oci", specv1.MediaTypeImageManifest, specv1.MediaTypeImageConfig, f.ociBaseLayers, f.ociBase, nil)

	// The Docker base has fields the OCI config lacks; they are dropped.
	f.dockerBase = specv1.Image{
		Platform: specv1.Platform{OS: "linux", Architecture: "amd64"},
		Config: specv1.ImageConfig{
			Env: []string{"PATH=/bin"},
			Cmd: []string{"bash"},
		},
		RootFS:  specv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("docker tar")}},
		History: []specv1.History{{Created: &created, CreatedBy: "/bin/sh -c #(nop) ADD file"}},
	}
	f.dockerBaseLayers = []specv1.Descriptor{
		{MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Digest: digest.FromString("docker blob"), Size: 3000},
	}
	f.dockerManifest, f.dockerConfig = f.writeBase(t, "docker", "application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.container.image.v1+json", f.dockerBaseLayers, f.dockerBase,
		map[string]any{"docker_version": "20.10.7", "container_config": map[string]any{"Hostname": "x"}})

	arm := f.ociBase
	arm.Architecture = "arm64"
	f.armManifest, f.armConfig = f.writeBase(t, "arm", specv1.MediaTypeImageManifest, specv1.MediaTypeImageConfig, f.ociBaseLayers, arm, nil)
	return f
}

// writeBase writes a base config (plus extra top-level fields) and a
// manifest that refers to it.
func (f *mfFixture) writeBase(t *testing.T, name, manifestType, configType string, layers []specv1.Descriptor, cfg specv1.Image, extra map[string]any) (string, string) {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if extra != nil {
		var m map[string]any
		json.Unmarshal(data, &m)
		for k, v := range extra {
			m[k] = v
		}
		data, _ = json.MarshalIndent(m, "", "  ")
	}
	cfgPath := mfWrite(t, f.path(name+"-config.json"), data)
	manifest := map[string]any{
		"schemaVersion": 2,
		"mediaType":     manifestType,
		"config":        map[string]any{"mediaType": configType, "digest": mfDigest(data), "size": len(data)},
		"layers":        layers,
		"annotations":   map[string]string{"org.opencontainers.image.base.name": "not inherited"},
	}
	return mfWrite(t, f.path(name+"-manifest.json"), manifest), cfgPath
}

// mfResult is the parsed output of one `img manifest` run.
type mfResult struct {
	manifest   specv1.Manifest
	config     specv1.Image
	descriptor specv1.Descriptor
	raw        map[string][]byte // by output flag name
}

var mfOutputs = []string{"manifest", "config", "descriptor", "digest"}

// mfManifest runs `img manifest` with all four outputs in a new directory.
func mfManifest(t *testing.T, args ...string) (string, []string, error) {
	t.Helper()
	out := t.TempDir()
	var outArgs []string
	for _, o := range mfOutputs {
		outArgs = append(outArgs, "--"+o, filepath.Join(out, o))
	}
	code, stderr := mfImg(append(append([]string{"manifest"}, args...), outArgs...)...)
	if code != 0 {
		return out, outArgs, fmt.Errorf("exit %d: %s", code, stderr)
	}
	return out, outArgs, nil
}

// mfCheckManifest reads the outputs in dir, checks that digests, sizes and
// media types agree, and that go-containerregistry reads the same.
func mfCheckManifest(t *testing.T, dir string) *mfResult {
	t.Helper()
	return mfCheckManifestCreated(t, dir, time.Unix(0, 0).UTC())
}

// mfCheckManifestCreated is mfCheckManifest for a config created at
// created rather than the epoch.
func mfCheckManifestCreated(t *testing.T, dir string, created time.Time) *mfResult {
	t.Helper()
	r := &mfResult{raw: map[string][]byte{}}
	for _, o := range mfOutputs {
		data, err := os.ReadFile(filepath.Join(dir, o))
		if err != nil {
			t.Fatal(err)
		}
		r.raw[o] = data
	}
	for o, v := range map[string]any{"manifest": &r.manifest, "config": &r.config, "descriptor": &r.descriptor} {
		dec := json.NewDecoder(bytes.NewReader(r.raw[o]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: %v\n%s", o, err, r.raw[o])
		}
	}
	m, d := &r.manifest, &r.descriptor
	if m.SchemaVersion != 2 || m.MediaType != specv1.MediaTypeImageManifest {
		t.Errorf("manifest schemaVersion %d mediaType %q", m.SchemaVersion, m.MediaType)
	}
	if !bytes.Contains(r.raw["manifest"], []byte(`"layers":[`)) || !bytes.Contains(r.raw["config"], []byte(`"diff_ids":[`)) {
		t.Errorf("layers or diff_ids is not a JSON array:\n%s\n%s", r.raw["manifest"], r.raw["config"])
	}
	wantConfig := specv1.Descriptor{MediaType: specv1.MediaTypeImageConfig, Digest: digest.Digest(mfDigest(r.raw["config"])), Size: int64(len(r.raw["config"]))}
	if !reflect.DeepEqual(m.Config, wantConfig) {
		t.Errorf("manifest config = %+v, want %+v", m.Config, wantConfig)
	}
	c := &r.config
	wantDesc := specv1.Descriptor{
		MediaType: specv1.MediaTypeImageManifest,
		Digest:    digest.Digest(mfDigest(r.raw["manifest"])),
		Size:      int64(len(r.raw["manifest"])),
		Platform:  &specv1.Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant},
	}
	if !reflect.DeepEqual(*d, wantDesc) {
		t.Errorf("descriptor = %+v, want %+v", *d, wantDesc)
	}
	if got := string(r.raw["digest"]); got != string(wantDesc.Digest) {
		t.Errorf("digest file = %q, want %q", got, wantDesc.Digest)
	}
	wantCreated, _ := json.Marshal(map[string]time.Time{"created": created})
	if c.Created == nil || !c.Created.Equal(created) || !bytes.Contains(r.raw["config"], bytes.Trim(wantCreated, "{}")) {
		t.Errorf("config created = %v", c.Created)
	}
	if len(c.RootFS.DiffIDs) != len(m.Layers) {
		t.Errorf("%d diff_ids for %d layers", len(c.RootFS.DiffIDs), len(m.Layers))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != len(mfOutputs) {
		t.Errorf("output directory has %d entries, want %d (temporary files left?)", len(ents), len(mfOutputs))
	}

	// The independent reader.
	gm, err := ggcr.ParseManifest(bytes.NewReader(r.raw["manifest"]))
	if err != nil {
		t.Fatalf("ggcr ParseManifest: %v", err)
	}
	gh, gsize, err := ggcr.SHA256(bytes.NewReader(r.raw["config"]))
	if err != nil {
		t.Fatal(err)
	}
	if gm.Config.Digest != gh || gm.Config.Size != gsize || string(gm.Config.MediaType) != specv1.MediaTypeImageConfig {
		t.Errorf("ggcr: config descriptor %+v, config hashes to %s (%d bytes)", gm.Config, gh, gsize)
	}
	if gm.SchemaVersion != 2 || string(gm.MediaType) != specv1.MediaTypeImageManifest || len(gm.Layers) != len(m.Layers) {
		t.Errorf("ggcr manifest = %+v", gm)
	}
	for i, l := range gm.Layers {
		w := m.Layers[i]
		if l.Digest.String() != string(w.Digest) || l.Size != w.Size || string(l.MediaType) != w.MediaType ||
			!reflect.DeepEqual(l.Annotations, w.Annotations) || !reflect.DeepEqual(l.URLs, w.URLs) {
			t.Errorf("ggcr layer %d = %+v, want %+v", i, l, w)
		}
	}
	if !reflect.DeepEqual(gm.Annotations, m.Annotations) {
		t.Errorf("ggcr annotations = %v, want %v", gm.Annotations, m.Annotations)
	}
	mh, msize, _ := ggcr.SHA256(bytes.NewReader(r.raw["manifest"]))
	if mh.String() != string(d.Digest) || msize != d.Size {
		t.Errorf("ggcr: manifest hashes to %s (%d bytes), descriptor says %s (%d)", mh, msize, d.Digest, d.Size)
	}
	gc, err := ggcr.ParseConfigFile(bytes.NewReader(r.raw["config"]))
	if err != nil {
		t.Fatalf("ggcr ParseConfigFile: %v", err)
	}
	if gc.OS != c.OS || gc.Architecture != c.Architecture || gc.Variant != c.Variant || !gc.Created.Equal(created) ||
		gc.RootFS.Type != "layers" || len(gc.RootFS.DiffIDs) != len(c.RootFS.DiffIDs) || len(gc.History) != len(c.History) {
		t.Errorf("ggcr config = %+v", gc)
	}
	for i, h := range gc.RootFS.DiffIDs {
		if h.String() != string(c.RootFS.DiffIDs[i]) {
			t.Errorf("ggcr diff_id %d = %s, want %s", i, h, c.RootFS.DiffIDs[i])
		}
	}
	gcc, cc := gc.Config, c.Config
	if gcc.User != cc.User || !slices.Equal(gcc.Env, cc.Env) || !slices.Equal(gcc.Entrypoint, cc.Entrypoint) ||
		!slices.Equal(gcc.Cmd, cc.Cmd) || gcc.WorkingDir != cc.WorkingDir || !reflect.DeepEqual(gcc.Labels, cc.Labels) ||
		gcc.StopSignal != cc.StopSignal || len(gcc.ExposedPorts) != len(cc.ExposedPorts) || len(gcc.Volumes) != len(cc.Volumes) {
		t.Errorf("ggcr config.config = %+v, want %+v", gcc, cc)
	}
	return r
}

// mfNewLayer is the descriptor and history entry of mfLayers[i].
func mfNewLayer(i int) (specv1.Descriptor, digest.Digest, specv1.History) {
	l := mfLayers[i]
	d := specv1.Descriptor{MediaType: l.MediaType, Digest: digest.Digest(l.Digest), Size: l.Size}
	if len(l.Annotations) > 0 {
		d.Annotations = l.Annotations
	}
	return d, digest.Digest(l.DiffID), specv1.History{Created: mfEpoch(), CreatedBy: l.Name, Comment: "rules_img"}
}

// mfWant is the expected output, built from the base and new layers.
func mfWant(os, arch, variant string, base *specv1.Image, baseLayers []specv1.Descriptor, newLayers ...int) (specv1.Image, []specv1.Descriptor) {
	img := specv1.Image{
		Created:  mfEpoch(),
		Platform: specv1.Platform{OS: os, Architecture: arch, Variant: variant},
		RootFS:   specv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
	}
	layers := []specv1.Descriptor{}
	if base != nil {
		img.Config = base.Config
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, base.RootFS.DiffIDs...)
		img.History = slices.Clone(base.History)
		layers = append(layers, baseLayers...)
	}
	for _, i := range newLayers {
		d, diffID, h := mfNewLayer(i)
		layers = append(layers, d)
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, diffID)
		img.History = append(img.History, h)
	}
	return img, layers
}

func mfJSON(v any) string { b, _ := json.MarshalIndent(v, "", "  "); return string(b) }

func TestManifest(t *testing.T) {
	f := newMfFixture(t)
	for _, tc := range []struct {
		name  string
		args  []string
		files map[string]string // extra input files, by name
		// want returns the expected config, layers and manifest annotations.
		want func() (specv1.Image, []specv1.Descriptor, map[string]string)
	}{
		{
			name: "defaults, no layers",
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", nil, nil)
				return img, layers, nil
			},
		},
		{
			name: "all flags, no base",
			args: []string{
				"--os", "linux", "--architecture", "arm64", "--variant", "v8",
				"--layer-from-metadata", f.layers[0], "--layer-from-metadata", f.layers[1],
				"--user", "1000:1000",
				"--env", "ZED=z", "--env", "ALPHA=a=b", "--env", "MID=1", "--env", "MID=2",
				"--entrypoint", "/app/bin", "--entrypoint", "--flag",
				"--cmd", "serve", "--cmd", "--port=80",
				"--working-dir", "/app",
				"--label", "org.opencontainers.image.source=https://example.com", "--label", "empty=",
				"--annotation", "org.opencontainers.image.title=app", "--annotation", "b=2",
				"--stop-signal", "SIGINT",
			},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "arm64", "v8", nil, nil, 0, 1)
				img.Config = specv1.ImageConfig{
					User:       "1000:1000",
					Env:        []string{"ALPHA=a=b", "MID=2", "ZED=z"},
					Entrypoint: []string{"/app/bin", "--flag"},
					Cmd:        []string{"serve", "--port=80"},
					WorkingDir: "/app",
					Labels:     map[string]string{"org.opencontainers.image.source": "https://example.com", "empty": ""},
					StopSignal: "SIGINT",
				}
				return img, layers, map[string]string{"org.opencontainers.image.title": "app", "b": "2"}
			},
		},
		{
			name: "OCI base inherited",
			args: []string{"--base-manifest", f.ociManifest, "--base-config", f.ociConfig, "--layer-from-metadata", f.layers[2]},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", &f.ociBase, f.ociBaseLayers, 2)
				return img, layers, nil
			},
		},
		{
			name: "OCI base with flags",
			args: []string{
				"--base-manifest", f.ociManifest, "--base-config", f.ociConfig,
				"--layer-from-metadata", f.layers[0], "--layer-from-metadata", f.layers[2],
				"--env", "HOME=/home/me", "--env", "ZZ=1", "--env", "AA=0",
				"--cmd", "run", "--label", "over=flag", "--label", "new=1",
				"--user", "root", "--working-dir", "/srv", "--stop-signal", "SIGKILL",
			},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", &f.ociBase, f.ociBaseLayers, 0, 2)
				img.Config.Env = []string{"PATH=/usr/bin", "HOME=/home/me", "LANG=C", "AA=0", "ZZ=1"}
				img.Config.Cmd = []string{"run"}
				img.Config.Labels = map[string]string{"base": "yes", "over": "flag", "new": "1"}
				img.Config.User = "root"
				img.Config.WorkingDir = "/srv"
				img.Config.StopSignal = "SIGKILL"
				return img, layers, nil
			},
		},
		{
			name: "Docker v2 base",
			args: []string{"--base-manifest", f.dockerManifest, "--base-config", f.dockerConfig, "--layer-from-metadata", f.layers[1], "--entrypoint", "/e"},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", &f.dockerBase, f.dockerBaseLayers, 1)
				img.Config.Entrypoint = []string{"/e"}
				return img, layers, nil
			},
		},
		{
			name: "base variant kept from flags",
			args: []string{"--base-manifest", f.ociManifest, "--base-config", f.ociConfig, "--variant", "v3"},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "v3", &f.ociBase, f.ociBaseLayers)
				return img, layers, nil
			},
		},
		{
			name: "config fragment over base",
			args: []string{
				"--base-manifest", f.ociManifest, "--base-config", f.ociConfig,
				"--config-fragment", f.path("fragment.json"), "--layer-from-metadata", f.layers[0],
				"--env", "NEW=2", "--env", "B=b",
			},
			files: map[string]string{"fragment.json": `{
				"author": "fragment author",
				"architecture": "amd64",
				"config": {
					"Env": ["LANG=de_DE", "NEW=1", "A=a", "HOME=/x"],
					"Entrypoint": ["/frag"],
					"Cmd": [],
					"Labels": {"over": "frag", "f": "1"},
					"ExposedPorts": {"8080/tcp": {}},
					"WorkingDir": "/frag",
					"Unknown": "ignored"
				},
				"history": [{"created_by": "fragment", "empty_layer": true}]
			}`},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", &f.ociBase, f.ociBaseLayers, 0)
				img.Author = "fragment author"
				img.Config.Env = []string{"PATH=/usr/bin", "HOME=/x", "LANG=de_DE", "NEW=2", "A=a", "B=b"}
				img.Config.Entrypoint = []string{"/frag"}
				img.Config.Cmd = nil // cleared by the fragment's []
				img.Config.Labels = map[string]string{"base": "yes", "over": "frag", "f": "1"}
				img.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
				img.Config.WorkingDir = "/frag"
				// Base history, fragment history, then the new layers.
				img.History = slices.Insert(img.History, len(f.ociBase.History), specv1.History{CreatedBy: "fragment", EmptyLayer: true})
				return img, layers, nil
			},
		},
		{
			name:  "config fragment without base",
			args:  []string{"--config-fragment", f.path("fragment.json"), "--entrypoint", "/flag"},
			files: map[string]string{"fragment.json": `{"config": {"Env": ["A=1", "A=2"], "Entrypoint": ["/frag"], "Volumes": {"/v": {}}, "User": "u", "StopSignal": "SIGHUP"}}`},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", nil, nil)
				img.Config = specv1.ImageConfig{
					Env: []string{"A=2"}, Entrypoint: []string{"/flag"}, Volumes: map[string]struct{}{"/v": {}},
					User: "u", StopSignal: "SIGHUP",
				}
				return img, layers, nil
			},
		},
		{
			name: "config templates replace flags",
			args: []string{
				"--base-manifest", f.ociManifest, "--base-config", f.ociConfig,
				"--config-templates", f.path("templates.json"),
				"--env", "RAW=1", "--label", "raw=1", "--annotation", "raw=1",
			},
			files: map[string]string{"templates.json": `{
				"env": {"LANG": "en_US.{{.X}}", "VERSION": "1.2.3"},
				"labels": {"over": "expanded", "version": "1.2.3"},
				"annotations": {"org.opencontainers.image.version": "1.2.3"}
			}`},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", &f.ociBase, f.ociBaseLayers)
				img.Config.Env = []string{"PATH=/usr/bin", "HOME=/root", "LANG=en_US.{{.X}}", "VERSION=1.2.3"}
				img.Config.Labels = map[string]string{"base": "yes", "over": "expanded", "version": "1.2.3"}
				return img, layers, map[string]string{"org.opencontainers.image.version": "1.2.3"}
			},
		},
		{
			name:  "config templates replace only the maps present",
			args:  []string{"--config-templates", f.path("templates.json"), "--env", "RAW=1", "--label", "raw=1", "--annotation", "raw=1"},
			files: map[string]string{"templates.json": `{"labels": {"l": "expanded"}}`},
			want: func() (specv1.Image, []specv1.Descriptor, map[string]string) {
				img, layers := mfWant("linux", "amd64", "", nil, nil)
				img.Config.Env = []string{"RAW=1"}
				img.Config.Labels = map[string]string{"l": "expanded"}
				return img, layers, map[string]string{"raw": "1"}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, content := range tc.files {
				mfWrite(t, f.path(name), content)
			}
			out, _, err := mfManifest(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			r := mfCheckManifest(t, out)
			wantImg, wantLayers, wantAnn := tc.want()
			if got, want := mfJSON(r.config), mfJSON(wantImg); got != want {
				t.Errorf("config:\n%s\nwant:\n%s", got, want)
			}
			if got, want := mfJSON(r.manifest.Layers), mfJSON(wantLayers); got != want {
				t.Errorf("layers:\n%s\nwant:\n%s", got, want)
			}
			if !reflect.DeepEqual(r.manifest.Annotations, wantAnn) {
				t.Errorf("annotations = %v, want %v", r.manifest.Annotations, wantAnn)
			}
			if r.manifest.Annotations == nil && bytes.Contains(r.raw["manifest"], []byte(`"annotations":{}`)) {
				t.Errorf("empty annotations written: %s", r.raw["manifest"])
			}

			// Determinism: a second run gives the same bytes.
			out2, _, err := mfManifest(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range mfOutputs {
				again, err := os.ReadFile(filepath.Join(out2, o))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, r.raw[o]) {
					t.Errorf("%s differs between runs:\n%s\n%s", o, r.raw[o], again)
				}
			}
		})
	}
}

func TestManifestErrors(t *testing.T) {
	f := newMfFixture(t)
	goodLayer, _ := json.Marshal(mfLayers[0])
	badLayer := func(edit func(m map[string]any)) string {
		var m map[string]any
		json.Unmarshal(goodLayer, &m)
		edit(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	// A base whose config no longer matches the manifest's config digest.
	tampered, _ := os.ReadFile(f.ociConfig)
	mfWrite(t, f.path("tampered-config.json"), bytes.Replace(tampered, []byte("nobody"), []byte("nobodx"), 1))
	// A base whose config has fewer diff_ids than the manifest has layers.
	short := f.ociBase
	short.RootFS.DiffIDs = short.RootFS.DiffIDs[:1]
	shortManifest, shortConfig := f.writeBase(t, "short", specv1.MediaTypeImageManifest, specv1.MediaTypeImageConfig, f.ociBaseLayers, short, nil)
	// A linux/arm64/v7 base.
	v7 := f.ociBase
	v7.Architecture, v7.Variant = "arm64", "v7"
	v7Manifest, v7Config := f.writeBase(t, "v7", specv1.MediaTypeImageManifest, specv1.MediaTypeImageConfig, f.ociBaseLayers, v7, nil)

	for _, tc := range []struct {
		name  string
		args  []string
		files map[string]string
		want  []string // substrings of stderr
	}{
		{"malformed fragment", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `{"config": {"Env": [`}, []string{"config fragment " + f.path("frag.json"), "unexpected end"}},
		{"fragment type mismatch", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `{"config": "x"}`}, []string{"config fragment " + f.path("frag.json"), "cannot unmarshal"}},
		{"fragment env type mismatch", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `{"config": {"Env": {"A": "1"}}}`}, []string{"config fragment " + f.path("frag.json"), "cannot unmarshal"}},
		{"fragment unknown top-level key", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `{"Env": ["A=1"]}`}, []string{"config fragment " + f.path("frag.json"), `unknown key "Env"`}},
		{"fragment not an object", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `["A=1"]`}, []string{"config fragment " + f.path("frag.json")}},
		{"fragment trailing data", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `{} {}`}, []string{"config fragment " + f.path("frag.json")}},
		{"fragment bad env", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `{"config": {"Env": ["NOVALUE"]}}`}, []string{"config fragment " + f.path("frag.json"), `"NOVALUE"`}},
		{"fragment for another architecture", []string{"--config-fragment", f.path("frag.json")},
			map[string]string{"frag.json": `{"architecture": "arm64"}`}, []string{"config fragment " + f.path("frag.json"), "linux/arm64, image is linux/amd64"}},
		{"missing fragment", []string{"--config-fragment", f.path("nope.json")}, nil, []string{f.path("nope.json")}},
		{"base for another architecture", []string{"--base-manifest", f.armManifest, "--base-config", f.armConfig},
			nil, []string{f.armConfig, "base image is linux/arm64, image is linux/amd64"}},
		{"base for another variant", []string{"--base-manifest", v7Manifest, "--base-config", v7Config, "--architecture", "arm64", "--variant", "v8"},
			nil, []string{v7Config, "base image is linux/arm64/v7, image is linux/arm64/v8"}},
		{"base-manifest alone", []string{"--base-manifest", f.ociManifest}, nil, []string{"--base-manifest and --base-config"}},
		{"base-config alone", []string{"--base-config", f.ociConfig}, nil, []string{"--base-manifest and --base-config"}},
		{"base config digest mismatch", []string{"--base-manifest", f.ociManifest, "--base-config", f.path("tampered-config.json")},
			nil, []string{f.path("tampered-config.json"), f.ociManifest, "digest"}},
		{"base diff_ids mismatch", []string{"--base-manifest", shortManifest, "--base-config", shortConfig},
			nil, []string{shortConfig, "1 diff_ids", "2 layers"}},
		{"base manifest is an index", []string{"--base-manifest", f.path("index.json"), "--base-config", f.ociConfig},
			map[string]string{"index.json": `{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}`},
			[]string{"base manifest " + f.path("index.json"), "index"}},
		{"base manifest without media type is an index", []string{"--base-manifest", f.path("index.json"), "--base-config", f.ociConfig},
			map[string]string{"index.json": `{"schemaVersion": 2, "manifests": []}`}, []string{"base manifest " + f.path("index.json"), "index"}},
		{"base manifest bad layer digest", []string{"--base-manifest", f.path("m.json"), "--base-config", f.ociConfig},
			map[string]string{"m.json": `{"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "` + mfDigest(tampered) + `", "size": 1}, "layers": [{"mediaType": "x", "digest": "sha256:abc", "size": 1}]}`},
			[]string{"base manifest " + f.path("m.json"), "layers[0]", "sha256:abc"}},
		{"base manifest malformed", []string{"--base-manifest", f.path("m.json"), "--base-config", f.ociConfig},
			map[string]string{"m.json": `{`}, []string{"base manifest " + f.path("m.json")}},
		{"layer metadata unknown field", []string{"--layer-from-metadata", f.path("l.json")},
			map[string]string{"l.json": badLayer(func(m map[string]any) { m["extra"] = 1 })}, []string{f.path("l.json"), "extra"}},
		{"layer metadata bad diff_id", []string{"--layer-from-metadata", f.layers[0], "--layer-from-metadata", f.path("l.json")},
			map[string]string{"l.json": badLayer(func(m map[string]any) { m["diff_id"] = "sha256:XYZ" })}, []string{f.path("l.json"), "diff_id"}},
		{"layer metadata bad digest", []string{"--layer-from-metadata", f.path("l.json")},
			map[string]string{"l.json": badLayer(func(m map[string]any) { m["digest"] = "md5:00" })}, []string{f.path("l.json"), "digest"}},
		{"layer metadata malformed", []string{"--layer-from-metadata", f.path("l.json")},
			map[string]string{"l.json": `{"name": `}, []string{f.path("l.json")}},
		{"layer metadata missing", []string{"--layer-from-metadata", f.path("none.json")}, nil, []string{f.path("none.json")}},
		{"templates unknown key", []string{"--config-templates", f.path("t.json")},
			map[string]string{"t.json": `{"envs": {}}`}, []string{"config templates " + f.path("t.json"), "envs"}},
		{"env without value", []string{"--env", "NOVALUE"}, nil, []string{"--env", "KEY=VALUE"}},
		{"empty os", []string{"--os", ""}, nil, []string{"os and architecture"}},
		{"positional argument", []string{"extra"}, nil, []string{"unexpected arguments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, content := range tc.files {
				mfWrite(t, f.path(name), content)
			}
			wantManifestFailure(t, tc.want, tc.args...)
		})
	}
}

// mfDescriptors writes manifests for the platforms and returns their
// descriptor files, in order.
func mfDescriptors(t *testing.T, f *mfFixture, platforms ...[3]string) []string {
	t.Helper()
	var descs []string
	for _, p := range platforms {
		out, _, err := mfManifest(t, "--os", p[0], "--architecture", p[1], "--variant", p[2], "--layer-from-metadata", f.layers[0])
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, filepath.Join(out, "descriptor"))
	}
	return descs
}

func TestIndex(t *testing.T) {
	f := newMfFixture(t)
	for _, tc := range []struct {
		name        string
		platforms   [][3]string
		annotations []string
		templates   string // content of a --config-templates file, if any
		wantAnn     map[string]string
	}{
		{"one", [][3]string{{"linux", "amd64", ""}}, nil, "", nil},
		{"three with annotations", [][3]string{{"linux", "arm64", "v8"}, {"linux", "amd64", ""}, {"windows", "amd64", ""}},
			[]string{"org.opencontainers.image.version=1", "b=x=y"}, "", map[string]string{"org.opencontainers.image.version": "1", "b": "x=y"}},
		{"variants differ", [][3]string{{"linux", "arm", "v6"}, {"linux", "arm", "v7"}, {"linux", "arm", ""}}, nil, "", nil},
		{"templates replace annotations", [][3]string{{"linux", "amd64", ""}}, []string{"v={{.V}}"},
			`{"annotations": {"v": "1.0"}}`, map[string]string{"v": "1.0"}},
		{"templates without annotations", [][3]string{{"linux", "amd64", ""}}, []string{"v=plain"},
			`{"env": {"A": "1"}}`, map[string]string{"v": "plain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			descs := mfDescriptors(t, f, tc.platforms...)
			runIdx := func() (string, map[string][]byte) {
				out := t.TempDir()
				args := []string{"index"}
				for _, d := range descs {
					args = append(args, "--manifest-descriptor", d)
				}
				for _, a := range tc.annotations {
					args = append(args, "--annotation", a)
				}
				if tc.templates != "" {
					args = append(args, "--config-templates", mfWrite(t, filepath.Join(t.TempDir(), "templates.json"), tc.templates))
				}
				args = append(args, "--index", filepath.Join(out, "index"), "--descriptor", filepath.Join(out, "descriptor"), "--digest", filepath.Join(out, "digest"))
				if code, stderr := mfImg(args...); code != 0 {
					t.Fatalf("img index: exit %d: %s", code, stderr)
				}
				raw := map[string][]byte{}
				for _, o := range []string{"index", "descriptor", "digest"} {
					b, err := os.ReadFile(filepath.Join(out, o))
					if err != nil {
						t.Fatal(err)
					}
					raw[o] = b
				}
				return out, raw
			}
			_, raw := runIdx()

			var idx specv1.Index
			dec := json.NewDecoder(bytes.NewReader(raw["index"]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&idx); err != nil {
				t.Fatal(err)
			}
			if idx.SchemaVersion != 2 || idx.MediaType != specv1.MediaTypeImageIndex || len(idx.Manifests) != len(descs) {
				t.Errorf("index = %s", raw["index"])
			}
			wantAnn := tc.wantAnn
			if !reflect.DeepEqual(idx.Annotations, wantAnn) {
				t.Errorf("annotations = %v, want %v", idx.Annotations, wantAnn)
			}
			gi, err := ggcr.ParseIndexManifest(bytes.NewReader(raw["index"]))
			if err != nil {
				t.Fatalf("ggcr ParseIndexManifest: %v", err)
			}
			if gi.SchemaVersion != 2 || string(gi.MediaType) != specv1.MediaTypeImageIndex || len(gi.Manifests) != len(descs) ||
				!reflect.DeepEqual(gi.Annotations, wantAnn) {
				t.Errorf("ggcr index = %+v", gi)
			}
			for i, d := range descs {
				b, _ := os.ReadFile(d)
				var want specv1.Descriptor
				json.Unmarshal(b, &want)
				if !reflect.DeepEqual(idx.Manifests[i], want) {
					t.Errorf("manifests[%d] = %+v, want %+v", i, idx.Manifests[i], want)
				}
				g := gi.Manifests[i]
				p := tc.platforms[i]
				if g.Digest.String() != string(want.Digest) || g.Size != want.Size || string(g.MediaType) != specv1.MediaTypeImageManifest ||
					g.Platform == nil || g.Platform.OS != p[0] || g.Platform.Architecture != p[1] || g.Platform.Variant != p[2] {
					t.Errorf("ggcr manifests[%d] = %+v, want platform %v", i, g, p)
				}
				// The descriptor's digest is that of the manifest beside it.
				m, _ := os.ReadFile(filepath.Join(filepath.Dir(d), "manifest"))
				if mfDigest(m) != string(want.Digest) {
					t.Errorf("descriptor %s does not match its manifest", d)
				}
			}
			var desc specv1.Descriptor
			if err := json.Unmarshal(raw["descriptor"], &desc); err != nil {
				t.Fatal(err)
			}
			wantDesc := specv1.Descriptor{MediaType: specv1.MediaTypeImageIndex, Digest: digest.Digest(mfDigest(raw["index"])), Size: int64(len(raw["index"]))}
			if !reflect.DeepEqual(desc, wantDesc) || bytes.Contains(raw["descriptor"], []byte("platform")) {
				t.Errorf("descriptor = %s, want %+v", raw["descriptor"], wantDesc)
			}
			if string(raw["digest"]) != string(wantDesc.Digest) {
				t.Errorf("digest file = %q, want %q", raw["digest"], wantDesc.Digest)
			}

			_, again := runIdx()
			for o, b := range raw {
				if !bytes.Equal(b, again[o]) {
					t.Errorf("%s differs between runs", o)
				}
			}
		})
	}
}

// Two manifests of one platform make a valid index (as upstream allows);
// both entries are kept, in order.
func TestIndexSamePlatformTwice(t *testing.T) {
	f := newMfFixture(t)
	descs := mfDescriptors(t, f, [3]string{"linux", "amd64", ""}, [3]string{"linux", "arm64", "v8"}, [3]string{"linux", "amd64", ""})
	out := t.TempDir()
	args := []string{"index"}
	for _, d := range descs {
		args = append(args, "--manifest-descriptor", d)
	}
	index := filepath.Join(out, "index")
	args = append(args, "--index", index, "--descriptor", filepath.Join(out, "descriptor"), "--digest", filepath.Join(out, "digest"))
	if code, stderr := mfImg(args...); code != 0 {
		t.Fatalf("img index: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	var idx specv1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range idx.Manifests {
		got = append(got, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	if want := "linux/amd64 linux/arm64 linux/amd64"; strings.Join(got, " ") != want {
		t.Errorf("index platforms = %v, want %s", got, want)
	}
}

func TestIndexErrors(t *testing.T) {
	f := newMfFixture(t)
	descs := mfDescriptors(t, f, [3]string{"linux", "amd64", ""}, [3]string{"linux", "arm64", "v8"}, [3]string{"linux", "amd64", ""})
	good, _ := os.ReadFile(descs[0])
	edit := func(e func(m map[string]any)) string {
		var m map[string]any
		json.Unmarshal(good, &m)
		e(m)
		b, _ := json.Marshal(m)
		return mfWrite(t, filepath.Join(t.TempDir(), "desc.json"), b)
	}
	noPlatform := edit(func(m map[string]any) { delete(m, "platform") })
	noArch := edit(func(m map[string]any) { m["platform"] = map[string]any{"os": "linux"} })
	unknown := edit(func(m map[string]any) { m["extra"] = true })
	badDigest := edit(func(m map[string]any) { m["digest"] = "sha256:1234" })
	indexType := edit(func(m map[string]any) { m["mediaType"] = specv1.MediaTypeImageIndex })
	malformed := mfWrite(t, filepath.Join(t.TempDir(), "desc.json"), "{")
	badTemplates := mfWrite(t, filepath.Join(t.TempDir(), "templates.json"), `{"annotations": {"a": 1}}`)

	for _, tc := range []struct {
		name  string
		descs []string
		extra []string
		want  []string
	}{
		{"missing platform", []string{descs[1], noPlatform}, nil, []string{noPlatform, "platform"}},
		{"platform without architecture", []string{noArch}, nil, []string{noArch, "platform"}},
		{"unknown field", []string{unknown}, nil, []string{unknown, "extra"}},
		{"bad digest", []string{badDigest}, nil, []string{badDigest, "sha256:1234"}},
		{"not a manifest", []string{indexType}, nil, []string{indexType, "mediaType"}},
		{"malformed", []string{malformed}, nil, []string{malformed}},
		{"missing file", []string{filepath.Join(f.dir, "none.json")}, nil, []string{filepath.Join(f.dir, "none.json")}},
		{"no manifests", nil, nil, []string{"no manifest descriptors"}},
		{"bad templates", descs[:1], []string{"--config-templates", badTemplates}, []string{"config templates " + badTemplates}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"index"}
			for _, d := range tc.descs {
				args = append(args, "--manifest-descriptor", d)
			}
			args = append(args, tc.extra...)
			args = append(args, "--index", filepath.Join(out, "index"), "--descriptor", filepath.Join(out, "descriptor"), "--digest", filepath.Join(out, "digest"))
			code, stderr := mfImg(args...)
			if code == 0 {
				t.Fatal("img index succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Errorf("outputs written despite the error: %v", ents)
			}
		})
	}
}

// TestManifestChain uses the outputs of one `img manifest` as the base of
// the next, as image_manifest(base = ...) does.
func TestManifestChain(t *testing.T) {
	f := newMfFixture(t)
	first, _, err := mfManifest(t, "--layer-from-metadata", f.layers[0], "--entrypoint", "/app/bin/hello",
		"--env", "GREETING_STYLE=plain", "--label", "org.example.name=hello", "--annotation", "org.opencontainers.image.title=hello")
	if err != nil {
		t.Fatal(err)
	}
	base := mfCheckManifest(t, first)
	frag := mfWrite(t, f.path("fragment.json"), `{"config": {
		"Env": ["FROM_FRAGMENT=yes", "PATH=/app/bin:/usr/bin:/bin"],
		"ExposedPorts": {"8080/tcp": {}},
		"Labels": {"org.example.fragment": "true"}}}`)
	for _, tc := range []struct {
		name      string
		args      []string
		wantEnv   []string
		wantCmd   []string
		wantLabel map[string]string
	}{
		{"inherit only", nil, []string{"GREETING_STYLE=plain"}, nil, map[string]string{"org.example.name": "hello"}},
		{"fragment and flags", []string{"--config-fragment", frag, "--env", "GREETING_STYLE=fancy", "--cmd", "--verbose", "--label", "org.example.name=hello_with_files"},
			[]string{"GREETING_STYLE=fancy", "FROM_FRAGMENT=yes", "PATH=/app/bin:/usr/bin:/bin"}, []string{"--verbose"},
			map[string]string{"org.example.name": "hello_with_files", "org.example.fragment": "true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{
				"--base-manifest", filepath.Join(first, "manifest"), "--base-config", filepath.Join(first, "config"),
				"--layer-from-metadata", f.layers[1], "--layer-from-metadata", f.layers[2],
			}, tc.args...)
			out, _, err := mfManifest(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			r := mfCheckManifest(t, out)
			if got, want := mfJSON(r.manifest.Layers[:1]), mfJSON(base.manifest.Layers); got != want {
				t.Errorf("base layers = %s, want %s", got, want)
			}
			if len(r.manifest.Layers) != 3 || len(r.config.History) != 3 || r.config.History[0].CreatedBy != mfLayers[0].Name {
				t.Errorf("layers %d, history %+v", len(r.manifest.Layers), r.config.History)
			}
			if r.manifest.Annotations != nil {
				t.Errorf("base annotations inherited: %v", r.manifest.Annotations)
			}
			c := r.config.Config
			if !slices.Equal(c.Env, tc.wantEnv) || !slices.Equal(c.Cmd, tc.wantCmd) || !reflect.DeepEqual(c.Labels, tc.wantLabel) ||
				!slices.Equal(c.Entrypoint, []string{"/app/bin/hello"}) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

// wantManifestFailure runs img manifest with args and wants it to fail with
// an error containing each of want, and to leave no output behind.
func wantManifestFailure(t *testing.T, want []string, args ...string) {
	t.Helper()
	out, _, err := mfManifest(t, args...)
	if err == nil {
		t.Fatal("img manifest succeeded, want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("outputs written despite the error: %v", ents)
	}
}
