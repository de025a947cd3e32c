package metadata_test

import (
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

func TestArtifactBlob(t *testing.T) {
	const (
		a = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
		b = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	)
	for _, tc := range []struct {
		name, mediaType, diffID string
		want                    bool
		wantErr                 string
	}{
		{"text file", "text/plain", a, true, ""},
		{"vendor type with suffix", "application/vnd.example.config.v1+json", a, true, ""},
		{"diff_id differs from digest", "text/plain", b, false, "is not a layer media type"},
		{"parameters", "text/plain; charset=utf-8", a, false, "is not a layer media type"},
		{"no subtype", "text", a, false, "is not a layer media type"},
		{"empty subtype", "text/", a, false, "is not a layer media type"},
		{"leading symbol", "+x/y", a, false, "is not a layer media type"},
		{"two slashes", "a/b/c", a, false, "is not a layer media type"},
		{"too long", "application/" + strings.Repeat("x", 128), a, false, "is not a layer media type"},
		{"tar layer is no artifact", metadata.MediaTypeTar, a, false, ""},
		{"attestation is no artifact", metadata.MediaTypeInToto, a, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := metadata.Layer{Name: "n", DiffID: tc.diffID, Digest: a, MediaType: tc.mediaType, Size: 5}
			if got := l.IsArtifactBlob(); got != tc.want {
				t.Errorf("IsArtifactBlob() = %v, want %v", got, tc.want)
			}
			err := l.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
