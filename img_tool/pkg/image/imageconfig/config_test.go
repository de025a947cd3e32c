package imageconfig

import (
	"errors"
	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"
	"slices"
	"strings"
	"testing"
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
			got := MergeEnv(tc.env, tc.entries)
			if !slices.Equal(got, tc.want) {
				t.Errorf("MergeEnv(%q, %q) = %q, want %q", tc.env, tc.entries, got, tc.want)
			}
			if !slices.Equal(tc.env, orig) {
				t.Errorf("MergeEnv changed its input to %q", tc.env)
			}
		})
	}
}

func TestCheckPlatform(t *testing.T) {
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	armV8 := ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	for _, tc := range []struct {
		name        string
		want, other ocispec.Platform
		wantErr     string // "" for no error
	}{
		{"same", amd64, amd64, ""},
		{"other empty", amd64, ocispec.Platform{}, ""},
		{"variant only in image", armV8, ocispec.Platform{OS: "linux", Architecture: "arm64"}, ""},
		{"variant only in other", ocispec.Platform{OS: "linux", Architecture: "arm64"}, armV8, ""},
		{"architecture", amd64, armV8, "linux/arm64/v8, image is linux/amd64"},
		{"os", amd64, ocispec.Platform{OS: "windows", Architecture: "amd64"}, "windows/amd64, image is linux/amd64"},
		{"architecture only", amd64, ocispec.Platform{Architecture: "arm64"}, "linux/arm64, image is linux/amd64"},
		{"variant", armV8, ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v7"}, "linux/arm64/v7, image is linux/arm64/v8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPlatform(&tc.want, &tc.other)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckPlatform() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrPlatformMismatch) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckPlatform() = %v, want %q wrapping ErrPlatformMismatch", err, tc.wantErr)
			}
		})
	}
}
