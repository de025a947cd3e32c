package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// artifact-metadata describes a file byte for byte: digest and size of the
// file, the digest as diff_id, the declared media type and annotations.
func TestArtifactMetadata(t *testing.T) {
	f := newFixture(t)
	text := f.i("notes.txt")
	if err := os.WriteFile(text, []byte("hello, artifact\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := f.i("empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("hello, artifact\n")))
	for _, tc := range []struct {
		name, file string
		args       []string
		wantErr    []string
	}{
		{name: "text", file: text, args: []string{"--media-type", "text/plain", "--annotation", "org.opencontainers.image.title=notes.txt"}},
		{name: "vendor type", file: text, args: []string{"--media-type", "application/vnd.example.notes.v1+json"}},
		{name: "no media type", file: text, wantErr: []string{"//x:notes", "--media-type is required"}},
		{name: "tar media type", file: text, args: []string{"--media-type", metadata.MediaTypeTarGzip}, wantErr: []string{"is a tar layer media type"}},
		{name: "attestation", file: text, args: []string{"--media-type", metadata.MediaTypeInToto}, wantErr: []string{"reserved for pulled attestations"}},
		{name: "parameters", file: text, args: []string{"--media-type", "text/plain; charset=utf-8"}, wantErr: []string{`is not of the form "type/subtype"`}},
		{name: "empty file", file: empty, args: []string{"--media-type", "text/plain"}, wantErr: []string{"the file is empty"}},
		{name: "missing file", file: f.i("nope"), args: []string{"--media-type", "text/plain"}, wantErr: []string{"//x:notes", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := f.o("md-" + strings.ReplaceAll(tc.name, " ", "_") + ".json")
			args := append(append([]string{"artifact-metadata", "--name", "//x:notes"}, tc.args...), tc.file, md)
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
					t.Errorf("metadata %s written despite the error", md)
				}
				return
			}
			if code != 0 {
				t.Fatalf("img %s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
			l, err := metadata.Read(md)
			if err != nil {
				t.Fatal(err)
			}
			if l.Digest != want || l.DiffID != want || l.Size != 16 || l.MediaType != tc.args[1] || l.Name != "//x:notes" || !l.IsArtifactBlob() {
				t.Errorf("metadata = %+v, want digest and diff_id %s, size 16, media type %s", l, want, tc.args[1])
			}
			if len(tc.args) > 2 && l.Annotations["org.opencontainers.image.title"] != "notes.txt" {
				t.Errorf("annotations = %v", l.Annotations)
			}
		})
	}
}
