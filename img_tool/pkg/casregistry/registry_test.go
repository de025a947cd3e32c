package casregistry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// memCAS is an in-memory CAS.
type memCAS struct {
	mu     sync.Mutex
	blobs  map[reapi.Digest][]byte
	writes int
}

func newMemCAS() *memCAS { return &memCAS{blobs: map[reapi.Digest][]byte{}} }

func (c *memCAS) FindMissing(_ context.Context, ds []reapi.Digest) ([]reapi.Digest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []reapi.Digest
	for _, d := range ds {
		if _, ok := c.blobs[d]; !ok {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

func (c *memCAS) Open(_ context.Context, d reapi.Digest) (io.ReadCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[d]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", d, reapi.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (c *memCAS) Write(_ context.Context, d reapi.Digest, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if got := digestOf(b); got != d {
		return fmt.Errorf("blob %s: content is %s", d, got)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blobs[d] = b
	c.writes++
	return nil
}

func (c *memCAS) put(b []byte) reapi.Digest {
	d := digestOf(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blobs[d] = b
	return d
}

func digestOf(b []byte) reapi.Digest {
	sum := sha256.Sum256(b)
	return reapi.Digest{Hash: hex.EncodeToString(sum[:]), SizeBytes: int64(len(b))}
}

// serve starts r's HTTP and gRPC servers; it returns the registry host and
// a client connection to the gRPC server.
func serve(t *testing.T, r *Registry) (string, *grpc.ClientConn) {
	t.Helper()
	hs := httptest.NewServer(r.Handler())
	t.Cleanup(hs.Close)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	r.RegisterGRPC(gs)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return strings.TrimPrefix(hs.URL, "http://"), conn
}

func do(t *testing.T, method, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestCommitThenServe(t *testing.T) {
	cas := newMemCAS()
	content := []byte("layer bytes")
	d := cas.put(content)
	unknown := digestOf([]byte("never stored"))
	diskBlob := []byte("on disk")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sha256"), 0o755)
	os.WriteFile(filepath.Join(dir, "sha256", digestOf(diskBlob).Hash), diskBlob, 0o644)

	var log bytes.Buffer
	host, conn := serve(t, New(cas, WithAccessLog(&log), WithDiskDir(dir)))
	ctx := context.Background()

	// Before Commit the size is unknown, so the blob is not served.
	if resp, _ := do(t, "HEAD", "http://"+host+"/v2/img/blobs/"+d.OCI(), nil); resp.StatusCode != 404 {
		t.Fatalf("HEAD before Commit: %s, want 404", resp.Status)
	}
	missing, err := Commit(ctx, conn, []reapi.Digest{d, unknown})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != unknown {
		t.Fatalf("Commit missing = %v, want [%v]", missing, unknown)
	}

	for _, tc := range []struct {
		name, method, digest string
		status               int
		body                 []byte
		code                 string
	}{
		{"head committed", "HEAD", d.OCI(), 200, nil, ""},
		{"get committed", "GET", d.OCI(), 200, content, ""},
		{"get unknown", "GET", unknown.OCI(), 404, nil, "BLOB_UNKNOWN"},
		{"head unknown", "HEAD", unknown.OCI(), 404, nil, ""},
		{"get from disk", "GET", digestOf(diskBlob).OCI(), 200, diskBlob, ""},
		{"bad digest", "GET", "sha256:abc", 400, nil, "DIGEST_INVALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, "http://"+host+"/v2/some/img/blobs/"+tc.digest, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d; body %s", resp.Status, tc.status, body)
			}
			if tc.code != "" {
				var e struct{ Errors []struct{ Code string } }
				if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Code != tc.code {
					t.Fatalf("body %s, want error code %s", body, tc.code)
				}
				return
			}
			if tc.status != 200 {
				return
			}
			if got := resp.Header.Get("Docker-Content-Digest"); got != tc.digest {
				t.Errorf("Docker-Content-Digest %q, want %q", got, tc.digest)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/octet-stream" {
				t.Errorf("Content-Type %q", got)
			}
			if tc.method == "HEAD" && resp.ContentLength != d.SizeBytes {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, d.SizeBytes)
			}
			if tc.method == "GET" && !bytes.Equal(body, tc.body) {
				t.Errorf("body %q, want %q", body, tc.body)
			}
		})
	}

	want := fmt.Sprintf("GET /v2/some/img/blobs/%s 200 %d\n", d.OCI(), len(content))
	if !strings.Contains(log.String(), want) {
		t.Errorf("access log lacks %q:\n%s", want, log.String())
	}
}

func TestCommitInvalid(t *testing.T) {
	_, conn := serve(t, New(newMemCAS()))
	for _, tc := range []struct {
		name string
		fn   repb.DigestFunction_Value
		hash string
	}{
		{"sha1", repb.DigestFunction_SHA1, digestOf(nil).Hash},
		{"blake3", repb.DigestFunction_BLAKE3, digestOf(nil).Hash},
		{"bad hash", repb.DigestFunction_SHA256, "xyz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := dynamicpb.NewMessage(commitRequest)
			putDigests(req, commitRequest.Fields().ByName("blob_digests"), []reapi.Digest{{Hash: tc.hash, SizeBytes: 0}})
			req.Set(commitRequest.Fields().ByName("digest_function"), protoreflect.ValueOfEnum(protoreflect.EnumNumber(tc.fn)))
			err := conn.Invoke(context.Background(), commitMethod, req, dynamicpb.NewMessage(commitResponse))
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("Commit: %v, want InvalidArgument", err)
			}
		})
	}
}

func TestPushPullAndManifestSizes(t *testing.T) {
	cas := newMemCAS()
	host, _ := serve(t, New(cas))
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/test/img:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("remote.Write: %v", err)
	}
	layers, _ := img.Layers()
	cfg, _ := img.ConfigName()
	blobs := []v1.Hash{cfg}
	for _, l := range layers {
		h, _ := l.Digest()
		blobs = append(blobs, h)
	}
	for _, h := range blobs {
		found := false
		for d := range cas.blobs {
			found = found || d.Hash == h.Hex
		}
		if !found {
			t.Errorf("blob %s not in the CAS after the push", h)
		}
	}
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("pulled image: %v", err)
	}

	// A second registry over the same CAS learns the sizes from the manifest.
	var log bytes.Buffer
	host2, _ := serve(t, New(cas, WithAccessLog(&log)))
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	req, _ := http.NewRequest("PUT", "http://"+host2+"/v2/other/manifests/v1", bytes.NewReader(raw))
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("PUT manifest: %v %v", resp, err)
	}
	ref2, _ := name.ParseReference(host2 + "/other:v1")
	got2, err := remote.Image(ref2)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got2); err != nil {
		t.Fatalf("image pulled from the second registry: %v", err)
	}
	if want := fmt.Sprintf("PUT /v2/other/manifests/v1 201 %d\n", len(raw)); !strings.HasPrefix(log.String(), want) {
		t.Errorf("access log starts with %q, want %q", log.String(), want)
	}
}

// TestPushAfterCommit is the cas_registry push: blobs are committed, so a
// push sends only the manifest.
func TestPushAfterCommit(t *testing.T) {
	cas := newMemCAS()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rawCfg, _ := img.RawConfigFile()
	ds := []reapi.Digest{cas.put(rawCfg)}
	for _, l := range layers {
		rc, _ := l.Compressed()
		b, _ := io.ReadAll(rc)
		ds = append(ds, cas.put(b))
	}
	var log bytes.Buffer
	host, conn := serve(t, New(cas, WithAccessLog(&log)))
	if missing, err := Commit(context.Background(), conn, ds); err != nil || len(missing) != 0 {
		t.Fatalf("Commit: %v, %v", missing, err)
	}
	ref, _ := name.ParseReference(host + "/pushed:latest")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		f := strings.Fields(line)
		switch {
		case f[0] == "PUT" && strings.Contains(f[1], "/manifests/"):
			if f[3] != fmt.Sprint(len(raw)) {
				t.Errorf("manifest PUT sent %s bytes, want %d", f[3], len(raw))
			}
		case f[0] == "PUT" || f[0] == "PATCH" || f[0] == "POST":
			t.Errorf("push uploaded a blob: %s", line)
		}
	}
	if cas.writes != 0 {
		t.Errorf("%d CAS writes, want 0", cas.writes)
	}
}

func TestUploadDigestMismatch(t *testing.T) {
	cas := newMemCAS()
	host, _ := serve(t, New(cas))
	wrong := digestOf([]byte("other"))
	resp, body := do(t, "POST", "http://"+host+"/v2/x/blobs/uploads/?digest="+wrong.OCI(), []byte("content"))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "DIGEST_INVALID") {
		t.Fatalf("upload with a wrong digest: %s %s", resp.Status, body)
	}
	if len(cas.blobs) != 0 {
		t.Fatalf("CAS holds %d blobs, want 0", len(cas.blobs))
	}
}
