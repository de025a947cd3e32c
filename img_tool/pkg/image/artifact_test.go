package image

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

func sha(s string) string { return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(s))) }

// writeLayerMD writes layer metadata to dir/name and returns its path.
func writeLayerMD(t *testing.T, dir, name string, l metadata.Layer) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := metadata.Write(p, &l); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestArtifactManifest(t *testing.T) {
	dir := t.TempDir()
	text := writeLayerMD(t, dir, "text.json", metadata.Layer{Name: "notes", DiffID: sha("a"), Digest: sha("a"), MediaType: "text/plain", Size: 1,
		Annotations: map[string]string{"org.opencontainers.image.title": "notes.txt"}})
	tarLayer := writeLayerMD(t, dir, "tar.json", metadata.Layer{Name: "tree", DiffID: sha("u"), Digest: sha("c"), MediaType: metadata.MediaTypeTarGzip, Size: 9})
	m, err := BuildManifest(context.Background(), WithArtifactType("application/vnd.example.bundle"), WithLayers(text, tarLayer),
		WithAnnotations(map[string]string{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Config.Data) != "{}" || m.Config.Descriptor.MediaType != specv1.MediaTypeEmptyJSON ||
		m.Config.Descriptor.Digest.String() != sha("{}") || m.Config.Descriptor.Size != 2 || m.Config.Descriptor.Data != nil {
		t.Errorf("config = %s %+v, want the empty JSON blob", m.Config.Data, m.Config.Descriptor)
	}
	var got specv1.Manifest
	if err := json.Unmarshal(m.Manifest.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.ArtifactType != "application/vnd.example.bundle" || got.MediaType != specv1.MediaTypeImageManifest || string(got.Config.Digest) != string(m.Config.Descriptor.Digest) {
		t.Errorf("manifest = %s", m.Manifest.Data)
	}
	if len(got.Layers) != 2 || got.Layers[0].MediaType != "text/plain" || got.Layers[0].Digest.String() != sha("a") ||
		got.Layers[0].Annotations["org.opencontainers.image.title"] != "notes.txt" || got.Layers[1].MediaType != metadata.MediaTypeTarGzip {
		t.Errorf("layers = %+v", got.Layers)
	}
	if got.Annotations["k"] != "v" || strings.Contains(string(m.Manifest.Data), `"data"`) {
		t.Errorf("manifest = %s", m.Manifest.Data)
	}
	if m.Manifest.Descriptor.ArtifactType != "application/vnd.example.bundle" || m.Manifest.Descriptor.Digest.String() != sha(string(m.Manifest.Data)) {
		t.Errorf("descriptor = %+v", m.Manifest.Descriptor)
	}

	// An image may not hold an artifact blob.
	_, err = BuildManifest(context.Background(), WithLayers(text))
	if err == nil || !strings.Contains(err.Error(), `"text/plain" is an artifact blob, not a filesystem layer`) {
		t.Errorf("image with an artifact blob: %v", err)
	}
}

func TestArtifactManifestRejects(t *testing.T) {
	dir := t.TempDir()
	text := writeLayerMD(t, dir, "text.json", metadata.Layer{DiffID: sha("a"), Digest: sha("a"), MediaType: "text/plain", Size: 1})
	inToto := writeLayerMD(t, dir, "intoto.json", metadata.Layer{DiffID: sha("a"), Digest: sha("b"), MediaType: metadata.MediaTypeInToto, Size: 1})
	tmpl := filepath.Join(dir, "templates.json")
	if err := os.WriteFile(tmpl, []byte(`{"env":{"A":"1"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	at := WithArtifactType("application/vnd.example")
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"bad artifact type", []Option{WithArtifactType("bundle"), WithLayers(text)}, `artifact type "bundle" is not a media type`},
		{"base", []Option{at, WithBase("m.json", "c.json"), WithLayers(text)}, "a base image is given, but an artifact has no image config"},
		{"env", []Option{at, WithEnv(map[string]string{"A": "1"}), WithLayers(text)}, "env is given"},
		{"entrypoint", []Option{at, WithEntrypoint([]string{"/x"}), WithLayers(text)}, "an entrypoint is given"},
		{"created", []Option{at, WithCreated("1700000000"), WithLayers(text)}, "a creation time is given"},
		{"templated env", []Option{at, WithConfigTemplates(tmpl), WithLayers(text)}, "env or labels are given"},
		{"no blobs", []Option{at}, "no blobs"},
		{"attestation", []Option{at, WithLayers(inToto)}, "is an attestation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildManifest(context.Background(), tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("BuildManifest() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
