package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/registry/hostiletest"
)

// hostileFlags shorten the timeouts, so that the hostile tests are quick.
var hostileFlags = []string{
	"--registry-connect-timeout", "1s", "--registry-tls-timeout", "1s", "--registry-header-timeout", "1s",
	"--registry-idle-timeout", "1s", "--registry-total-timeout", "3s",
}

const (
	hostileTimeout   = time.Second
	hostileTotal     = 3 * time.Second
	hostileHeapLimit = 100 << 20
)

// TestHostileRegistry runs pull and download-blob against a registry that
// misbehaves: each must end with a clear error within twice the timeout
// that applies, keep the heap under 100 MiB, leave no output behind and
// show no credential.
func TestHostileRegistry(t *testing.T) {
	s := hostiletest.Start(t)
	cfg := s.DockerConfig(t)
	hanging := hostiletest.HangingListener(t)
	img := s.Image
	size := strconv.Itoa(len(img.Layer))
	for _, tc := range []struct {
		name   string
		host   string // default: the hostile server
		mode   hostiletest.Mode
		args   []string // after the command
		want   string
		within time.Duration
	}{
		{"pull: huge error body", "", hostiletest.HugeError, []string{"pull", "--tag", "latest"}, "manifest latest: HTTP 400 Bad Request", 2 * time.Second},
		{"pull: huge retried error bodies", "", hostiletest.HugeRetried, []string{"pull", "--tag", "latest"}, "the fetch took longer than its budget of 3s", 2 * hostileTotal},
		{"pull: huge manifest", "", hostiletest.HugeBody, []string{"pull", "--tag", "latest"}, "manifest latest: larger than 33554432 bytes", 2 * time.Second},
		{"pull: error echoes credentials", "", hostiletest.Echo, []string{"pull", "--tag", "latest"}, "manifest latest: HTTP 404 Not Found (MANIFEST_UNKNOWN)", 2 * time.Second},
		{"pull: text error echoes credentials", "", hostiletest.EchoText, []string{"pull", "--tag", "latest"}, "manifest latest: HTTP 400 Bad Request", 2 * time.Second},
		{"pull: 403 with the password as its code", "", hostiletest.AuthEcho, []string{"pull", "--tag", "latest"}, "access denied (403 FORBIDDEN)", 2 * time.Second},
		{"pull: token error echoes credentials", "", hostiletest.TokenEcho, []string{"pull", "--tag", "latest"}, "HTTP 400 Bad Request (DENIED)", 2 * time.Second},
		{"pull: no response headers", "", hostiletest.Hang, []string{"pull", "--tag", "latest"}, "timeout: no response headers within 1s", 2 * hostileTimeout},
		{"pull: no answer at all", hanging, "", []string{"pull", "--tag", "latest"}, "timeout: no response headers within 1s", 2 * hostileTimeout},
		{"pull: manifest stalls", "", hostiletest.TrickleSlow, []string{"pull", "--tag", "latest"}, "the response body sent nothing for 1s", 2 * hostileTimeout},
		{"pull: manifest trickles forever", "", hostiletest.TrickleFast, []string{"pull", "--tag", "latest"}, "the fetch took longer than its budget of 3s", 2 * hostileTotal},
		{"pull: layer longer than its size", "", hostiletest.BlobLong, []string{"pull", "--tag", "latest", "--layer-handling", "eager"}, "blob " + img.LayerDigest + ": longer than its size of 4096 bytes", 2 * time.Second},
		{"pull: layer shorter than its size", "", hostiletest.BlobShort, []string{"pull", "--tag", "latest", "--layer-handling", "eager"}, "blob " + img.LayerDigest + ": shorter than its size: 3996 bytes, want 4096", 2 * time.Second},
		{"pull: negative layer size", "", hostiletest.NegativeSize, []string{"pull", "--tag", "latest"}, "layer 0 (" + img.LayerDigest + "): size -5 is negative", 2 * time.Second},
		{"pull: absurd layer size", "", hostiletest.AbsurdSize, []string{"pull", "--tag", "latest"}, "size 2199023255552 is more than the limit of 1099511627776 bytes (1 TiB)", 2 * time.Second},
		{"pull: redirect loop", "", hostiletest.RedirectLoop, []string{"pull", "--tag", "latest"}, "stopped after 10 redirects", 2 * time.Second},

		{"download-blob: huge error body", "", hostiletest.HugeError, []string{"download-blob", "--digest", img.LayerDigest, "--size", size}, "HTTP 400 Bad Request", 2 * time.Second},
		{"download-blob: huge blob of known size", "", hostiletest.HugeBody, []string{"download-blob", "--digest", img.LayerDigest, "--size", size}, "longer than its size of 4096 bytes", 2 * time.Second},
		{"download-blob: huge blob of unknown size", "", hostiletest.HugeBody, []string{"download-blob", "--digest", img.LayerDigest, "--max-blob-size", "1048576"}, "longer than the limit of 1048576 bytes", 2 * time.Second},
		{"download-blob: error echoes credentials", "", hostiletest.Echo, []string{"download-blob", "--digest", img.LayerDigest}, "HTTP 404 Not Found (MANIFEST_UNKNOWN)", 2 * time.Second},
		{"download-blob: text error echoes credentials", "", hostiletest.EchoText, []string{"download-blob", "--digest", img.LayerDigest}, "HTTP 400 Bad Request", 2 * time.Second},
		{"download-blob: 403 with the password as its code", "", hostiletest.AuthEcho, []string{"download-blob", "--digest", img.LayerDigest}, "access denied (403 FORBIDDEN)", 2 * time.Second},
		{"download-blob: token error echoes credentials", "", hostiletest.TokenEcho, []string{"download-blob", "--digest", img.LayerDigest}, "HTTP 400 Bad Request (DENIED)", 2 * time.Second},
		{"download-blob: no response headers", "", hostiletest.Hang, []string{"download-blob", "--digest", img.LayerDigest}, "timeout: no response headers within 1s", 2 * hostileTimeout},
		{"download-blob: body stalls", "", hostiletest.TrickleSlow, []string{"download-blob", "--digest", img.LayerDigest, "--size", size}, "the response body sent nothing for 1s", 2 * hostileTimeout},
		{"download-blob: body trickles forever", "", hostiletest.TrickleFast, []string{"download-blob", "--digest", img.LayerDigest}, "the fetch took longer than its budget of 3s", 2 * hostileTotal},
		{"download-blob: blob longer than its size", "", hostiletest.BlobLong, []string{"download-blob", "--digest", img.LayerDigest, "--size", size}, "blob " + img.LayerDigest + ": longer than its size of 4096 bytes", 2 * time.Second},
		{"download-blob: blob shorter than its size", "", hostiletest.BlobShort, []string{"download-blob", "--digest", img.LayerDigest, "--size", size}, "blob " + img.LayerDigest + ": shorter than its size: 3996 bytes, want 4096", 2 * time.Second},
		{"download-blob: redirect loop", "", hostiletest.RedirectLoop, []string{"download-blob", "--digest", img.LayerDigest, "--size", size}, "stopped after 10 redirects", 2 * time.Second},
		{"download-blob: negative size", "", hostiletest.BlobLong, []string{"download-blob", "--digest", img.LayerDigest, "--size", "-5"}, "--size: size -5 is negative", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = s.Host
			}
			repo := tc.mode.Repository()
			dir := t.TempDir()
			args := append(append([]string{}, tc.args...), "--registry", host, "--repository", repo, "--docker-config", cfg, "--output", filepath.Join(dir, "out"))
			args = append(args, hostileFlags...)
			var stdout, stderr bytes.Buffer
			var code int
			u := hostiletest.Measure(func() { code = run(context.Background(), args, &stdout, &stderr) })
			msg := strings.TrimSpace(stderr.String())
			t.Logf("%s: exit %d after %v, heap peak +%d KiB, allocated %d KiB: %s", tc.name, code, u.Elapsed.Round(time.Millisecond), u.PeakHeap>>10, u.Allocated>>10, msg)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q does not contain %q", msg, tc.want)
			}
			if tc.args[len(tc.args)-1] != "-5" && !strings.Contains(msg, "registry "+host+" repository "+repo) {
				t.Errorf("stderr %q does not name registry and repository", msg)
			}
			if u.Elapsed > tc.within {
				t.Errorf("took %v, want at most %v", u.Elapsed, tc.within)
			}
			if u.PeakHeap > hostileHeapLimit {
				t.Errorf("heap grew by %d MiB, want at most %d", u.PeakHeap>>20, hostileHeapLimit>>20)
			}
			hostiletest.CheckNoSecret(t, stdout.String(), stderr.String())
			hostiletest.CheckEmptyDir(t, dir)
		})
	}
}

// TestHostileRegistryProcess runs the built pull_tool against the worst
// cases for memory and time and checks the process's peak RSS, which
// includes what the in-process heap samples might miss.
func TestHostileRegistryProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pull_tool")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the peak RSS in the Linux unit")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "pull_tool")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := hostiletest.Start(t)
	cfg := s.DockerConfig(t)
	img := s.Image
	const rssLimit = 100 << 20
	for _, tc := range []struct {
		name   string
		mode   hostiletest.Mode
		args   []string
		want   string
		within time.Duration
	}{
		{"pull: huge error body", hostiletest.HugeError, []string{"pull", "--tag", "latest"}, "HTTP 400 Bad Request", 2 * time.Second},
		{"pull: huge manifest", hostiletest.HugeBody, []string{"pull", "--tag", "latest"}, "larger than 33554432 bytes", 2 * time.Second},
		{"pull: error echoes credentials", hostiletest.Echo, []string{"pull", "--tag", "latest"}, "HTTP 404 Not Found (MANIFEST_UNKNOWN)", 2 * time.Second},
		{"download-blob: huge blob of unknown size", hostiletest.HugeBody, []string{"download-blob", "--digest", img.LayerDigest}, "longer than the limit of 33554432 bytes", 2 * time.Second},
		{"download-blob: body stalls", hostiletest.TrickleSlow, []string{"download-blob", "--digest", img.LayerDigest}, "the response body sent nothing for 1s", 2 * hostileTimeout},
		{"download-blob: body trickles forever", hostiletest.TrickleFast, []string{"download-blob", "--digest", img.LayerDigest}, "the fetch took longer than its budget of 3s", 2 * hostileTotal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			repo := tc.mode.Repository()
			args := append(append([]string{}, tc.args...), "--registry", s.Host, "--repository", repo, "--docker-config", cfg,
				"--output", filepath.Join(dir, "out"), "--max-blob-size", "33554432")
			args = append(args, hostileFlags...)
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			elapsed := time.Since(start)
			rss := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10 // KiB on Linux
			msg := strings.TrimSpace(stderr.String())
			t.Logf("%s: %v after %v, max RSS %d MiB: %s", tc.name, err, elapsed.Round(time.Millisecond), rss>>20, msg)
			if err == nil {
				t.Errorf("pull_tool succeeded, want an error")
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q does not contain %q", msg, tc.want)
			}
			if elapsed > tc.within+time.Second { // + process start
				t.Errorf("took %v, want at most %v", elapsed, tc.within)
			}
			if rss > rssLimit {
				t.Errorf("max RSS %d MiB, want at most %d", rss>>20, rssLimit>>20)
			}
			hostiletest.CheckNoSecret(t, stdout.String(), stderr.String())
			hostiletest.CheckEmptyDir(t, dir)
		})
	}
}
