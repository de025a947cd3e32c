package deploy

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateRegistry(t *testing.T) {
	for _, tc := range []struct {
		host    string
		wantErr string // "" for valid
	}{
		{"ghcr.io", ""},
		{"127.0.0.1:5000", ""},
		{"localhost", ""},
		{"localhost:1", ""},
		{"my-registry.example.com:65535", ""},
		{"[::1]:5000", ""},
		{"[::1]", ""},
		{"REGISTRY.Example.COM", ""},
		{"not a host:99999", `registry "not a host:99999": "not a host" is not a valid host name label`},
		{"host:99999", `port "99999" is not a number from 1 to 65535`},
		{"host:0", `port "0"`},
		{"host:", "empty port"},
		{"host:+80", `port "+80"`},
		{":5000", "empty host name"},
		{"", "empty"},
		{"-bad.io", `"-bad" is not a valid host name label`},
		{"bad..io", `"" is not a valid host name label`},
		{"ghcr.io/org", `"io/org" is not a valid host name label`},
		{"https://ghcr.io", `registry "https://ghcr.io"`},
		{"[::1", "unclosed ["},
		{"[127.0.0.1]:5000", "not an IPv6 address"},
		{"[::1]5000", "text after ]"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			err := ValidateRegistry(tc.host)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("ValidateRegistry(%q) = %v, want nil", tc.host, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ValidateRegistry(%q) = %v, want ErrInvalid containing %q", tc.host, err, tc.wantErr)
			}
		})
	}
}

func TestValidateRepository(t *testing.T) {
	for _, tc := range []struct {
		repo    string
		wantErr string
	}{
		{"app", ""},
		{"my-org/app", ""},
		{"a/b/c/d", ""},
		{"my_org/app.v2", ""},
		{"a__b/c---d", ""},
		{"library/ubuntu", ""},
		{"Bad/Repo", `repository "Bad/Repo": path component "Bad" has uppercase letters`},
		{"app/", "empty path component"},
		{"/app", "empty path component"},
		{"a//b", "empty path component"},
		{"-app", `path component "-app" is invalid`},
		{"app.", `path component "app." is invalid`},
		{"a___b", `path component "a___b" is invalid`},
		{"my org/app", `path component "my org" is invalid`},
		{"app:latest", `path component "app:latest" is invalid`},
		{"", "empty"},
		{strings.Repeat("a", 256), "longer than 255"},
	} {
		t.Run(tc.repo, func(t *testing.T) {
			err := ValidateRepository(tc.repo)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("ValidateRepository(%q) = %v, want nil", tc.repo, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ValidateRepository(%q) = %v, want ErrInvalid containing %q", tc.repo, err, tc.wantErr)
			}
		})
	}
}

func TestValidateDestination(t *testing.T) {
	for _, tc := range []struct {
		name, registry, repo string
		tags                 []string
		wantErr              string
	}{
		{"tags", "ghcr.io", "org/app", []string{"latest", "v1.2.3", "_x", "A-b"}, ""},
		{"digest only", "ghcr.io", "org/app", nil, ""},
		{"same tag twice", "ghcr.io", "org/app", []string{"v1", "v1"}, ""},
		{"empty tag", "ghcr.io", "org/app", []string{""}, `tag ""`},
		{"tag with colon", "ghcr.io", "org/app", []string{"a:b"}, `tag "a:b"`},
		{"long tag", "ghcr.io", "org/app", []string{strings.Repeat("t", 129)}, "tag"},
		{"bad registry first", "not a host:99999", "Bad/Repo", nil, `registry "not a host:99999"`},
		{"bad repository", "ghcr.io", "Bad/Repo", nil, `repository "Bad/Repo"`},
		{"name too long", "ghcr.io", strings.Repeat("a", 250), nil, "more than 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateDestination(tc.registry, tc.repo, tc.tags)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("ValidateDestination() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
