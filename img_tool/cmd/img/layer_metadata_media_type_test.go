package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/internal/blobcheck"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// layer-metadata --media-type and --diff-id-annotation, as layer_from_file
// runs it: the declared media type is recorded when the blob's compression
// agrees, diff_id annotations carry the diff_id.
func TestLayerMetadataMediaType(t *testing.T) {
	f := newFixture(t)
	blobs := map[string]string{}
	for _, format := range []string{"gzip", "zstd", "none"} {
		blobs[format] = f.o("src-" + format)
		mustRun(t, "layer", "--format", format, "--add", "/a.txt="+f.i("a.txt"), blobs[format])
	}
	for _, tc := range []struct {
		name, blob, mediaType string
		extra                 []string
		wantAnn               []string // keys whose value is the diff_id
		wantErr               []string
	}{
		{name: "detected when not given", blob: "gzip", wantAnn: nil},
		{name: "docker gzip", blob: "gzip", mediaType: metadata.MediaTypeDockerTarGzip},
		{name: "docker zstd", blob: "zstd", mediaType: metadata.MediaTypeDockerTarZstd},
		{name: "non-distributable tar", blob: "none", mediaType: metadata.MediaTypeNondistributableTar},
		{name: "diff_id annotations", blob: "gzip", mediaType: metadata.MediaTypeTarGzip,
			extra: []string{"--diff-id-annotation", "org.example.diff_id", "--diff-id-annotation", "x.uncompressed"}, wantAnn: []string{"org.example.diff_id", "x.uncompressed"}},
		{name: "compression disagrees", blob: "gzip", mediaType: metadata.MediaTypeTar,
			wantErr: []string{"//x:file", "is a gzip tar", `"application/vnd.oci.image.layer.v1.tar" says uncompressed`}},
		{name: "plain tar called zstd", blob: "none", mediaType: metadata.MediaTypeTarZstd,
			wantErr: []string{"is a uncompressed tar", "says zstd"}},
		{name: "not a tar media type", blob: "none", mediaType: "application/octet-stream",
			wantErr: []string{"//x:file", `"application/octet-stream" is not a tar layer media type`}},
		{name: "annotation given twice", blob: "gzip", extra: []string{"--annotation", "k=v", "--diff-id-annotation", "k"},
			wantErr: []string{`annotation "k" is given by both`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := f.o("md-" + strings.ReplaceAll(tc.name, " ", "_") + ".json")
			args := []string{"layer-metadata", "--name", "//x:file"}
			if tc.mediaType != "" {
				args = append(args, "--media-type", tc.mediaType)
			}
			args = append(append(args, tc.extra...), blobs[tc.blob], md)
			code, stderr := runImg(t, args...)
			if tc.wantErr != nil {
				if code == 0 {
					t.Fatalf("img %s succeeded", strings.Join(args, " "))
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr %q does not contain %q", stderr, w)
					}
				}
				if _, err := os.Stat(md); err == nil {
					t.Errorf("a failed layer-metadata left %s", md)
				}
				return
			}
			if code != 0 {
				t.Fatalf("img %s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
			want := tc.mediaType
			if want == "" {
				want = metadata.MediaTypeTarGzip
			}
			m, err := metadata.Read(md)
			if err != nil {
				t.Fatal(err)
			}
			ann := map[string]string{}
			for _, k := range tc.wantAnn {
				ann[k] = m.DiffID
			}
			if m.Name != "//x:file" || m.MediaType != want || !reflect.DeepEqual(maps(m.Annotations), ann) {
				t.Errorf("metadata: name %q, mediaType %q, annotations %v; want //x:file, %q, %v", m.Name, m.MediaType, m.Annotations, want, ann)
			}
			// The independent checker knows the OCI names of the blob's
			// compression; digest, size and diff_id do not depend on the name.
			oci := *m
			oci.MediaType = map[string]string{"gzip": metadata.MediaTypeTarGzip, "zstd": metadata.MediaTypeTarZstd, "none": metadata.MediaTypeTar}[tc.blob]
			if err := blobcheck.Check(blobs[tc.blob], oci); err != nil {
				t.Error(err)
			}
		})
	}
}
