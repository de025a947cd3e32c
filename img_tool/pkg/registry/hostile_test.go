package registry

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/registry/hostiletest"
)

// hostileTimeouts are short, so that the hostile tests are quick.
var hostileTimeouts = Timeouts{Connect: time.Second, TLS: time.Second, Header: time.Second, Idle: time.Second, Total: 3 * time.Second}

// hostileHeapLimit bounds the heap growth of one fetch from a hostile
// registry.
const hostileHeapLimit = 100 << 20

func TestHostileRegistry(t *testing.T) {
	s := hostiletest.Start(t)
	cfg := s.DockerConfig(t)
	hanging := hostiletest.HangingListener(t)
	img := s.Image
	const unknown = -1
	for _, tc := range []struct {
		name string
		host string // default: the hostile server
		mode hostiletest.Mode
		// op is "manifest" (by tag), or "blob" (the layer, size from
		// blobSize).
		op       string
		blobSize int64
		want     string
		within   time.Duration
	}{
		{"huge error body, manifest", "", hostiletest.HugeError, "manifest", 0, "manifest latest: HTTP 400 Bad Request", 2 * time.Second},
		{"huge error body, blob", "", hostiletest.HugeError, "blob", 4096, "HTTP 400 Bad Request", 2 * time.Second},
		{"huge retried error bodies", "", hostiletest.HugeRetried, "manifest", 0, "the fetch took longer than its budget of 3s", 2 * hostileTimeouts.Total},
		{"huge manifest", "", hostiletest.HugeBody, "manifest", 0, "larger than 33554432 bytes", 2 * time.Second},
		{"huge blob of known size", "", hostiletest.HugeBody, "blob", 4096, "longer than its size of 4096 bytes", 2 * time.Second},
		{"huge blob of unknown size", "", hostiletest.HugeBody, "blob", unknown, "longer than the limit of 1048576 bytes", 2 * time.Second},
		{"error echoes credentials", "", hostiletest.Echo, "manifest", 0, "manifest latest: HTTP 404 Not Found (MANIFEST_UNKNOWN)", 2 * time.Second},
		{"text error echoes credentials", "", hostiletest.EchoText, "blob", 4096, "HTTP 400 Bad Request", 2 * time.Second},
		{"403 with the password as its code", "", hostiletest.AuthEcho, "manifest", 0, "access denied (403 FORBIDDEN)", 2 * time.Second},
		{"token error echoes credentials", "", hostiletest.TokenEcho, "manifest", 0, "HTTP 400 Bad Request (DENIED)", 2 * time.Second},
		{"no response headers", "", hostiletest.Hang, "manifest", 0, "timeout: no response headers within 1s", 2 * hostileTimeouts.Header},
		{"no answer at all", hanging, "", "manifest", 0, "timeout: no response headers within 1s", 2 * hostileTimeouts.Header},
		{"body stalls", "", hostiletest.TrickleSlow, "blob", 4096, "the response body sent nothing for 1s", 2 * hostileTimeouts.Idle},
		{"body trickles forever", "", hostiletest.TrickleFast, "blob", unknown, "the fetch took longer than its budget of 3s", 2 * hostileTimeouts.Total},
		{"blob longer than its size", "", hostiletest.BlobLong, "blob", 4096, "blob " + img.LayerDigest + ": longer than its size of 4096 bytes", 2 * time.Second},
		{"blob shorter than its size", "", hostiletest.BlobShort, "blob", 4096, "blob " + img.LayerDigest + ": shorter than its size: 3996 bytes, want 4096", 2 * time.Second},
		{"negative size", "", hostiletest.NegativeSize, "blob", -5, "size -5 is negative", time.Second},
		{"absurd size", "", hostiletest.AbsurdSize, "blob", 2 << 40, "is more than the limit of 1099511627776 bytes (1 TiB)", time.Second},
		{"redirect loop", "", hostiletest.RedirectLoop, "blob", 4096, "stopped after 10 redirects", 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = s.Host
			}
			repoName := tc.mode.Repository()
			c, err := New(WithConfigDir(cfg), WithTimeouts(hostileTimeouts), WithMaxBlobSize(1<<20),
				WithRetryBackoff(DefaultBackoff))
			if err != nil {
				t.Fatal(err)
			}
			var ferr error
			u := hostiletest.Measure(func() {
				_, ferr = c.Fetch(context.Background(), []string{host}, func(ctx context.Context, host string) error {
					repo, err := c.Repository(host, repoName)
					if err != nil {
						return err
					}
					if tc.op == "manifest" {
						_, err := repo.Manifest(ctx, "latest")
						return err
					}
					rc, err := repo.Blob(ctx, img.LayerDigest, tc.blobSize)
					if err != nil {
						return err
					}
					defer rc.Close()
					_, err = io.Copy(io.Discard, rc)
					return err
				})
			})
			t.Logf("%s: %v, heap peak +%d KiB, allocated %d KiB: %v", tc.name, u.Elapsed.Round(time.Millisecond), u.PeakHeap>>10, u.Allocated>>10, ferr)
			if ferr == nil {
				t.Fatal("fetch succeeded, want an error")
			}
			msg := ferr.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if !strings.Contains(msg, "registry "+host+" repository "+repoName) {
				t.Errorf("error %q does not name registry and repository", msg)
			}
			if u.Elapsed > tc.within {
				t.Errorf("took %v, want at most %v", u.Elapsed, tc.within)
			}
			if u.PeakHeap > hostileHeapLimit {
				t.Errorf("heap grew by %d MiB, want at most %d", u.PeakHeap>>20, hostileHeapLimit>>20)
			}
			hostiletest.CheckNoSecret(t, msg)
		})
	}
}

func TestScrub(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct{ in, want string }{
		{"Authorization: Basic " + hostiletest.BasicAuth, "Authorization: REDACTED"},
		{`"Authorization":["Bearer abc.def.ghi"]`, `"Authorization":["REDACTED"]`},
		{"token Bearer " + hostiletest.Token + " end", "token Bearer REDACTED end"},
		{"https://u:p@example.com/x", "https://REDACTED@example.com/x"},
		{"GET https://h/v2/r/blobs/x?X-Amz-Signature=abcdef&password=" + hostiletest.Password, "GET https://h/v2/r/blobs/x?X-Amz-Signature=REDACTED&password=REDACTED"},
		{"leaked " + hostiletest.BasicAuth, "leaked REDACTED"},
		{"blob " + digest + ": longer than its size", "blob " + digest + ": longer than its size"},
		{"registry index.docker.io repository library/ubuntu: manifest latest: HTTP 404 Not Found (MANIFEST_UNKNOWN)", "registry index.docker.io repository library/ubuntu: manifest latest: HTTP 404 Not Found (MANIFEST_UNKNOWN)"},
	} {
		if got := Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLimitsFromEnv(t *testing.T) {
	env := map[string]string{EnvConnectTimeout: "5", EnvIdleTimeout: "2m", EnvMaxBlobSize: "1000"}
	c, err := New(LimitsFromEnv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultTimeouts
	want.Connect, want.Idle = 5*time.Second, 2*time.Minute
	if c.Timeouts() != want || c.MaxBlobSize() != 1000 {
		t.Errorf("Timeouts() = %+v, MaxBlobSize() = %d; want %+v, 1000", c.Timeouts(), c.MaxBlobSize(), want)
	}
	for k, v := range map[string]string{EnvHeaderTimeout: "soon", EnvTotalTimeout: "-1s", EnvMaxBlobSize: "3TB"} {
		_, err := New(LimitsFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: New() = %v, want an error naming %s", k, v, err, k)
		}
	}
	if err := CheckSize(-1); err == nil {
		t.Error("CheckSize(-1) = nil")
	}
	var terr *TimeoutError
	if errors.As(errors.New("x"), &terr) {
		t.Error("unexpected TimeoutError")
	}
}
