package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{"defaults", nil, ""},
		{"empty os", []Option{WithPlatform("", "amd64", "")}, "os and architecture"},
		{"empty architecture", []Option{WithPlatform("linux", "", "")}, "os and architecture"},
		{"base without config", []Option{WithBase("m.json", "")}, "both"},
		{"base twice", []Option{WithBase("a.json", "b.json"), WithBase("c.json", "d.json")}, "already set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildManifest(context.Background(), tc.opts...)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("BuildManifest() = %v, want error %q", err, tc.wantErr)
			}
		})
	}
}

// writeLayers writes n layer metadata files into dir.
func writeLayers(tb testing.TB, dir string, n int) []string {
	tb.Helper()
	paths := make([]string, n)
	for i := range paths {
		l := &metadata.Layer{
			Name:      fmt.Sprintf("//pkg:layer_%d", i),
			DiffID:    digest.FromString(fmt.Sprint("tar ", i)).String(),
			MediaType: metadata.MediaTypeTarGzip,
			Digest:    digest.FromString(fmt.Sprint("blob ", i)).String(),
			Size:      int64(1000 + i),
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("layer_%d.json", i))
		if err := metadata.Write(paths[i], l); err != nil {
			tb.Fatal(err)
		}
	}
	return paths
}

func TestBuildManifestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := BuildManifest(ctx, WithLayers(writeLayers(t, t.TempDir(), 2)...))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("BuildManifest() = %v, want context.Canceled", err)
	}
}

func TestIndexSentinels(t *testing.T) {
	dir := t.TempDir()
	m, err := BuildManifest(context.Background(), WithLayers(writeLayers(t, dir, 1)...))
	if err != nil {
		t.Fatal(err)
	}
	withPlatform := filepath.Join(dir, "a.json")
	if err := m.Manifest.Write("", withPlatform, ""); err != nil {
		t.Fatal(err)
	}
	noPlatform := filepath.Join(dir, "b.json")
	bare := m.Manifest
	bare.Descriptor.Platform = nil
	if err := bare.Write("", noPlatform, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		want  error
	}{
		{"missing", []string{noPlatform}, ErrMissingPlatform},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := BuildIndex(context.Background(), tc.paths); !errors.Is(err, tc.want) {
				t.Fatalf("BuildIndex() = %v, want %v", err, tc.want)
			}
		})
	}
}

// An index may hold several manifests of one platform (variants that a
// runtime tells apart by annotations, or the same image twice); they are
// kept in the order given.
func TestBuildIndexSamePlatformTwice(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, env := range []string{"A=1", "A=2"} {
		k, v, _ := strings.Cut(env, "=")
		m, err := BuildManifest(context.Background(), WithPlatform("linux", "amd64", ""), WithEnv(map[string]string{k: v}))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("d%d.json", i))
		if err := m.Manifest.Write("", p, ""); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	idx, err := BuildIndex(context.Background(), paths)
	if err != nil {
		t.Fatalf("BuildIndex(two manifests of linux/amd64) = %v, want success", err)
	}
	var got struct {
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(idx.Data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Manifests) != 2 || got.Manifests[0].Digest == got.Manifests[1].Digest {
		t.Fatalf("index manifests = %+v, want two different manifests", got.Manifests)
	}
	for _, m := range got.Manifests {
		if m.Platform.OS != "linux" || m.Platform.Architecture != "amd64" {
			t.Errorf("platform = %+v, want linux/amd64", m.Platform)
		}
	}
}

// BenchmarkManifest100Layers runs what `img manifest` does for an image
// of 100 layers: read the metadata, build, write all four outputs.
func BenchmarkManifest100Layers(b *testing.B) {
	dir := b.TempDir()
	layers := writeLayers(b, dir, 100)
	out := func(name string) string { return filepath.Join(dir, name) }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m, err := BuildManifest(ctx,
			WithPlatform("linux", "arm64", "v8"),
			WithLayers(layers...),
			WithEnv(map[string]string{"PATH": "/bin", "LANG": "C"}),
			WithEntrypoint([]string{"/app"}),
			WithLabels(map[string]string{"a": "b"}),
		)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Config.Write(out("config"), "", ""); err != nil {
			b.Fatal(err)
		}
		if err := m.Manifest.Write(out("manifest"), out("descriptor"), out("digest")); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWithCreatedDefault(t *testing.T) {
	var o options
	if err := WithCreated("")(&o); err != nil || o.created != nil {
		t.Fatalf("WithCreated(\"\") = %v, created %v", err, o.created)
	}
	if err := WithCreated("1")(&o); err != nil || !o.created.Equal(time.Unix(1, 0)) {
		t.Fatalf("WithCreated(\"1\") = %v, created %v", err, o.created)
	}
}
