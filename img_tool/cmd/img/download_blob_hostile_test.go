package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/registry"
	"github.com/rules-img/rules_img/img_tool/pkg/registry/hostiletest"
)

// TestDownloadBlobHostileRegistry runs img download-blob against a registry
// that misbehaves, with the timeouts shortened through the environment:
// each case must end with a clear error within twice the timeout that
// applies, keep the heap under 100 MiB, leave no output behind and show no
// credential.
func TestDownloadBlobHostileRegistry(t *testing.T) {
	for k, v := range map[string]string{
		registry.EnvConnectTimeout: "1", registry.EnvTLSTimeout: "1s", registry.EnvHeaderTimeout: "1s",
		registry.EnvIdleTimeout: "1s", registry.EnvTotalTimeout: "3s", registry.EnvMaxBlobSize: "1048576",
	} {
		t.Setenv(k, v)
	}
	const timeout, total, heapLimit = time.Second, 3 * time.Second, 100 << 20
	s := hostiletest.Start(t)
	cfg := s.DockerConfig(t)
	hanging := hostiletest.HangingListener(t)
	digest := s.Image.LayerDigest
	size := strconv.Itoa(len(s.Image.Layer))
	for _, tc := range []struct {
		name   string
		host   string // default: the hostile server
		mode   hostiletest.Mode
		args   []string
		want   string
		within time.Duration
	}{
		{"huge error body", "", hostiletest.HugeError, []string{"--size", size}, "HTTP 400 Bad Request", 2 * time.Second},
		{"huge blob of known size", "", hostiletest.HugeBody, []string{"--size", size}, "longer than its size of 4096 bytes", 2 * time.Second},
		{"huge blob of unknown size", "", hostiletest.HugeBody, nil, "longer than the limit of 1048576 bytes", 2 * time.Second},
		{"error echoes credentials", "", hostiletest.Echo, nil, "HTTP 404 Not Found (MANIFEST_UNKNOWN)", 2 * time.Second},
		{"text error echoes credentials", "", hostiletest.EchoText, nil, "HTTP 400 Bad Request", 2 * time.Second},
		{"403 with the password as its code", "", hostiletest.AuthEcho, nil, "access denied (403 FORBIDDEN)", 2 * time.Second},
		{"token error echoes credentials", "", hostiletest.TokenEcho, nil, "HTTP 400 Bad Request (DENIED)", 2 * time.Second},
		{"no response headers", "", hostiletest.Hang, nil, "timeout: no response headers within 1s", 2 * timeout},
		{"no answer at all", hanging, "", nil, "timeout: no response headers within 1s", 2 * timeout},
		{"body stalls", "", hostiletest.TrickleSlow, []string{"--size", size}, "the response body sent nothing for 1s", 2 * timeout},
		{"body trickles forever", "", hostiletest.TrickleFast, nil, "the fetch took longer than its budget of 3s", 2 * total},
		{"blob longer than its size", "", hostiletest.BlobLong, []string{"--size", size}, "blob " + digest + ": longer than its size of 4096 bytes", 2 * time.Second},
		{"blob shorter than its size", "", hostiletest.BlobShort, []string{"--size", size}, "blob " + digest + ": shorter than its size: 3996 bytes, want 4096", 2 * time.Second},
		{"redirect loop", "", hostiletest.RedirectLoop, []string{"--size", size}, "stopped after 10 redirects", 2 * time.Second},
		{"negative size", "", hostiletest.BlobLong, []string{"--size", "-5"}, `--size "-5": want the blob size in bytes: size -5 is negative`, time.Second},
		{"absurd size", "", hostiletest.BlobLong, []string{"--size", "2199023255552"}, "more than the limit of 1099511627776 bytes (1 TiB)", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = s.Host
			}
			repo := tc.mode.Repository()
			dir := t.TempDir()
			args := append([]string{"download-blob", "--registry", host, "--repository", repo, "--docker-config", cfg,
				"--digest", digest, "--output", filepath.Join(dir, "blob")}, tc.args...)
			var code int
			var stderr string
			u := hostiletest.Measure(func() { code, stderr = runImg(t, args...) })
			msg := strings.TrimSpace(stderr)
			t.Logf("%s: exit %d after %v, heap peak +%d KiB, allocated %d KiB: %s", tc.name, code, u.Elapsed.Round(time.Millisecond), u.PeakHeap>>10, u.Allocated>>10, msg)
			if code == 0 {
				t.Errorf("exit 0, want an error")
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q does not contain %q", msg, tc.want)
			}
			if !strings.HasPrefix(tc.want, "--size") && !strings.Contains(tc.want, "1 TiB") && !strings.Contains(msg, "registry "+host+" repository "+repo) {
				t.Errorf("stderr %q does not name registry and repository", msg)
			}
			if u.Elapsed > tc.within {
				t.Errorf("took %v, want at most %v", u.Elapsed, tc.within)
			}
			if u.PeakHeap > heapLimit {
				t.Errorf("heap grew by %d MiB, want at most %d", u.PeakHeap>>20, heapLimit>>20)
			}
			hostiletest.CheckNoSecret(t, stderr)
			hostiletest.CheckEmptyDir(t, dir)
		})
	}
}
