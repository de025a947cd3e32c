//go:build !img_build_actions

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Tests of `img from-oci-layout` on layouts written by go-containerregistry
// (as `crane pull --format=oci` writes them); go-containerregistry also
// recomputes what the outputs must be. pkg/layoutimport has the error
// cases in depth.

// ggcrImage is a random image of two Docker gzip layers for os/arch.
func ggcrImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(300, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", arch
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// checkOutputs compares the outputs in dir (prefix p) with img.
func checkOutputs(t *testing.T, dir, p string, img v1.Image) {
	t.Helper()
	want, _ := img.Digest()
	if got, _ := os.ReadFile(filepath.Join(dir, p+"digest")); string(got) != want.String() {
		t.Errorf("digest %s, image %s", got, want)
	}
	raw, _ := img.RawManifest()
	if got, _ := os.ReadFile(filepath.Join(dir, p+"manifest.json")); !bytes.Equal(got, raw) {
		t.Error("manifest differs from the image's")
	}
	cfg, _ := img.RawConfigFile()
	if got, _ := os.ReadFile(filepath.Join(dir, p+"config.json")); !bytes.Equal(got, cfg) {
		t.Error("config differs from the image's")
	}
	layers, _ := img.Layers()
	for i, l := range layers {
		md, err := metadata.Read(filepath.Join(dir, p+"l"+string(rune('0'+i))+".json"))
		if err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		id, _ := l.DiffID()
		mt, _ := l.MediaType()
		if md.Digest != d.String() || md.DiffID != id.String() || md.MediaType != string(mt) {
			t.Errorf("layer %d: metadata %+v, image has %s %s %s", i, md, d, id, mt)
		}
		rc, _ := l.Compressed()
		blob, _ := io.ReadAll(rc)
		rc.Close()
		if got, _ := os.ReadFile(filepath.Join(dir, p+"l"+string(rune('0'+i))+".blob")); !bytes.Equal(got, blob) {
			t.Errorf("layer %d: blob differs", i)
		}
	}
}

func imageArgs(dir, p, platform string) []string {
	a := []string{"--platform", platform}
	for _, f := range []string{"manifest", "config", "descriptor", "digest"} {
		name := f + ".json"
		if f == "digest" {
			name = f
		}
		a = append(a, "--"+f, filepath.Join(dir, p+name))
	}
	for i := range 2 {
		n := string(rune('0' + i))
		a = append(a, "--layer-blob", filepath.Join(dir, p+"l"+n+".blob"), "--layer-metadata", filepath.Join(dir, p+"l"+n+".json"))
	}
	return a
}

func TestFromOCILayout(t *testing.T) {
	gz := string(types.DockerLayer)
	amd, arm := ggcrImage(t, "amd64"), ggcrImage(t, "arm64")

	single := filepath.Join(t.TempDir(), "single")
	lp, err := layout.Write(single, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(amd); err != nil {
		t.Fatal(err)
	}
	multi := filepath.Join(t.TempDir(), "multi")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	if lp, err = layout.Write(multi, empty.Index); err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}

	t.Run("image", func(t *testing.T) {
		out := t.TempDir()
		args := append([]string{"from-oci-layout", "--layout", single, "--name", "//x:base", "--layer-media-type", gz, "--layer-media-type", gz}, imageArgs(out, "", "linux/amd64")...)
		mustRun(t, args...)
		checkOutputs(t, out, "", amd)
	})
	t.Run("index", func(t *testing.T) {
		out := t.TempDir()
		args := []string{"from-oci-layout", "--layout", multi, "--layer-media-type", gz, "--layer-media-type", gz,
			"--index", filepath.Join(out, "index.json"), "--index-digest", filepath.Join(out, "index_digest")}
		args = append(args, imageArgs(out, "a_", "linux/amd64")...)
		args = append(args, imageArgs(out, "b_", "linux/arm64")...)
		mustRun(t, args...)
		checkOutputs(t, out, "a_", amd)
		checkOutputs(t, out, "b_", arm)
		want, _ := idx.Digest()
		if got, _ := os.ReadFile(filepath.Join(out, "index_digest")); string(got) != want.String() {
			t.Errorf("index digest %s, want the source's %s", got, want)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no layout", []string{"--platform", "linux/amd64"}, "--layout is required"},
		{"two platforms without --index", append([]string{"--layout", multi, "--layer-media-type", gz, "--layer-media-type", gz},
			append(imageArgs(t.TempDir(), "", "linux/amd64"), imageArgs(t.TempDir(), "", "linux/arm64")...)...), "without --index"},
		{"layer outputs", []string{"--layout", single, "--platform", "linux/amd64", "--manifest", "m", "--config", "c", "--layer-media-type", gz}, "want 1 each"},
		{"bad platform", append([]string{"--layout", single, "--layer-media-type", gz, "--layer-media-type", gz}, imageArgs(t.TempDir(), "", "linux")...), `platform "linux"`},
		{"wrong media types", append([]string{"--layout", single, "--layer-media-type", gz, "--layer-media-type", "application/vnd.oci.image.layer.v1.tar+gzip"},
			imageArgs(t.TempDir(), "", "linux/amd64")...), `["application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"from-oci-layout"}, tc.args...), &stdout, &stderr); code != 1 {
				t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.want)
			}
		})
	}
}
