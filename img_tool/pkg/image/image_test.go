package image

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

func TestMergeEnv(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env, entries []string
		want         []string
	}{
		{"empty", nil, nil, nil},
		{"append in order", []string{"A=1"}, []string{"C=3", "B=2"}, []string{"A=1", "C=3", "B=2"}},
		{"replace in place", []string{"A=1", "B=2", "C=3"}, []string{"B=x"}, []string{"A=1", "B=x", "C=3"}},
		{"replace every occurrence", []string{"A=1", "B=2", "A=3"}, []string{"A=x"}, []string{"A=x", "B=2", "A=x"}},
		{"later entry wins", nil, []string{"A=1", "A=2"}, []string{"A=2"}},
		{"value with =", []string{"A=1"}, []string{"A=b=c"}, []string{"A=b=c"}},
		{"key without value in base", []string{"A", "B=1"}, []string{"A=2"}, []string{"A=2", "B=1"}},
		{"prefix is not a key", []string{"AB=1"}, []string{"A=2"}, []string{"AB=1", "A=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := slices.Clone(tc.env)
			got := mergeEnv(tc.env, tc.entries)
			if !slices.Equal(got, tc.want) {
				t.Errorf("mergeEnv(%q, %q) = %q, want %q", tc.env, tc.entries, got, tc.want)
			}
			if !slices.Equal(tc.env, orig) {
				t.Errorf("mergeEnv changed its input to %q", tc.env)
			}
		})
	}
}

func TestCheckPlatform(t *testing.T) {
	amd64 := specv1.Platform{OS: "linux", Architecture: "amd64"}
	armV8 := specv1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	for _, tc := range []struct {
		name        string
		want, other specv1.Platform
		wantErr     string // "" for no error
	}{
		{"same", amd64, amd64, ""},
		{"other empty", amd64, specv1.Platform{}, ""},
		{"variant only in image", armV8, specv1.Platform{OS: "linux", Architecture: "arm64"}, ""},
		{"variant only in other", specv1.Platform{OS: "linux", Architecture: "arm64"}, armV8, ""},
		{"architecture", amd64, armV8, "linux/arm64/v8, image is linux/amd64"},
		{"os", amd64, specv1.Platform{OS: "windows", Architecture: "amd64"}, "windows/amd64, image is linux/amd64"},
		{"architecture only", amd64, specv1.Platform{Architecture: "arm64"}, "linux/arm64, image is linux/amd64"},
		{"variant", armV8, specv1.Platform{OS: "linux", Architecture: "arm64", Variant: "v7"}, "linux/arm64/v7, image is linux/arm64/v8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPlatform(&tc.want, &tc.other)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkPlatform() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrPlatformMismatch) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkPlatform() = %v, want %q wrapping ErrPlatformMismatch", err, tc.wantErr)
			}
		})
	}
}

func TestBlobWrite(t *testing.T) {
	good, err := newBlob(specv1.MediaTypeImageConfig, map[string]string{"b": "2", "a": "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(good.Data) != `{"a":"1","b":"2"}` {
		t.Fatalf("data = %s", good.Data)
	}
	badDigest := good
	badDigest.Descriptor.Digest = digest.FromString("other")
	badSize := good
	badSize.Descriptor.Size++
	for _, tc := range []struct {
		name    string
		blob    Blob
		wantErr bool
	}{
		{"good", good, false},
		{"digest mismatch", badDigest, true},
		{"size mismatch", badSize, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data, desc, dg := filepath.Join(dir, "data"), filepath.Join(dir, "desc"), filepath.Join(dir, "digest")
			err := tc.blob.Write(data, desc, dg)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), data) {
					t.Fatalf("Write() = %v, want an error naming %s", err, data)
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("files left after the error: %v", ents)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(data)
			if fmt.Sprintf("sha256:%x", sha256.Sum256(b)) != string(good.Descriptor.Digest) {
				t.Errorf("data file does not match the descriptor")
			}
			b, _ = os.ReadFile(dg)
			if string(b) != string(good.Descriptor.Digest) {
				t.Errorf("digest file = %q", b)
			}
			var d specv1.Descriptor
			b, _ = os.ReadFile(desc)
			if err := json.Unmarshal(b, &d); err != nil || d.Digest != good.Descriptor.Digest || d.Size != good.Descriptor.Size || d.MediaType != specv1.MediaTypeImageConfig {
				t.Errorf("descriptor file = %s (%v)", b, err)
			}
		})
	}
}

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
