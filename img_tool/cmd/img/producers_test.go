package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// TestProducerMetadataBuildsManifest feeds the layer metadata of every
// producer, written as the rules write it, to `img manifest` and `img
// index`, which read it strictly: `img layer` in each format (as
// image_layer), `img compress` and `img layer-metadata` (as
// image_layer_from_tar and a plain tar in image_manifest's layers), an
// empty layer, and the compact json.encode of image_import with a Docker
// media type. The config fragment of e2e/basic goes with it.
func TestProducerMetadataBuildsManifest(t *testing.T) {
	f := newFixture(t)
	var mds []string
	md := func(name string) string {
		p := f.o(name + "_metadata.json")
		mds = append(mds, p)
		return p
	}
	for _, format := range []string{"gzip", "zstd", "none"} {
		mustRun(t, "layer", "--name", "//app:layer_"+format, "--format", format, "--metadata", md("layer_"+format),
			"--annotation", "org.example.k=v", "--add", "/app/a.txt="+f.i("a.txt"), "--add-from-file", f.i("add.params"),
			"--default-metadata", `{"uid":1000,"gid":1000,"mtime":"2000-01-01T00:00:00Z"}`,
			f.o("layer_"+format+".blob"))
	}
	mustRun(t, "layer", "--name", "//app:stargz", "--estargz", "--metadata", md("stargz"), "--add", "/b.txt="+f.i("b.txt"), f.o("stargz.tgz"))
	mustRun(t, "layer", "--name", "//app:empty", "--metadata", md("empty"), f.o("empty.tgz"))
	mustRun(t, "compress", "--name", "//app:vendor", "--format", "zstd", "--metadata", md("compressed"), f.i("vendor.tar.gz"), f.o("vendor.tar.zst"))
	mustRun(t, "layer-metadata", "--name", "//app:vendor.tar.gz", f.i("vendor.tar.gz"), md("described"))

	// image_import: json.encode of a dict, compact, keys in insertion order.
	imported, err := json.Marshal(map[string]any{
		"name":        "registry.example/base@sha256:" + strings.Repeat("1", 64),
		"diff_id":     "sha256:" + strings.Repeat("2", 64),
		"mediaType":   metadata.MediaTypeDockerTarGzip,
		"digest":      "sha256:" + strings.Repeat("1", 64),
		"size":        2811478,
		"annotations": map[string]string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(md("imported"), imported, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, p := range mds {
		if _, err := metadata.Read(p); err != nil {
			t.Errorf("producer output does not read back: %v", err)
		}
	}

	args := []string{"manifest", "--architecture", "arm64", "--variant", "v8", "--user", "1000:1000",
		"--manifest", f.o("manifest.json"), "--config", f.o("config.json"), "--descriptor", f.o("descriptor.json")}
	if frag, err := filepath.Abs("../../../e2e/basic/images/config_fragment.json"); err == nil {
		if _, err := os.Stat(frag); err == nil {
			args = append(args, "--config-fragment", frag)
		}
	}
	for _, p := range mds {
		args = append(args, "--layer-from-metadata", p)
	}
	mustRun(t, args...)
	mustRun(t, "index", "--manifest-descriptor", f.o("descriptor.json"), "--index", f.o("index.json"))

	data, err := os.ReadFile(f.o("config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg specv1.Image
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	nonEmpty := 0
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if len(cfg.RootFS.DiffIDs) != len(mds) || nonEmpty != len(mds) {
		t.Errorf("config has %d diff_ids and %d history entries of layers, want %d each", len(cfg.RootFS.DiffIDs), nonEmpty, len(mds))
	}
}
