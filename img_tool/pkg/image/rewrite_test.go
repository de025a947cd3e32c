package image

import (
	"context"
	"encoding/json"
	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// source writes a two-layer image whose config has a field unknown to the
// OCI structs, and returns the manifest and config paths.
func source(t *testing.T, dir, manifestMediaType string) (string, string) {
	t.Helper()
	cfg := `{"architecture":"amd64","os":"linux","config":{"Env":["A=1"]},"container_config":{"Hostname":"x"},` +
		`"rootfs":{"type":"layers","diff_ids":["` + sha("tar1") + `","` + sha("tar2") + `"]},"history":[{"created_by":"one"},{"created_by":"two"}]}`
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     manifestMediaType,
		"config":        specv1.Descriptor{MediaType: specv1.MediaTypeImageConfig, Digest: digest.Digest(sha(cfg)), Size: int64(len(cfg))},
		"layers": []specv1.Descriptor{
			{MediaType: metadata.MediaTypeTarGzip, Digest: digest.Digest(sha("gz1")), Size: 3,
				Annotations: map[string]string{"org.opencontainers.image.title": "one", metadata.AnnotationTOCDigest: sha("old toc")}},
			{MediaType: metadata.MediaTypeTarGzip, Digest: digest.Digest(sha("gz2")), Size: 3},
		},
		"annotations": map[string]string{"org.example": "kept"},
	}
	if manifestMediaType == MediaTypeDockerManifest {
		m["config"] = specv1.Descriptor{MediaType: MediaTypeDockerConfig, Digest: digest.Digest(sha(cfg)), Size: int64(len(cfg))}
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	mPath := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(mPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return mPath, cfgPath
}

func TestReplaceLayers(t *testing.T) {
	platform := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	for _, tc := range []struct {
		name, manifestMediaType string
		estargz                 bool
	}{
		{"zstd", specv1.MediaTypeImageManifest, false},
		{"eStargz", specv1.MediaTypeImageManifest, true},
		{"docker source", MediaTypeDockerManifest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mPath, cPath := source(t, dir, tc.manifestMediaType)
			var paths []string
			for i, tar := range []string{"tar1", "tar2"} {
				l := metadata.Layer{Name: "n", DiffID: sha(tar), Digest: sha("new" + tar), MediaType: metadata.MediaTypeTarZstd, Size: 7}
				if tc.estargz {
					l.MediaType = metadata.MediaTypeTarGzip
					l.DiffID = sha("estargz " + tar)
					l.Annotations = map[string]string{metadata.AnnotationTOCDigest: sha("toc" + tar), metadata.AnnotationUncompressedSize: "10"}
				}
				paths = append(paths, writeLayerMD(t, dir, "layer"+string(rune('0'+i))+".json", l))
			}
			m, err := ReplaceLayers(context.Background(), mPath, cPath, paths, platform)
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]json.RawMessage
			if err := json.Unmarshal(m.Config.Data, &cfg); err != nil {
				t.Fatal(err)
			}
			if string(cfg["container_config"]) != `{"Hostname":"x"}` || !strings.Contains(string(cfg["history"]), `"created_by":"two"`) {
				t.Errorf("config lost fields: %s", m.Config.Data)
			}
			var image specv1.Image
			if err := json.Unmarshal(m.Config.Data, &image); err != nil {
				t.Fatal(err)
			}
			for i, tar := range []string{"tar1", "tar2"} {
				want := sha(tar)
				if tc.estargz {
					want = sha("estargz " + tar)
				}
				if image.RootFS.DiffIDs[i].String() != want {
					t.Errorf("diff_ids[%d] = %s, want %s", i, image.RootFS.DiffIDs[i], want)
				}
			}
			var man specv1.Manifest
			if err := json.Unmarshal(m.Manifest.Data, &man); err != nil {
				t.Fatal(err)
			}
			if man.MediaType != specv1.MediaTypeImageManifest || man.Config.MediaType != specv1.MediaTypeImageConfig ||
				man.Config.Digest.String() != sha(string(m.Config.Data)) || man.Annotations["org.example"] != "kept" {
				t.Errorf("manifest = %s", m.Manifest.Data)
			}
			l0 := man.Layers[0]
			if l0.Digest.String() != sha("newtar1") || l0.Size != 7 || l0.Annotations["org.opencontainers.image.title"] != "one" {
				t.Errorf("layer 0 = %+v", l0)
			}
			if toc := l0.Annotations[metadata.AnnotationTOCDigest]; tc.estargz && toc != sha("toctar1") || !tc.estargz && toc != "" {
				t.Errorf("layer 0 TOC digest = %q", toc)
			}
			if m.Manifest.Descriptor.Platform == nil || m.Manifest.Descriptor.Platform.Architecture != "amd64" {
				t.Errorf("descriptor = %+v", m.Manifest.Descriptor)
			}
		})
	}
}

func TestReplaceLayersRejects(t *testing.T) {
	dir := t.TempDir()
	mPath, cPath := source(t, dir, specv1.MediaTypeImageManifest)
	good := writeLayerMD(t, dir, "good.json", metadata.Layer{DiffID: sha("tar1"), Digest: sha("x"), MediaType: metadata.MediaTypeTarZstd, Size: 1})
	changed := writeLayerMD(t, dir, "changed.json", metadata.Layer{DiffID: sha("other"), Digest: sha("x"), MediaType: metadata.MediaTypeTarZstd, Size: 1})
	artifact := writeLayerMD(t, dir, "artifact.json", metadata.Layer{DiffID: sha("x"), Digest: sha("x"), MediaType: "text/plain", Size: 1})
	for _, tc := range []struct {
		name   string
		layers []string
		want   string
	}{
		{"too few", []string{good}, "has 2 layers, but 1 new layers are given"},
		{"diff_id changed", []string{good, changed}, "differs from layer 1's " + sha("tar2")},
		{"artifact blob", []string{good, artifact}, `"text/plain" is not a tar layer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReplaceLayers(context.Background(), mPath, cPath, tc.layers, ocispec.Platform{OS: "linux", Architecture: "amd64"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReplaceLayers() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
