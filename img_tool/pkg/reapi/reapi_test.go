package reapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Servers come from shared/services/reapi.sh:
//
//	RULES_IMG_TEST_REAPI=grpc://127.0.0.1:8980         (start worker)
//	RULES_IMG_TEST_CASD=grpc://127.0.0.1:8981          (start casd)
//	RULES_IMG_TEST_REAPI_AUTH=grpc://127.0.0.1:8982    (start worker-auth)
//	RULES_IMG_TEST_REAPI_TOKEN=$REAPI_TOKEN
//	RULES_IMG_TEST_REAPI_TLS=grpcs://127.0.0.1:8983    (start worker-tls)
//	RULES_IMG_TEST_REAPI_CA=$REAPI_CA

func env(t *testing.T, names ...string) []string {
	t.Helper()
	var vals []string
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			t.Skipf("%s not set", n)
		}
		vals = append(vals, v)
	}
	return vals
}

func blob(t *testing.T, n int) ([]byte, Digest) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return b, Digest{Hash: hex.EncodeToString(sum[:]), SizeBytes: int64(n)}
}

func dial(t *testing.T, endpoint string, opts ...Option) *Client {
	t.Helper()
	c, err := Dial(context.Background(), endpoint, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type server struct {
	name      string
	envs      []string
	opts      func(vals []string) []Option
	batchRead bool // implements BatchReadBlobs
}

var servers = []server{
	{"worker", []string{"RULES_IMG_TEST_REAPI"}, nil, false},
	{"casd", []string{"RULES_IMG_TEST_CASD"}, nil, true},
	{"worker-auth", []string{"RULES_IMG_TEST_REAPI_AUTH", "RULES_IMG_TEST_REAPI_TOKEN"}, func(v []string) []Option {
		return []Option{WithHeaders(map[string]string{"Authorization": "Bearer " + v[1]})}
	}, false},
	{"worker-tls", []string{"RULES_IMG_TEST_REAPI_TLS", "RULES_IMG_TEST_REAPI_CA"}, func(v []string) []Option {
		return []Option{WithCAFile(v[1])}
	}, false},
}

func forEachServer(t *testing.T, f func(t *testing.T, s server, c *Client)) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			vals := env(t, s.envs...)
			var opts []Option
			if s.opts != nil {
				opts = s.opts(vals)
			}
			f(t, s, dial(t, vals[0], opts...))
		})
	}
}

func TestWriteRead(t *testing.T) {
	forEachServer(t, func(t *testing.T, s server, c *Client) {
		ctx := context.Background()
		for _, size := range []int{0, 1, 1000, 1 << 20, 5<<20 + 3} {
			t.Run(fmt.Sprint(size), func(t *testing.T) {
				content, d := blob(t, size)
				if size > 0 {
					missing, err := c.FindMissing(ctx, []Digest{d})
					if err != nil || len(missing) != 1 || missing[0] != d {
						t.Fatalf("FindMissing before Write = %v, %v; want [%s]", missing, err, d)
					}
				}
				// A reader that returns one byte at a time exercises chunking.
				if err := c.Write(ctx, d, iotest.OneByteReader(bytes.NewReader(content))); err != nil {
					t.Fatal(err)
				}
				if missing, err := c.FindMissing(ctx, []Digest{d}); err != nil || len(missing) != 0 {
					t.Fatalf("FindMissing after Write = %v, %v; want none", missing, err)
				}
				// Uploading again must succeed (the server may end it early).
				if err := c.Write(ctx, d, bytes.NewReader(content)); err != nil {
					t.Fatalf("second Write: %v", err)
				}
				before := c.BytesRead()
				rc, err := c.Open(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("Open: read %d bytes, err %v; want %d bytes", len(got), err, size)
				}
				if n := c.BytesRead() - before; n != int64(size) {
					t.Errorf("BytesRead grew by %d, want %d", n, size)
				}
				got, err = c.ReadBlob(ctx, d)
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("ReadBlob: got %d bytes, err %v; want %d bytes", len(got), err, size)
				}
			})
		}
		if _, err := c.ReadBlob(ctx, mustWrite(t, c, 10)); err != nil {
			t.Fatal(err)
		}
		if got := !c.noBatchRead.Load(); got != s.batchRead {
			t.Errorf("uses BatchReadBlobs = %v, want %v", got, s.batchRead)
		}
	})
}

func mustWrite(t *testing.T, c *Client, size int) Digest {
	t.Helper()
	content, d := blob(t, size)
	if err := c.Write(context.Background(), d, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFindMissingBatches(t *testing.T) {
	forEachServer(t, func(t *testing.T, s server, c *Client) {
		present := mustWrite(t, c, 100)
		ds := []Digest{present}
		for range 2500 {
			_, d := blob(t, 8)
			ds = append(ds, d)
		}
		missing, err := c.FindMissing(context.Background(), ds)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) != len(ds)-1 {
			t.Fatalf("%d missing, want %d", len(missing), len(ds)-1)
		}
		for _, m := range missing {
			if m == present {
				t.Fatalf("present blob %s reported missing", present)
			}
		}
	})
}

func TestNotFound(t *testing.T) {
	forEachServer(t, func(t *testing.T, s server, c *Client) {
		_, d := blob(t, 123)
		_, openErr := c.Open(context.Background(), d)
		_, readErr := c.ReadBlob(context.Background(), d)
		for _, err := range []error{openErr, readErr} {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("error %v does not wrap ErrNotFound", err)
			}
			if !strings.Contains(err.Error(), d.String()) || !strings.Contains(err.Error(), c.Endpoint()) {
				t.Errorf("error %q does not name the digest and endpoint", err)
			}
		}
	})
}

func TestWriteWrongContent(t *testing.T) {
	forEachServer(t, func(t *testing.T, s server, c *Client) {
		content, d := blob(t, 3<<20)
		wrong := bytes.Clone(content)
		wrong[len(wrong)-1]++
		for name, r := range map[string][]byte{"altered": wrong, "short": content[:len(content)-1], "long": append(bytes.Clone(content), 0)} {
			if err := c.Write(context.Background(), d, bytes.NewReader(r)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: Write error %v, want ErrCorrupt", name, err)
			}
		}
		if missing, err := c.FindMissing(context.Background(), []Digest{d}); err != nil || len(missing) != 1 {
			t.Errorf("after failed writes FindMissing = %v, %v; want the blob missing", missing, err)
		}
	})
}

func TestVerifyReader(t *testing.T) {
	content, d := blob(t, 1000)
	altered := bytes.Clone(content)
	altered[0]++
	tests := []struct {
		name    string
		content []byte
		d       Digest
		ok      bool
	}{
		{"match", content, d, true},
		{"altered", altered, d, false},
		{"short", content[:999], d, false},
		{"long", append(bytes.Clone(content), 1), d, false},
		{"empty", nil, Digest{Hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, true},
		{"empty wrong hash", nil, Digest{Hash: d.Hash}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(VerifyReader(iotest.HalfReader(bytes.NewReader(tt.content)), tt.d))
			if tt.ok && (err != nil || !bytes.Equal(got, tt.content)) {
				t.Errorf("read %d bytes, err %v", len(got), err)
			}
			if !tt.ok && (!errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.d.String())) {
				t.Errorf("err %v, want ErrCorrupt naming %s", err, tt.d)
			}
		})
	}
	// Errors of the underlying reader pass through.
	boom := errors.New("boom")
	if _, err := io.ReadAll(VerifyReader(iotest.ErrReader(boom), d)); !errors.Is(err, boom) {
		t.Errorf("err %v, want boom", err)
	}
}

func TestEmptyBlobWithoutRPC(t *testing.T) {
	v := env(t, "RULES_IMG_TEST_REAPI")
	c := dial(t, v[0])
	c.Close() // any RPC would fail now
	empty := Digest{Hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
	rc, err := c.Open(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rc); err != nil || len(b) != 0 {
		t.Errorf("ReadAll = %q, %v", b, err)
	}
	if b, err := c.ReadBlob(context.Background(), empty); err != nil || len(b) != 0 {
		t.Errorf("ReadBlob = %q, %v", b, err)
	}
	if err := c.Write(context.Background(), empty, strings.NewReader("")); err != nil {
		t.Errorf("Write: %v", err)
	}
}

func TestDialErrors(t *testing.T) {
	tests := []struct{ endpoint, want string }{
		{"grpc://127.0.0.1:1", "remote cache grpc://127.0.0.1:1: unreachable: "},
		{"http://127.0.0.1:8080", `unsupported scheme "http"`},
		{"https://cache.example", `unsupported scheme "https"`},
		{"unix:///tmp/sock", `unsupported scheme "unix"`},
		{"grpc://127.0.0.1", "want grpc://host:port"},
		{"grpcs://host:1/path", "want grpc://host:port"},
		{"", "want grpc://host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			c, err := Dial(context.Background(), tt.endpoint)
			if err == nil {
				c.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	if _, err := Dial(context.Background(), "grpcs://127.0.0.1:1", WithCAFile(filepath.Join(t.TempDir(), "none.pem"))); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("missing CA file: error %v", err)
	}
}

// helperScript writes a credential helper that prints header and counts its
// runs in the returned file.
func helperScript(t *testing.T, header string) (path, runs string) {
	dir := t.TempDir()
	path, runs = filepath.Join(dir, "helper.sh"), filepath.Join(dir, "runs")
	src := fmt.Sprintf("#!/bin/sh\necho run >> %q\ncat >/dev/null\necho '{\"headers\":{\"Authorization\":[\"%s\"]}}'\n", runs, header)
	if err := os.WriteFile(path, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, runs
}

func TestAuth(t *testing.T) {
	v := env(t, "RULES_IMG_TEST_REAPI_AUTH", "RULES_IMG_TEST_REAPI_TOKEN")
	endpoint, token := v[0], v[1]
	ctx := context.Background()

	refused := []struct {
		name string
		opts []Option
	}{
		{"no token", nil},
		{"wrong token", []Option{WithHeaders(map[string]string{"authorization": "Bearer nope"})}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dial(ctx, endpoint, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), "IMG_CREDENTIAL_HELPER") || !strings.Contains(err.Error(), endpoint) {
				t.Fatalf("error %v: want the endpoint and advice about IMG_CREDENTIAL_HELPER", err)
			}
			if strings.Contains(err.Error(), "nope") {
				t.Errorf("error %q leaks the header value", err)
			}
		})
	}

	t.Run("credential helper", func(t *testing.T) {
		helper, runs := helperScript(t, "Bearer "+token)
		// The helper's header wins over a static one of the same name.
		c := dial(t, endpoint, WithHeaders(map[string]string{"Authorization": "Bearer nope"}), WithCredentialHelper(helper))
		d := mustWrite(t, c, 2000)
		if _, err := c.ReadBlob(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FindMissing(ctx, []Digest{d}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(runs)
		if n := strings.Count(string(b), "run"); n != 1 {
			t.Errorf("helper ran %d times, want 1 (cached)", n)
		}
	})

	t.Run("failing credential helper", func(t *testing.T) {
		helper := filepath.Join(t.TempDir(), "fail.sh")
		os.WriteFile(helper, []byte("#!/bin/sh\necho 'no login' >&2\nexit 4\n"), 0o755)
		_, err := Dial(ctx, endpoint, WithCredentialHelper(helper))
		if err == nil || !strings.Contains(err.Error(), helper) || !strings.Contains(err.Error(), "no login") {
			t.Fatalf("error %v: want the helper and its stderr", err)
		}
	})
}

func TestTLS(t *testing.T) {
	v := env(t, "RULES_IMG_TEST_REAPI_TLS", "RULES_IMG_TEST_REAPI_CA")
	endpoint, ca := v[0], v[1]
	c := dial(t, endpoint, WithCAFile(ca))
	d := mustWrite(t, c, 100)
	if _, err := c.ReadBlob(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	bare := strings.TrimPrefix(endpoint, "grpcs://")
	dial(t, bare, WithCAFile(ca)) // host:port means TLS
	for _, tt := range []struct {
		name, endpoint string
		opts           []Option
	}{
		{"without CA", endpoint, nil},
		{"plaintext to TLS", "grpc://" + bare, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dial(context.Background(), tt.endpoint, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.endpoint) {
				t.Fatalf("error %v: want one naming %s", err, tt.endpoint)
			}
			t.Log(err)
		})
	}
}

func TestOpenRetriesUnavailable(t *testing.T) {
	// A client whose server went away after Dial: every attempt is UNAVAILABLE.
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &Client{endpoint: "grpc://127.0.0.1:1", conn: conn, bs: bspb.NewByteStreamClient(conn)}
	_, d := blob(t, 10)
	start := time.Now()
	_, err = c.Open(context.Background(), d)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("Open gave up after %s; want 3 attempts with 100+200 ms backoff", took)
	}
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), d.String()) {
		t.Errorf("error %v: want unreachable, naming %s", err, d)
	}
}
