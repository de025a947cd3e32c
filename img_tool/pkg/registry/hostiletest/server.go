// Package hostiletest is a registry that misbehaves the way an attacker's
// would, for tests of every tool that fetches from registries: error bodies
// of a gigabyte, error bodies that echo the request's credentials, answers
// that never come or trickle, blobs longer or shorter than their digest's
// size, manifests with negative or absurd sizes, redirect loops.
//
// The server authenticates like Docker Hub: /v2/ answers 401 with a Bearer
// challenge; /token exchanges Basic credentials (User, Password) for Token.
// The repository name, "hostile/MODE", selects the misbehaviour (see the
// Mode constants); every other repository is served correctly. Large bodies
// are streamed from a small buffer, never held.
package hostiletest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Credentials the server expects and the client must never show.
const (
	User     = "hostile-user"
	Password = "pw-9d1f3c-HUNTER2-secret"
	Token    = "tok-7e4a02b9c1d8-SECRET"
)

// BasicAuth is the base64 of User:Password, as sent in Basic auth.
var BasicAuth = base64.StdEncoding.EncodeToString([]byte(User + ":" + Password))

// Secrets are the strings that must appear in no output.
var Secrets = []string{Password, Token, BasicAuth}

// Mode is a misbehaviour, selected by the repository "hostile/MODE".
type Mode string

// Repository is the repository that selects m; the empty Mode selects a
// repository without misbehaviour ("hostile/any").
func (m Mode) Repository() string {
	if m == "" {
		return "hostile/any"
	}
	return "hostile/" + string(m)
}

const (
	// HugeError answers every manifest and blob with 400 and a 1 GiB body.
	HugeError Mode = "huge-error"
	// HugeRetried answers every manifest and blob with 503, which is
	// retried, and a 1 GiB body.
	HugeRetried Mode = "huge-retried"
	// HugeBody answers every manifest and blob with 200 and 1 GiB.
	HugeBody Mode = "huge-body"
	// Echo answers 404 with a JSON error whose code, message and detail
	// echo the Authorization header, the password and the token.
	Echo Mode = "echo"
	// EchoText answers 400 with a plain-text body echoing the same.
	EchoText Mode = "echo-text"
	// AuthEcho answers 403 with a JSON error whose code is the password
	// and whose message echoes the Authorization header.
	AuthEcho Mode = "auth-echo"
	// TokenEcho fails the token exchange with 400 and a body echoing the
	// Basic credentials.
	TokenEcho Mode = "token-echo"
	// Hang accepts manifest and blob requests and never answers.
	Hang Mode = "hang"
	// TrickleSlow sends 200 and headers, then a byte every SlowInterval.
	TrickleSlow Mode = "trickle-slow"
	// TrickleFast sends 200 and headers, then a byte every 50ms, forever.
	TrickleFast Mode = "trickle-fast"
	// BlobLong serves the image correctly except its layer, which has
	// extra bytes (no Content-Length).
	BlobLong Mode = "blob-long"
	// BlobShort serves the layer without its last bytes (no
	// Content-Length).
	BlobShort Mode = "blob-short"
	// NegativeSize serves a manifest whose layer has size -5.
	NegativeSize Mode = "negative-size"
	// AbsurdSize serves a manifest whose layer claims 2 TiB.
	AbsurdSize Mode = "absurd-size"
	// RedirectLoop serves manifests; every blob redirects to itself.
	RedirectLoop Mode = "redirect-loop"
)

// SlowInterval is the gap between the bytes of TrickleSlow.
var SlowInterval = 3 * time.Second

// GiB is the size of the huge bodies.
const GiB = 1 << 30

// Image is the one image the server holds; every repository serves it.
type Image struct {
	Manifest, Config, Layer []byte
	ManifestDigest          string
	ConfigDigest            string
	LayerDigest             string
}

// Digest returns "sha256:<hex>" of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func newImage() Image {
	var img Image
	img.Layer = make([]byte, 4096)
	for i := range img.Layer {
		img.Layer[i] = byte(i * 7)
	}
	img.LayerDigest = Digest(img.Layer)
	img.Config = []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%q]}}`, img.LayerDigest))
	img.ConfigDigest = Digest(img.Config)
	img.Manifest = manifest(img, int64(len(img.Layer)))
	img.ManifestDigest = Digest(img.Manifest)
	return img
}

func manifest(img Image, layerSize int64) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		img.ConfigDigest, len(img.Config), img.LayerDigest, layerSize))
}

// Server is a running hostile registry on loopback.
type Server struct {
	// Host is host:port.
	Host  string
	Image Image
	srv   *httptest.Server

	// Requests counts the requests served.
	Requests atomic.Int64
}

// Start starts a server that t's cleanup stops.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Image: newImage()}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.Host = strings.TrimPrefix(s.srv.URL, "http://")
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

// ManifestFor is the manifest (bytes and digest) that repository mode
// serves.
func (s *Server) ManifestFor(mode Mode) ([]byte, string) {
	data := s.Image.Manifest
	switch mode {
	case NegativeSize:
		data = manifest(s.Image, -5)
	case AbsurdSize:
		data = manifest(s.Image, 2<<40)
	}
	return data, Digest(data)
}

// DockerConfig writes a docker config dir with the server's credentials
// and returns it.
func (s *Server) DockerConfig(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Host, BasicAuth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	switch {
	case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="hostile"`, r.Host))
		w.WriteHeader(http.StatusUnauthorized)
		return
	case r.URL.Path == "/token":
		s.token(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	var repo, kind, ref string
	for _, k := range []string{"/manifests/", "/blobs/"} {
		if i := strings.LastIndex(rest, k); i > 0 {
			repo, kind, ref = rest[:i], strings.Trim(k, "/"), rest[i+len(k):]
			break
		}
	}
	if repo == "" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="hostile",scope="repository:%s:pull"`, r.Host, repo))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	mode := Mode(strings.TrimPrefix(repo, "hostile/"))
	switch mode {
	case HugeError:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		stream(w, GiB, 'x')
		return
	case HugeRetried:
		w.WriteHeader(http.StatusServiceUnavailable)
		stream(w, GiB, 'x')
		return
	case HugeBody:
		w.WriteHeader(http.StatusOK)
		stream(w, GiB, '{')
		return
	case Echo:
		echo := fmt.Sprintf("Authorization: %s; password=%s; token=%s", r.Header.Get("Authorization"), Password, Token)
		body, _ := json.Marshal(map[string]any{"errors": []any{
			map[string]any{"code": "MANIFEST_UNKNOWN", "message": echo, "detail": map[string]any{"headers": r.Header, "password": Password}},
			map[string]any{"code": r.Header.Get("Authorization"), "message": Password},
		}})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write(body)
		return
	case AuthEcho:
		body, _ := json.Marshal(map[string]any{"errors": []any{
			map[string]any{"code": Password, "message": r.Header.Get("Authorization")},
		}})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write(body)
		return
	case EchoText:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request from %s\nAuthorization: %s\n%s %s\n", r.RemoteAddr, r.Header.Get("Authorization"), Password, Token)
		return
	case Hang:
		<-r.Context().Done()
		return
	case TrickleSlow, TrickleFast:
		every := 50 * time.Millisecond
		if mode == TrickleSlow {
			every = SlowInterval
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(every):
			}
			if _, err := w.Write([]byte{'{'}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
	if kind == "manifests" {
		data, digest := s.ManifestFor(mode)
		if ref != digest && strings.HasPrefix(ref, "sha256:") {
			s.notFound(w, "MANIFEST_UNKNOWN")
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", digest)
		w.Write(data)
		return
	}
	if mode == RedirectLoop {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
		return
	}
	var data []byte
	switch ref {
	case s.Image.ConfigDigest:
		data = s.Image.Config
	case s.Image.LayerDigest:
		data = s.Image.Layer
		switch mode {
		case BlobLong:
			data = append(append([]byte{}, data...), "trailing bytes"...)
		case BlobShort:
			data = data[:len(data)-100]
		}
		if mode == BlobLong || mode == BlobShort {
			// No Content-Length: the reader must count.
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			w.Write(data)
			return
		}
	default:
		s.notFound(w, "BLOB_UNKNOWN")
		return
	}
	w.Write(data)
}

func (s *Server) notFound(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"not here"}]}`, code)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Query().Get("scope"), "hostile/"+string(TokenEcho)) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"bad credentials: Authorization: %s password=%s"}]}`, r.Header.Get("Authorization"), Password)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != User || pass != Password {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"token":%q,"access_token":%q}`, Token, Token)
}

// stream writes n bytes of b from a small buffer until the client goes.
func stream(w http.ResponseWriter, n int64, b byte) {
	buf := make([]byte, 32<<10)
	for i := range buf {
		buf[i] = b
	}
	for n > 0 {
		chunk := buf
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		m, err := w.Write(chunk)
		if err != nil {
			return
		}
		n -= int64(m)
	}
}

// HangingListener accepts connections and never answers; it returns its
// host:port. t's cleanup closes it.
func HangingListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// Usage is what Measure observed.
type Usage struct {
	Elapsed time.Duration
	// PeakHeap is the highest HeapInuse seen while fn ran, less the
	// HeapInuse before.
	PeakHeap uint64
	// Allocated is the TotalAlloc growth while fn ran.
	Allocated uint64
}

// Measure runs fn and samples the heap every few milliseconds.
func Measure(fn func()) Usage {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	fn()
	u := Usage{Elapsed: time.Since(start)}
	close(done)
	<-stopped
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.HeapInuse > peak.Load() {
		peak.Store(after.HeapInuse)
	}
	if p := peak.Load(); p > before.HeapInuse {
		u.PeakHeap = p - before.HeapInuse
	}
	u.Allocated = after.TotalAlloc - before.TotalAlloc
	return u
}

// CheckNoSecret fails t if any of texts contains a secret.
func CheckNoSecret(t testing.TB, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range Secrets {
			if strings.Contains(text, s) {
				t.Errorf("output shows the secret %q: %s", s, text)
			}
		}
	}
}

// CheckEmptyDir fails t if dir holds anything.
func CheckEmptyDir(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left behind in %s: %v", dir, names)
	}
}
