package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// fastBackoff keeps retry tests quick.
var fastBackoff = remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 3}

func TestAllowsHTTP(t *testing.T) {
	for _, tc := range []struct {
		host     string
		insecure []string
		want     bool
	}{
		{"127.0.0.1:5000", nil, true},
		{"127.0.0.1", nil, true},
		{"127.1.2.3:80", nil, true},
		{"[::1]:5000", nil, true},
		{"::1", nil, true},
		{"localhost:5000", nil, true},
		{"LOCALHOST", nil, true},
		{"localhost.example.com:5000", nil, false},
		{"10.0.0.5:5000", nil, false},
		{"192.168.1.2:5000", nil, false},
		{"registry.local:5000", nil, false},
		{"index.docker.io", nil, false},
		{"128.0.0.1:5000", nil, false},
		{"reg.internal:5000", []string{"reg.internal"}, true},
		{"reg.internal:5000", []string{"reg.internal:5000"}, true},
		{"reg.internal:5001", []string{"reg.internal:5000"}, false},
		{"reg.internal", []string{"reg.internal:5000"}, false},
		{"REG.internal:5000", []string{"reg.INTERNAL"}, true},
		{"10.0.0.5:5000", []string{"10.0.0.5"}, true},
		{"[fd00::1]:5000", []string{"fd00::1"}, true},
		{"other.internal:5000", []string{"reg.internal"}, false},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.host, tc.insecure), func(t *testing.T) {
			if got := AllowsHTTP(tc.host, tc.insecure); got != tc.want {
				t.Errorf("AllowsHTTP(%q, %q) = %v, want %v", tc.host, tc.insecure, got, tc.want)
			}
		})
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	called := false
	p := &httpPolicy{
		inner: roundTripFunc(func(*http.Request) (*http.Response, error) { called = true; return nil, errors.New("reached") }),
		allow: func(host string) bool { return AllowsHTTP(host, nil) },
	}
	req := httptest.NewRequest(http.MethodGet, "http://10.0.0.5:5000/v2/", nil)
	_, err := p.RoundTrip(req)
	var perr *PlainHTTPError
	if !errors.As(err, &perr) || perr.Host != "10.0.0.5:5000" {
		t.Fatalf("RoundTrip(http://10.0.0.5:5000) = %v, want a PlainHTTPError", err)
	}
	if called {
		t.Error("the refused request reached the network")
	}
	if IsUnavailable(err) {
		t.Error("a refused plain-HTTP request counts as unavailable; it is a configuration error")
	}
	req = httptest.NewRequest(http.MethodGet, "https://10.0.0.5:5000/v2/", nil)
	if _, err := p.RoundTrip(req); err == nil || err.Error() != "reached" || !called {
		t.Errorf("RoundTrip(https://10.0.0.5:5000) = %v, want it passed on", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		ok   bool
	}{
		{"defaults", nil, true},
		{"insecure host", []Option{WithInsecureRegistries("reg.internal", "10.0.0.5:5000")}, true},
		{"insecure URL", []Option{WithInsecureRegistries("http://reg.internal")}, false},
		{"insecure empty", []Option{WithInsecureRegistries("")}, false},
		{"missing CA file", []Option{WithCAFile(filepath.Join(t.TempDir(), "none.pem"))}, false},
		{"two CA files", []Option{WithCAFile("a.pem"), WithCAFile("b.pem")}, false},
		{"zero retry steps", []Option{WithRetryBackoff(remote.Backoff{Duration: time.Second})}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts...)
			if (err == nil) != tc.ok {
				t.Errorf("New() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	t.Run("not PEM", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "ca.pem")
		os.WriteFile(p, []byte("no certificate here"), 0o644)
		if _, err := New(WithCAFile(p)); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
			t.Errorf("New(WithCAFile(not PEM)) = %v, want a no-PEM error", err)
		}
	})
}

func TestConfigPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"DOCKER_CONFIG", nil, filepath.Join(dir, "config.json")},
		{"empty option keeps the default", []Option{WithConfigDir("")}, filepath.Join(dir, "config.json")},
		{"option wins", []Option{WithConfigDir("/etc/rules_img")}, "/etc/rules_img/config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ConfigPath(); got != tc.want {
				t.Errorf("ConfigPath() = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("home", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("DOCKER_CONFIG", "")
		t.Setenv("HOME", home)
		c, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(home, ".docker", "config.json"); c.ConfigPath() != want {
			t.Errorf("ConfigPath() = %q, want %q", c.ConfigPath(), want)
		}
	})
}

const (
	testUser     = "alice"
	testPassword = "hunter2-very-secret"
)

// writeConfig writes a config.json into a new directory and returns it.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func authsConfig(t *testing.T, host string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	return writeConfig(t, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth))
}

// denyServer answers every request with status and a registry error body;
// 401 answers carry challenge. Token requests ("/token") get 401 too. It
// records the Authorization headers it saw.
type denyServer struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newDenyServer(t *testing.T, status int, code, challenge string) *denyServer {
	s := &denyServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		st, c := status, code
		if r.URL.Path == "/v2/" || r.URL.Path == "/token" {
			st, c = http.StatusUnauthorized, "UNAUTHORIZED"
		}
		if st == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", strings.ReplaceAll(challenge, "SERVER", "http://"+r.Host))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"access to the requested resource is not authorized"}]}`, c)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *denyServer) sawCredentials() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
	for _, a := range s.auths {
		if a == want {
			return true
		}
	}
	return false
}

func TestAuthErrors(t *testing.T) {
	const basic = `Basic realm="test"`
	const bearer = `Bearer realm="SERVER/token",service="test"`
	for _, tc := range []struct {
		name      string
		status    int
		code      string
		challenge string
		creds     bool
		want      string
	}{
		{"basic anonymous", 401, "UNAUTHORIZED", basic, false, "authentication required (401 UNAUTHORIZED); set up credentials in CONFIG or a credential helper"},
		{"basic rejected", 401, "UNAUTHORIZED", basic, true, "authentication failed (401 UNAUTHORIZED): the registry rejected the credentials for HOST from CONFIG"},
		{"bearer anonymous", 401, "UNAUTHORIZED", bearer, false, "authentication required (401 UNAUTHORIZED); set up credentials in CONFIG or a credential helper"},
		{"bearer rejected", 401, "UNAUTHORIZED", bearer, true, "authentication failed (401 UNAUTHORIZED)"},
		{"denied", 403, "DENIED", basic, true, "access denied (403 DENIED): the credentials for HOST from CONFIG have no pull access to base/app"},
		{"denied anonymous", 403, "DENIED", basic, false, "access denied (403 DENIED) to anonymous pulls; set up credentials in CONFIG"},
		{"no config file", 401, "UNAUTHORIZED", basic, false, "authentication required (401 UNAUTHORIZED); set up credentials in CONFIG (which does not exist here) or a credential helper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDenyServer(t, tc.status, tc.code, tc.challenge)
			host := strings.TrimPrefix(s.URL, "http://")
			dir := t.TempDir() // no config.json
			switch {
			case tc.creds:
				dir = authsConfig(t, host)
			case !strings.Contains(tc.want, "does not exist"):
				dir = writeConfig(t, "{}")
			}
			c, err := New(WithConfigDir(dir), WithRetryBackoff(fastBackoff))
			if err != nil {
				t.Fatal(err)
			}
			repo, err := c.Repository(host, "base/app")
			if err != nil {
				t.Fatal(err)
			}
			_, err = repo.Manifest(context.Background(), "latest")
			var aerr *AuthError
			if !errors.As(err, &aerr) {
				t.Fatalf("Manifest() = %v, want an AuthError", err)
			}
			msg := err.Error()
			t.Log(msg)
			want := "registry " + host + " repository base/app: " + tc.want
			want = strings.NewReplacer("HOST", host, "CONFIG", filepath.Join(dir, "config.json")).Replace(want)
			if !strings.HasPrefix(msg, want) {
				t.Errorf("error = %q\nwant prefix %q", msg, want)
			}
			secret := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
			for _, bad := range []string{testPassword, secret, "Authorization", "Basic "} {
				if strings.Contains(msg, bad) {
					t.Errorf("error %q contains %q", msg, bad)
				}
			}
			if tc.creds && !s.sawCredentials() {
				t.Error("the server never saw the configured credentials")
			}
			if IsUnavailable(err) {
				t.Error("IsUnavailable(auth error) = true, want false: a mirror must not hide it")
			}
		})
	}
}

// fakeRegistry serves one blob and one manifest; fail says how the next
// requests fail.
type fakeRegistry struct {
	*httptest.Server
	blob, manifest []byte
	fail           atomic.Int32 // number of requests still to fail
	failStatus     int
	requests       atomic.Int32
	userAgent      atomic.Value
}

func newFakeRegistry(t *testing.T, tls bool) *fakeRegistry {
	f := &fakeRegistry{
		blob:       []byte("hello blob\n"),
		manifest:   []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`),
		failStatus: http.StatusServiceUnavailable,
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.userAgent.Store(r.Header.Get("User-Agent"))
		if r.URL.Path == "/v2/" {
			return
		}
		f.requests.Add(1)
		if f.fail.Add(-1) >= 0 {
			w.WriteHeader(f.failStatus)
			return
		}
		switch r.URL.Path {
		case "/v2/base/app/blobs/" + digestOf(f.blob):
			w.Write(f.blob)
		case "/v2/base/app/manifests/latest":
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write(f.manifest)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}`)
		}
	})
	if tls {
		f.Server = httptest.NewTLSServer(h)
	} else {
		f.Server = httptest.NewServer(h)
	}
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRegistry) host() string {
	return strings.TrimPrefix(strings.TrimPrefix(f.URL, "http://"), "https://")
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func fetchBlob(t *testing.T, f *fakeRegistry, opts ...Option) ([]byte, error) {
	t.Helper()
	c, err := New(append([]Option{WithConfigDir(t.TempDir()), WithRetryBackoff(fastBackoff)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := c.Repository(f.host(), "base/app")
	if err != nil {
		t.Fatal(err)
	}
	return repo.ReadBlob(context.Background(), digestOf(f.blob), -1, 1<<20)
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		failures  int32
		ok        bool
		wantCalls int32
	}{
		{"no failure", 0, 0, true, 1},
		{"503 twice", http.StatusServiceUnavailable, 2, true, 3},
		{"429 once", http.StatusTooManyRequests, 1, true, 2},
		{"500 always", http.StatusInternalServerError, 100, false, int32(fastBackoff.Steps)},
		{"404 is final", http.StatusNotFound, 100, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRegistry(t, false)
			f.failStatus = tc.status
			f.fail.Store(tc.failures)
			data, err := fetchBlob(t, f)
			if (err == nil) != tc.ok {
				t.Fatalf("ReadBlob() = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && string(data) != string(f.blob) {
				t.Errorf("ReadBlob() = %q, want %q", data, f.blob)
			}
			if !tc.ok && !IsUnavailable(err) {
				t.Errorf("IsUnavailable(%v) = false, want true", err)
			}
			if got := f.requests.Load(); got != tc.wantCalls {
				t.Errorf("%d blob requests, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestUserAgentAndCounting(t *testing.T) {
	f := newFakeRegistry(t, false)
	c, err := New(WithConfigDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := c.Repository(f.host(), "base/app")
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.Manifest(context.Background(), "latest")
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.Digest != digestOf(f.manifest) {
		t.Errorf("Manifest() = %s %s, want the served manifest", m.MediaType, m.Digest)
	}
	if ua, _ := f.userAgent.Load().(string); !strings.HasPrefix(ua, UserAgent+" ") && ua != UserAgent {
		t.Errorf("User-Agent = %q, want %q first", ua, UserAgent)
	}
	if got := c.BytesRead(); got < int64(len(f.manifest)) {
		t.Errorf("BytesRead() = %d, want at least the %d manifest bytes", got, len(f.manifest))
	}
}

func TestBlobVerification(t *testing.T) {
	f := newFakeRegistry(t, false)
	c, err := New(WithConfigDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := c.Repository(f.host(), "base/app")
	if err != nil {
		t.Fatal(err)
	}
	d := digestOf(f.blob)
	for _, tc := range []struct {
		name    string
		size    int64
		wantErr string
	}{
		{"unknown size", -1, ""},
		{"right size", int64(len(f.blob)), ""},
		{"wrong size", 3, "Content-Length is 11, want 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := repo.ReadBlob(context.Background(), d, tc.size, 1<<20)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("ReadBlob() = %v, want error %q", err, tc.wantErr)
			}
		})
	}
	t.Run("tampered", func(t *testing.T) {
		tampered := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/") {
				io.WriteString(w, "tampered\n")
			}
		}))
		defer tampered.Close()
		host := strings.TrimPrefix(tampered.URL, "http://")
		repo, err := c.Repository(host, "base/app")
		if err != nil {
			t.Fatal(err)
		}
		_, err = repo.ReadBlob(context.Background(), d, -1, 1<<20)
		if err == nil || !strings.Contains(err.Error(), "content has digest "+digestOf([]byte("tampered\n"))) || !strings.Contains(err.Error(), "registry "+host+" repository base/app") {
			t.Errorf("ReadBlob(tampered) = %v, want a digest error naming registry and repository", err)
		}
	})
}

func TestCAFile(t *testing.T) {
	f := newFakeRegistry(t, true)
	if _, err := fetchBlob(t, f); err == nil || IsUnavailable(err) {
		t.Errorf("without the CA: %v, want a TLS error that is not 'unavailable'", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := fetchBlob(t, f, WithCAFile(ca))
	if err != nil || string(data) != string(f.blob) {
		t.Errorf("with the CA: %q, %v; want the blob", data, err)
	}
	// Uploads go through a transport of their own: it trusts the CA too.
	c, err := New(WithConfigDir(t.TempDir()), WithCAFile(ca))
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
		req, _ := http.NewRequest(method, f.URL+"/v2/base/app/blobs/uploads/", strings.NewReader("x"))
		resp, err := c.base.RoundTrip(req)
		if err != nil {
			t.Errorf("%s with the CA: %v", method, err)
			continue
		}
		resp.Body.Close()
	}
}

func TestCredentialHelper(t *testing.T) {
	bin := t.TempDir()
	// docker-credential-rulesimgtest answers "get" with fixed credentials.
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 1\ncat >/dev/null\necho '{\"ServerURL\":\"x\",\"Username\":%q,\"Secret\":%q}'\n", testUser, testPassword)
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-rulesimgtest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, tc := range []struct {
		name, config string
	}{
		{"credHelpers", `{"credHelpers":{"HOST":"rulesimgtest"}}`},
		{"credsStore", `{"credsStore":"rulesimgtest"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDenyServer(t, http.StatusUnauthorized, "UNAUTHORIZED", `Basic realm="test"`)
			host := strings.TrimPrefix(s.URL, "http://")
			dir := writeConfig(t, strings.ReplaceAll(tc.config, "HOST", host))
			c, err := New(WithConfigDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			repo, err := c.Repository(host, "base/app")
			if err != nil {
				t.Fatal(err)
			}
			_, err = repo.Manifest(context.Background(), "latest")
			if !s.sawCredentials() {
				t.Errorf("the helper's credentials were not sent (error %v)", err)
			}
			if err == nil || strings.Contains(err.Error(), testPassword) {
				t.Errorf("Manifest() = %v, want an error without the secret", err)
			}
		})
	}
}

func TestIsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused", fmt.Errorf("registry x repository y: %w", refused), true},
		{"dns", &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"truncated", io.ErrUnexpectedEOF, true},
		{"404", &transport.Error{StatusCode: 404}, true},
		{"429", &transport.Error{StatusCode: 429}, true},
		{"502", fmt.Errorf("x: %w", &transport.Error{StatusCode: 502}), true},
		{"400", &transport.Error{StatusCode: 400}, false},
		{"401", &AuthError{StatusCode: 401, err: &transport.Error{StatusCode: 401}}, false},
		{"plain http", &PlainHTTPError{Host: "10.0.0.1"}, false},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false},
		{"digest", errors.New("manifest digest is sha256:a, pinned digest is sha256:b"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsUnavailable(tc.err); got != tc.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	down := fmt.Errorf("registry a repository r: %w", &transport.Error{StatusCode: 503})
	missing := fmt.Errorf("registry b repository r: %w", &transport.Error{StatusCode: 404})
	final := errors.New("registry b repository r: manifest digest is sha256:a, pinned digest is sha256:b")
	for _, tc := range []struct {
		name     string
		errs     map[string]error
		want     string // registry that served, "" for an error
		wantTry  []string
		wantText []string
	}{
		{"first serves", nil, "a", []string{"a"}, nil},
		{"fallback", map[string]error{"a": down, "b": missing}, "c", []string{"a", "b", "c"}, nil},
		{"stop", map[string]error{"a": down, "b": final}, "", []string{"a", "b"}, []string{"(tried a, b)", "[1] registry a", "[2] registry b repository r: manifest digest"}},
		{"all down", map[string]error{"a": down, "b": missing, "c": down}, "", []string{"a", "b", "c"}, []string{"(tried a, b, c)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tried []string
			got, err := Fetch(context.Background(), []string{"a", "b", "c"}, func(_ context.Context, reg string) error {
				tried = append(tried, reg)
				return tc.errs[reg]
			})
			if got != tc.want || (err == nil) != (tc.want != "") {
				t.Fatalf("Fetch() = %q, %v; want %q", got, err, tc.want)
			}
			if strings.Join(tried, ",") != strings.Join(tc.wantTry, ",") {
				t.Errorf("tried %q, want %q", tried, tc.wantTry)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			var ferr *FetchError
			if err != nil && (!errors.As(err, &ferr) || len(ferr.Attempts) != len(tc.wantTry)) {
				t.Errorf("error %v is not a FetchError with %d attempts", err, len(tc.wantTry))
			}
		})
	}
	t.Run("single registry error, sanitized", func(t *testing.T) {
		_, err := Fetch(context.Background(), []string{"a"}, func(context.Context, string) error { return down })
		if !errors.Is(err, down) || err.Error() != "registry a repository r: HTTP 503 Service Unavailable" {
			t.Errorf("Fetch() = %v, want %v sanitized", err, down)
		}
	})
	t.Run("no registry", func(t *testing.T) {
		if _, err := Fetch(context.Background(), nil, nil); err == nil {
			t.Error("Fetch(no registries) succeeded")
		}
	})
}
