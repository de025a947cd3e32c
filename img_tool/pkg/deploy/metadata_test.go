package deploy

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestNewDispatch(t *testing.T) {
	l1, l2, l3 := testLayer(t, 1, 300), testLayer(t, 2, 300), testLayer(t, 3, 300)
	img1, img2 := testImage(t, l1, l2), testImage(t, l1, l3)
	idx := testIndex(t, img1, img2)
	raw := func(m interface{ RawManifest() ([]byte, error) }) []byte { return must[[]byte](t)(m.RawManifest()) }
	hexOf := func(l v1.Layer) string { return must[v1.Hash](t)(l.Digest()).Hex }
	descOf := func(data []byte, mt string) Descriptor {
		return Descriptor{MediaType: mt, Digest: digestOf(data), Size: int64(len(data))}
	}
	infoOf := func(img v1.Image, missing ...string) ManifestInfo {
		m := must[*v1.Manifest](t)(img.Manifest())
		mi := ManifestInfo{
			Descriptor:   descOf(raw(img), "application/vnd.oci.image.manifest.v1+json"),
			Config:       Descriptor{MediaType: string(m.Config.MediaType), Digest: m.Config.Digest.String(), Size: m.Config.Size},
			MissingBlobs: missing,
		}
		for _, l := range m.Layers {
			mi.LayerBlobs = append(mi.LayerBlobs, Descriptor{MediaType: string(l.MediaType), Digest: l.Digest.String(), Size: l.Size})
		}
		return mi
	}
	pushConf := []byte(`{"registry":"127.0.0.1:5000","repository":"org/app","tags":["latest","","v1","latest"]}`)

	for _, tc := range []struct {
		name    string
		in      Inputs
		want    *Dispatch
		wantErr string
	}{
		{
			name: "manifest push",
			in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
				MissingBlobs: map[int][]string{0: {hexOf(l1)}}, Configuration: pushConf,
				OriginalRegistries: []string{"index.docker.io"}, OriginalRepository: "library/base", OriginalTag: "1", OriginalDigest: "sha256:" + hexA},
			want: &Dispatch{Settings: Settings{PushStrategy: "eager"}, Operations: []Operation{{
				Command: "push", RootKind: "manifest", Root: descOf(raw(img1), "application/vnd.oci.image.manifest.v1+json"),
				Manifests:          []ManifestInfo{infoOf(img1, hexOf(l1))},
				OriginalRegistries: []string{"index.docker.io"}, OriginalRepository: "library/base", OriginalTag: "1", OriginalDigest: "sha256:" + hexA,
				Registry: "127.0.0.1:5000", Repository: "org/app", Tags: []string{"latest", "v1"},
			}}},
		},
		{
			name: "index over two pulled bases",
			in: Inputs{Command: "push", RootKind: "index", Root: raw(idx), Manifests: [][]byte{raw(img1), raw(img2)},
				MissingBlobs: map[int][]string{1: {hexOf(l1)}}, Configuration: pushConf,
				OriginalRegistries: []string{"index.docker.io"}, OriginalRepository: "library/base",
				ManifestOrigins: map[int]BaseOrigin{
					0: {Registries: []string{"index.docker.io"}, Repository: "library/base"},
					1: {Registries: []string{"mirror.example", "ghcr.io"}, Repository: "org/other-base"},
				}},
			want: &Dispatch{Settings: Settings{PushStrategy: "eager"}, Operations: []Operation{{
				Command: "push", RootKind: "index", Root: descOf(raw(idx), "application/vnd.oci.image.index.v1+json"),
				Manifests: []ManifestInfo{infoOf(img1), func() ManifestInfo {
					mi := infoOf(img2, hexOf(l1))
					mi.OriginalRegistries, mi.OriginalRepository = []string{"mirror.example", "ghcr.io"}, "org/other-base"
					return mi
				}()},
				OriginalRegistries: []string{"index.docker.io"}, OriginalRepository: "library/base",
				Registry: "127.0.0.1:5000", Repository: "org/app", Tags: []string{"latest", "v1"},
			}}},
		},
		{
			name: "index push by digest",
			in: Inputs{Command: "push", RootKind: "index", Root: raw(idx), Manifests: [][]byte{raw(img1), raw(img2)},
				MissingBlobs:  map[int][]string{1: {"sha256:" + hexOf(l1), hexOf(l1)}},
				Configuration: []byte(`{"registry":"ghcr.io","repository":"org/app","tags":[]}`), Strategy: "lazy"},
			want: &Dispatch{Settings: Settings{PushStrategy: "lazy"}, Operations: []Operation{{
				Command: "push", RootKind: "index", Root: descOf(raw(idx), "application/vnd.oci.image.index.v1+json"),
				Manifests: []ManifestInfo{infoOf(img1), infoOf(img2, hexOf(l1))},
				Registry:  "ghcr.io", Repository: "org/app",
			}}},
		},
		{
			name: "load",
			in: Inputs{Command: "load", Target: "//app:load", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
				Configuration: []byte(`{"tag":"app:latest","daemon":"containerd"}`)},
			want: &Dispatch{Settings: Settings{LoadStrategy: "eager"}, Operations: []Operation{{
				Command: "load", Target: "//app:load", RootKind: "manifest", Root: descOf(raw(img1), "application/vnd.oci.image.manifest.v1+json"),
				Manifests: []ManifestInfo{infoOf(img1)}, Tags: []string{"app:latest"}, Daemon: "containerd",
			}}},
		},
		{
			name: "load, tag and tags",
			in: Inputs{Command: "load", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
				Configuration: []byte(`{"tag":"app:1","tags":["app:2","","app:1","{{.USER}}"],"daemon":"docker"}`)},
			want: &Dispatch{Settings: Settings{LoadStrategy: "eager"}, Operations: []Operation{{
				Command: "load", RootKind: "manifest", Root: descOf(raw(img1), "application/vnd.oci.image.manifest.v1+json"),
				Manifests: []ManifestInfo{infoOf(img1)}, Tags: []string{"app:1", "app:2", "{{.USER}}"}, Daemon: "docker",
			}}},
		},
		{
			name: "load without a name",
			in: Inputs{Command: "load", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
				Configuration: []byte(`{"tag":"","tags":[],"daemon":"docker"}`)},
			want: &Dispatch{Settings: Settings{LoadStrategy: "eager"}, Operations: []Operation{{
				Command: "load", RootKind: "manifest", Root: descOf(raw(img1), "application/vnd.oci.image.manifest.v1+json"),
				Manifests: []ManifestInfo{infoOf(img1)}, Daemon: "docker",
			}}},
		},
		{
			name: "push without destination, templates",
			in: Inputs{Command: "push", Target: "//app:push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
				Configuration: []byte(`{"registry":"","repository":"","tags":["{{.STABLE_GIT_COMMIT}}","v-{{.BUILD_TIMESTAMP}}"]}`)},
			want: &Dispatch{Settings: Settings{PushStrategy: "eager"}, Operations: []Operation{{
				Command: "push", Target: "//app:push", RootKind: "manifest", Root: descOf(raw(img1), "application/vnd.oci.image.manifest.v1+json"),
				Manifests: []ManifestInfo{infoOf(img1)}, Tags: []string{"{{.STABLE_GIT_COMMIT}}", "v-{{.BUILD_TIMESTAMP}}"},
			}}},
		},
		{name: "bad command", in: Inputs{Command: "copy"}, wantErr: `command "copy"`},
		{name: "bad push strategy", in: Inputs{Command: "push", Strategy: "fast"}, wantErr: `push strategy "fast"`},
		{name: "bes load", in: Inputs{Command: "load", Strategy: "bes"}, wantErr: `load strategy "bes"`},
		{name: "bad root kind", in: Inputs{Command: "push", RootKind: "image", Root: raw(img1), Manifests: [][]byte{raw(img1)}, Configuration: pushConf}, wantErr: `root kind "image"`},
		{name: "index as manifest", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(idx), Manifests: [][]byte{raw(idx)}, Configuration: pushConf}, wantErr: "an index"},
		{name: "manifest differs from root", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img2)}, Configuration: pushConf}, wantErr: "manifest 0 is"},
		{name: "index order", in: Inputs{Command: "push", RootKind: "index", Root: raw(idx), Manifests: [][]byte{raw(img2), raw(img1)}, Configuration: pushConf}, wantErr: "the index lists"},
		{name: "index count", in: Inputs{Command: "push", RootKind: "index", Root: raw(idx), Manifests: [][]byte{raw(img1)}, Configuration: pushConf}, wantErr: "root index has 2 manifests, 1 manifest files given"},
		{name: "no manifests", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Configuration: pushConf}, wantErr: "no manifest given"},
		{name: "missing blob not a layer", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			MissingBlobs: map[int][]string{0: {hexOf(l3)}}, Configuration: pushConf}, wantErr: "is not a layer"},
		{name: "missing blobs of no manifest", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			MissingBlobs: map[int][]string{3: {hexOf(l1)}}, Configuration: pushConf}, wantErr: "missing blobs for manifest 3"},
		{name: "bad repository", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: []byte(`{"registry":"ghcr.io","repository":"Bad/Repo","tags":["v1"]}`)}, wantErr: `repository "Bad/Repo"`},
		{name: "bad registry", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: []byte(`{"registry":"not a host:99999","repository":"org/app"}`)}, wantErr: `registry "not a host:99999"`},
		{name: "unknown configuration field", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: []byte(`{"registry":"ghcr.io","repository":"org/app","tag":"v1"}`)}, wantErr: `unknown field "tag"`},
		{name: "load without daemon", in: Inputs{Command: "load", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: []byte(`{"tag":"app:latest"}`)}, wantErr: `non-empty "daemon"`},
		{name: "bad load name", in: Inputs{Command: "load", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: []byte(`{"tags":["Invalid:Tag!"],"daemon":"docker"}`)}, wantErr: `tag "Invalid:Tag!"`},
		{name: "bad tag beside a template", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: []byte(`{"registry":"{{.REGISTRY}}","repository":"org/app","tags":["{{.V}}","-bad"]}`)}, wantErr: `tag "-bad"`},
		{name: "target with a line break", in: Inputs{Command: "push", Target: "//app:push\n", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: pushConf}, wantErr: "a label has no line breaks"},
		{name: "bad original registry", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: pushConf, OriginalRegistries: []string{"docker.io/library"}}, wantErr: "original_registries"},
		{name: "base origin of no manifest", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: pushConf, ManifestOrigins: map[int]BaseOrigin{2: {Registries: []string{"r.example"}, Repository: "base"}}}, wantErr: "base origin for manifest 2"},
		{name: "bad manifest base repository", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: pushConf, ManifestOrigins: map[int]BaseOrigin{0: {Registries: []string{"r.example"}, Repository: "Bad"}}}, wantErr: "manifest 0: original_repository"},
		{name: "manifest base without registries", in: Inputs{Command: "push", RootKind: "manifest", Root: raw(img1), Manifests: [][]byte{raw(img1)},
			Configuration: pushConf, ManifestOrigins: map[int]BaseOrigin{0: {Repository: "base"}}}, wantErr: "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewDispatch(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("NewDispatch() = %v, want ErrInvalid containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("NewDispatch() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}
