package progress

import "testing"

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{HumanSize(512), "512 B"},
		{HumanSize(1234), "1.2 kB"},
		{HumanSize(3_400_000), "3.4 MB"},
		{HumanSize(1_100_000_000), "1.1 GB"},
		{ShortDigest("sha256:0123456789abcdef0123"), "sha256:0123456789ab…"},
		{ShortDigest("sha256:abc"), "sha256:abc"},
		{ShortDigest("nodigest"), "nodigest"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
