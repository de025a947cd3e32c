package image

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	specv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
)

// fuzzWrite writes data to name in dir and returns the path.
func fuzzWrite(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzBaseManifest decodes arbitrary bytes as a base image manifest. An
// accepted manifest encoded again is accepted too, and its encoding is a
// fixed point: decoding and encoding it once more gives the same bytes.
// Seeds: testdata/fuzz/FuzzBaseManifest (OCI and Docker manifests as
// registries serve them, an index, which is rejected).
func FuzzBaseManifest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc baseManifestDoc
		if err := jsondoc.Decode(data, &doc, false); err != nil {
			return
		}
		if err := validateBaseManifest(&doc); err != nil {
			return
		}
		enc, err := json.Marshal(doc.Manifest)
		if err != nil {
			t.Fatalf("encode an accepted manifest: %v", err)
		}
		var again baseManifestDoc
		if err := jsondoc.Decode(enc, &again, false); err != nil {
			t.Fatalf("decode the encoded manifest %s: %v", enc, err)
		}
		if err := validateBaseManifest(&again); err != nil {
			t.Fatalf("the encoded manifest %s is not accepted: %v", enc, err)
		}
		enc2, err := json.Marshal(again.Manifest)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzBuildManifest builds an image on a base config, a config fragment
// and a config templates file, each arbitrary bytes (an empty fragment or
// templates file is left out). The base manifest is made to match the
// base config. When the build succeeds, the config and manifest decode;
// the manifest's config descriptor describes the config bytes; the base's
// diff_ids come first and there is one layer per diff_id; building again
// gives the same bytes; and the result, used as a base with nothing added,
// gives the same config (but for the author, which is not inherited).
// Seeds: testdata/fuzz/FuzzBuildManifest (real image configs, fragments
// as the image rule writes them, templates with expanded values).
func FuzzBuildManifest(f *testing.F) {
	dir := f.TempDir()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, baseConfig, fragment, templates []byte) {
		var probe specv1.Image
		if err := jsondoc.Decode(baseConfig, &probe, false); err != nil {
			return
		}
		if len(probe.RootFS.DiffIDs) > 1000 {
			return
		}
		baseManifest := specv1.Manifest{MediaType: specv1.MediaTypeImageManifest, Layers: []specv1.Descriptor{}}
		baseManifest.SchemaVersion = 2
		baseManifest.Config = specv1.Descriptor{MediaType: specv1.MediaTypeImageConfig, Digest: digest.FromBytes(baseConfig), Size: int64(len(baseConfig))}
		for range probe.RootFS.DiffIDs {
			baseManifest.Layers = append(baseManifest.Layers, specv1.Descriptor{MediaType: specv1.MediaTypeImageLayerGzip, Digest: digest.FromString("layer"), Size: 5})
		}
		mdata, err := json.Marshal(baseManifest)
		if err != nil {
			t.Fatal(err)
		}
		var platform []Option // the base's platform, if it names one
		if probe.OS != "" && probe.Architecture != "" {
			platform = append(platform, WithPlatform(probe.OS, probe.Architecture, probe.Variant))
		}
		opts := append(platform, WithBase(fuzzWrite(t, dir, "base_manifest.json", mdata), fuzzWrite(t, dir, "base_config.json", baseConfig)))
		if len(fragment) > 0 {
			opts = append(opts, WithConfigFragment(fuzzWrite(t, dir, "fragment.json", fragment)))
		}
		if len(templates) > 0 {
			opts = append(opts, WithConfigTemplates(fuzzWrite(t, dir, "templates.json", templates)))
		}
		m, err := BuildManifest(ctx, opts...)
		if err != nil {
			if m != nil {
				t.Fatal("a manifest and an error")
			}
			return
		}
		var cfg specv1.Image
		if err := jsondoc.Decode(m.Config.Data, &cfg, true); err != nil {
			t.Fatalf("the config %s does not decode strictly: %v", m.Config.Data, err)
		}
		var man specv1.Manifest
		if err := jsondoc.Decode(m.Manifest.Data, &man, true); err != nil {
			t.Fatalf("the manifest %s does not decode strictly: %v", m.Manifest.Data, err)
		}
		if man.Config.Digest != digest.FromBytes(m.Config.Data) || man.Config.Size != int64(len(m.Config.Data)) {
			t.Fatalf("manifest config descriptor %+v does not describe the config", man.Config)
		}
		if string(m.Manifest.Descriptor.Digest) != string(digest.FromBytes(m.Manifest.Data)) {
			t.Fatal("manifest descriptor does not describe the manifest")
		}
		if len(man.Layers) != len(cfg.RootFS.DiffIDs) {
			t.Fatalf("%d layers, %d diff_ids", len(man.Layers), len(cfg.RootFS.DiffIDs))
		}
		if len(cfg.RootFS.DiffIDs) < len(probe.RootFS.DiffIDs) || !slices.Equal(cfg.RootFS.DiffIDs[:len(probe.RootFS.DiffIDs)], probe.RootFS.DiffIDs) {
			t.Fatalf("diff_ids %v do not start with the base's %v", cfg.RootFS.DiffIDs, probe.RootFS.DiffIDs)
		}
		m2, err := BuildManifest(ctx, opts...)
		if err != nil {
			t.Fatalf("second build: %v", err)
		}
		if !bytes.Equal(m.Config.Data, m2.Config.Data) || !bytes.Equal(m.Manifest.Data, m2.Manifest.Data) {
			t.Fatal("building twice gives different bytes")
		}
		rebuilt, err := BuildManifest(ctx, append(platform, WithBase(fuzzWrite(t, dir, "out_manifest.json", m.Manifest.Data), fuzzWrite(t, dir, "out_config.json", m.Config.Data)))...)
		if err != nil {
			t.Fatalf("the result is not accepted as a base: %v\nmanifest %s\nconfig %s", err, m.Manifest.Data, m.Config.Data)
		}
		var cfg2 specv1.Image
		if err := jsondoc.Decode(rebuilt.Config.Data, &cfg2, true); err != nil {
			t.Fatal(err)
		}
		cfg.Author = ""
		want, _ := json.Marshal(cfg)
		got, _ := json.Marshal(cfg2)
		if !bytes.Equal(want, got) {
			t.Fatalf("rebuilt on itself, the config changes:\n%s\n%s", want, got)
		}
	})
}

// FuzzReadDescriptor decodes arbitrary bytes as a manifest descriptor file
// (as Blob.Write writes them for the index rule). An accepted descriptor
// encoded again is accepted with the same encoding, and an index built of
// it lists exactly that descriptor. Seeds: testdata/fuzz/FuzzReadDescriptor.
func FuzzReadDescriptor(f *testing.F) {
	dir := f.TempDir()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzWrite(t, dir, "descriptor.json", data)
		d, err := ReadDescriptor(p)
		if err != nil {
			if d != nil {
				t.Fatal("a descriptor and an error")
			}
			return
		}
		enc, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("encode an accepted descriptor: %v", err)
		}
		d2, err := ReadDescriptor(fuzzWrite(t, dir, "again.json", enc))
		if err != nil {
			t.Fatalf("the encoded descriptor %s is not accepted: %v", enc, err)
		}
		enc2, _ := json.Marshal(d2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", enc, enc2)
		}
		idx, err := BuildIndex(ctx, []string{p})
		if err != nil {
			t.Fatalf("index of an accepted descriptor: %v", err)
		}
		var index specv1.Index
		if err := jsondoc.Decode(idx.Data, &index, true); err != nil {
			t.Fatalf("the index %s does not decode strictly: %v", idx.Data, err)
		}
		if len(index.Manifests) != 1 {
			t.Fatalf("index lists %d manifests", len(index.Manifests))
		}
		got, _ := json.Marshal(index.Manifests[0])
		if !bytes.Equal(got, enc) {
			t.Fatalf("index entry %s, descriptor %s", got, enc)
		}
	})
}
