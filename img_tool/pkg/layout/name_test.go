package layout

import "testing"

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"app", "docker.io/library/app:latest"},
		{"app:1", "docker.io/library/app:1"},
		{"user/app", "docker.io/user/app:latest"},
		{"docker.io/app:1", "docker.io/library/app:1"},
		{"index.docker.io/user/app:1", "docker.io/user/app:1"},
		{"localhost/app", "localhost/app:latest"},
		{"localhost:5000/app:v2", "localhost:5000/app:v2"},
		{"registry.local/team/app:latest", "registry.local/team/app:latest"},
		{"ghcr.io/o/app@sha256:0123", "ghcr.io/o/app@sha256:0123"},
		{"registry.local:5000/app", "registry.local:5000/app:latest"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := normalizeName(tc.in); got != tc.want {
				t.Errorf("normalizeName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
