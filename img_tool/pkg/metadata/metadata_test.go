package metadata_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

const (
	d1 = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	d2 = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func TestValidDigest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{d1, true},
		{"sha256:" + strings.Repeat("0", 64), true},
		{"sha256:" + strings.Repeat("A", 64), false},
		{"sha256:" + strings.Repeat("0", 63), false},
		{"sha256:" + strings.Repeat("0", 65), false},
		{"sha256:" + strings.Repeat("g", 64), false},
		{"sha512:" + strings.Repeat("0", 64), false},
		{strings.Repeat("0", 64), false},
		{"", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := metadata.ValidDigest(tc.in); got != tc.want {
				t.Errorf("ValidDigest(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   metadata.Layer
		want string
	}{
		{
			name: "nil annotations become an empty object",
			in:   metadata.Layer{Name: "//app:layer", DiffID: d1, MediaType: metadata.MediaTypeTarGzip, Digest: d2, Size: 42},
			want: `{
  "name": "//app:layer",
  "diff_id": "` + d1 + `",
  "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
  "digest": "` + d2 + `",
  "size": 42,
  "annotations": {}
}
`,
		},
		{
			name: "annotations sorted",
			in: metadata.Layer{Name: "n", DiffID: d1, MediaType: metadata.MediaTypeTarGzip, Digest: d1, Size: 1024,
				Annotations: map[string]string{"z": "1", "a": "2", metadata.AnnotationTOCDigest: d2}},
			want: `{
  "name": "n",
  "diff_id": "` + d1 + `",
  "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
  "digest": "` + d1 + `",
  "size": 1024,
  "annotations": {
    "a": "2",
    "containerd.io/snapshot/stargz/toc.digest": "` + d2 + `",
    "z": "1"
  }
}
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "layer.json")
			in := tc.in
			if err := metadata.Write(p, &in); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Write() wrote\n%s\nwant\n%s", got, tc.want)
			}
			back, err := metadata.Read(p)
			if err != nil {
				t.Fatalf("Read() = %v", err)
			}
			want := tc.in
			if want.Annotations == nil {
				want.Annotations = map[string]string{}
			}
			if !reflect.DeepEqual(*back, want) {
				t.Errorf("Read() = %+v, want %+v", *back, want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("output directory holds %d files, want only layer.json", len(ents))
			}
		})
	}
}

func TestRead(t *testing.T) {
	valid := `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + d2 + `","size":1,"annotations":{}}`
	for _, tc := range []struct {
		name    string
		content string
		wantMsg string // "" means success
	}{
		{"valid", valid, ""},
		{"without annotations", `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + d2 + `","size":1}`, ""},
		{"unknown field", strings.Replace(valid, `"size"`, `"urls":[],"size"`, 1), "urls"},
		{"bad digest", strings.Replace(valid, d2, "sha256:abc", 1), "digest"},
		{"uppercase diff_id", strings.Replace(valid, d1, strings.ToUpper(d1), 1), "diff_id"},
		{"negative size", strings.Replace(valid, `"size":1`, `"size":-1`, 1), "size"},
		{"empty mediaType", strings.Replace(valid, `"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"`, `"mediaType":""`, 1), "mediaType"},
		{"size as string", strings.Replace(valid, `"size":1`, `"size":"1"`, 1), "size"},
		{"not JSON", "name: n", "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "layer.json")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := metadata.Read(p)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("Read() = %v", err)
				}
				if l.Digest != d2 || l.DiffID != d1 || l.Size != 1 || l.Name != "n" || l.MediaType != metadata.MediaTypeTarGzip {
					t.Errorf("Read() = %+v", *l)
				}
				return
			}
			if err == nil {
				t.Fatalf("Read() succeeded, want an error about %s", tc.wantMsg)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not name %s and %s", err, p, tc.wantMsg)
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	_, err := metadata.Read(filepath.Join(t.TempDir(), "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read() = %v, want %v", err, fs.ErrNotExist)
	}
}

func TestValidate(t *testing.T) {
	good := metadata.Layer{DiffID: d1, Digest: d2, MediaType: metadata.MediaTypeTarZstd, Size: 10}
	for _, tc := range []struct {
		name   string
		modify func(l *metadata.Layer)
		ok     bool
	}{
		{"good", func(*metadata.Layer) {}, true},
		{"zero size", func(l *metadata.Layer) { l.Size = 0 }, false},
		{"negative size", func(l *metadata.Layer) { l.Size = -1 }, false},
		{"empty digest", func(l *metadata.Layer) { l.Digest = "" }, false},
		{"empty diff_id", func(l *metadata.Layer) { l.DiffID = "" }, false},
		{"empty mediaType", func(l *metadata.Layer) { l.MediaType = "" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := good
			tc.modify(&l)
			if err := l.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
