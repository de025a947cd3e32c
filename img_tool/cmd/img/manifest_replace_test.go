package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	specv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// img manifest --replace-layers as image_optimize runs it: an image built
// by img manifest, its one layer recompressed by img compress, rewritten
// with the new layer; and --artifact-type with an artifact-metadata blob.
func TestManifestReplaceLayersAndArtifact(t *testing.T) {
	f := newFixture(t)
	gz, gzMD := f.o("a.tgz"), f.o("a.json")
	mustRun(t, "layer", "--format", "gzip", "--add", "/a.txt="+f.i("a.txt"), "--metadata", gzMD, gz)
	src, srcCfg := f.o("src_manifest.json"), f.o("src_config.json")
	mustRun(t, "manifest", "--layer-from-metadata", gzMD, "--env", "A=1", "--manifest", src, "--config", srcCfg)
	zst, zstMD := f.o("a.tar.zst"), f.o("a_zst.json")
	mustRun(t, "compress", "--format", "zstd", "--metadata", zstMD, gz, zst)

	out, cfg, desc := f.o("out_manifest.json"), f.o("out_config.json"), f.o("out_descriptor.json")
	mustRun(t, "manifest", "--replace-layers", "--base-manifest", src, "--base-config", srcCfg, "--layer-from-metadata", zstMD,
		"--os", "linux", "--architecture", "arm64", "--variant", "v8", "--manifest", out, "--config", cfg, "--descriptor", desc)
	var m specv1.Manifest
	var c, sc specv1.Image
	var d specv1.Descriptor
	for p, v := range map[string]any{out: &m, cfg: &c, srcCfg: &sc, desc: &d} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	zl, err := metadata.Read(zstMD)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != metadata.MediaTypeTarZstd || m.Layers[0].Digest.String() != zl.Digest {
		t.Errorf("layers = %+v, want the zstd blob %s", m.Layers, zl.Digest)
	}
	if c.RootFS.DiffIDs[0] != sc.RootFS.DiffIDs[0] || strings.Join(c.Config.Env, ",") != "A=1" || len(c.History) != 1 {
		t.Errorf("config = %+v, want the source's", c)
	}
	if d.Platform == nil || d.Platform.Architecture != "arm64" || d.Platform.Variant != "v8" {
		t.Errorf("descriptor = %+v", d)
	}

	code, stderr := runImg(t, "manifest", "--replace-layers", "--base-manifest", src, "--base-config", srcCfg,
		"--layer-from-metadata", zstMD, "--env", "B=2", "--name", "//x:opt", "--manifest", f.o("x.json"))
	if code == 0 || !strings.Contains(stderr, "image //x:opt: --replace-layers keeps the config; it conflicts with --env") {
		t.Errorf("--replace-layers with --env: exit %d, %s", code, stderr)
	}
	code, stderr = runImg(t, "manifest", "--replace-layers", "--layer-from-metadata", zstMD, "--manifest", f.o("y.json"))
	if code == 0 || !strings.Contains(stderr, "--replace-layers needs --base-manifest and --base-config") {
		t.Errorf("--replace-layers without a source: exit %d, %s", code, stderr)
	}

	notes, notesMD := f.i("b.txt"), f.o("b.json")
	mustRun(t, "artifact-metadata", "--media-type", "text/plain", notes, notesMD)
	art, artCfg := f.o("art.json"), f.o("art_config.json")
	mustRun(t, "manifest", "--artifact-type", "application/vnd.example", "--layer-from-metadata", notesMD, "--manifest", art, "--config", artCfg)
	if data, _ := os.ReadFile(artCfg); string(data) != "{}" {
		t.Errorf("artifact config = %q, want {}", data)
	}
	var a specv1.Manifest
	data, _ := os.ReadFile(art)
	if err := json.Unmarshal(data, &a); err != nil || a.ArtifactType != "application/vnd.example" || a.Config.MediaType != specv1.MediaTypeEmptyJSON || a.Layers[0].MediaType != "text/plain" {
		t.Errorf("artifact manifest = %s (%v)", data, err)
	}
	code, stderr = runImg(t, "manifest", "--layer-from-metadata", notesMD, "--manifest", f.o("z.json"))
	if code == 0 || !strings.Contains(stderr, "is an artifact blob, not a filesystem layer") {
		t.Errorf("image with an artifact blob: exit %d, %s", code, stderr)
	}
}
