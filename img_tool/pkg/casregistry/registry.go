// Package casregistry is an OCI distribution registry whose blob store is a
// Bazel remote cache (the CAS of the Remote Execution API). It backs the
// cas_registry push strategy: Bazel builds image layers into its remote
// cache, and this registry serves them straight from there, so a push only
// sends manifests.
//
// The CAS addresses blobs by (hash, size) while registry requests name only
// the hash, so the Registry keeps an in-memory size index, hash → size. It
// learns sizes from the Blobs.Commit gRPC call (see RegisterGRPC and Commit),
// from finished blob uploads, and from the config and layer descriptors of
// image manifests PUT through it. A blob is served iff its size is known and
// the CAS holds it (or, with WithDiskDir, a file holds it).
//
// Manifests and tags live in memory only (go-containerregistry's
// pkg/registry serves them) and are lost when the process exits; so is the
// size index.
package casregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// CAS is the part of a REAPI content-addressable storage the registry uses.
// *reapi.Client implements it.
type CAS interface {
	// FindMissing returns those of the digests that the CAS does not hold.
	FindMissing(ctx context.Context, ds []reapi.Digest) ([]reapi.Digest, error)
	// Open streams a blob. For a blob the CAS does not hold, the error (from
	// Open or from reading) wraps reapi.ErrNotFound.
	Open(ctx context.Context, d reapi.Digest) (io.ReadCloser, error)
	// Write stores a blob whose content r yields.
	Write(ctx context.Context, d reapi.Digest, r io.Reader) error
}

// presentTTL is how long a positive answer of the CAS is trusted before a
// HEAD asks it again (remote caches evict).
const presentTTL = time.Minute

// maxManifest bounds the manifest bodies the registry reads to learn sizes.
const maxManifest = 4 << 20

// Registry serves the OCI distribution API over a CAS. Create it with New.
type Registry struct {
	cas     CAS
	ggcr    http.Handler
	diskDir string
	logMu   sync.Mutex
	log     io.Writer

	mu    sync.Mutex
	index map[string]entry // by lowercase hex sha256
}

type entry struct {
	size int64
	seen time.Time // when the CAS last confirmed it holds the blob; zero: never
}

// Option configures a Registry.
type Option func(*Registry)

// WithAccessLog writes one line per HTTP request to w:
// "METHOD PATH STATUS BYTES", where BYTES counts the request body read for
// PUT, PATCH and POST, and the response body written otherwise.
func WithAccessLog(w io.Writer) Option { return func(r *Registry) { r.log = w } }

// WithDiskDir serves blobs that the CAS does not hold from DIR/sha256/HEX
// when that file exists.
func WithDiskDir(dir string) Option { return func(r *Registry) { r.diskDir = dir } }

// New returns a registry whose blobs live in cas.
func New(cas CAS, opts ...Option) *Registry {
	r := &Registry{cas: cas, index: map[string]entry{}}
	for _, o := range opts {
		o(r)
	}
	r.ggcr = registry.New(registry.WithBlobHandler(blobStore{r}),
		registry.Logger(log.New(io.Discard, "", 0)))
	return r
}

// Handler returns the HTTP handler of the registry, to be mounted at "/".
func (r *Registry) Handler() http.Handler { return http.HandlerFunc(r.serveHTTP) }

// learn records d's size. present says the CAS has just confirmed it holds
// d; such sizes are never replaced by those claimed in manifests.
func (r *Registry) learn(d reapi.Digest, present bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.index[d.Hash]
	switch {
	case present:
		r.index[d.Hash] = entry{d.SizeBytes, time.Now()}
	case !ok || e.seen.IsZero():
		r.index[d.Hash] = entry{size: d.SizeBytes}
	}
}

func (r *Registry) lookup(hash string) (entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.index[hash]
	return e, ok
}

func (r *Registry) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body := &countReader{r: req.Body}
	if req.Body != nil {
		req.Body = body
	}
	cw := &countWriter{ResponseWriter: w, status: http.StatusOK}
	elem := strings.Split(strings.TrimPrefix(req.URL.Path, "/v2/"), "/")
	n := len(elem)
	switch {
	case n >= 3 && elem[n-2] == "blobs" && elem[n-1] != "uploads" &&
		(req.Method == http.MethodGet || req.Method == http.MethodHead):
		r.serveBlob(cw, req, elem[n-1])
	case n >= 3 && elem[n-2] == "manifests" && req.Method == http.MethodPut:
		r.putManifest(cw, req)
	default:
		r.ggcr.ServeHTTP(cw, req)
	}
	if r.log != nil {
		n := cw.n
		switch req.Method {
		case http.MethodPut, http.MethodPatch, http.MethodPost:
			n = body.n
		}
		r.logMu.Lock()
		fmt.Fprintf(r.log, "%s %s %d %d\n", req.Method, req.URL.Path, cw.status, n)
		r.logMu.Unlock()
	}
}

// serveBlob answers GET and HEAD of /v2/NAME/blobs/DIGEST from the CAS, or
// the disk directory.
func (r *Registry) serveBlob(w http.ResponseWriter, req *http.Request, digest string) {
	ctx := req.Context()
	parsed, err := reapi.FromOCI(digest, 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	}
	hash := parsed.Hash
	if e, ok := r.lookup(hash); ok {
		d := reapi.Digest{Hash: hash, SizeBytes: e.size}
		if req.Method == http.MethodHead {
			if time.Since(e.seen) < presentTTL {
				writeBlobHeaders(w, d)
				return
			}
			missing, err := r.cas.FindMissing(ctx, []reapi.Digest{d})
			if err != nil {
				writeError(w, http.StatusBadGateway, "UNKNOWN", fmt.Sprintf("blob %s: %v", d, err))
				return
			}
			if len(missing) == 0 {
				r.learn(d, true)
				writeBlobHeaders(w, d)
				return
			}
		} else {
			served, err := r.streamCAS(ctx, w, d)
			if served {
				return
			}
			if !errors.Is(err, reapi.ErrNotFound) {
				writeError(w, http.StatusBadGateway, "UNKNOWN", fmt.Sprintf("blob %s: %v", d, err))
				return
			}
		}
	}
	if r.diskDir != "" {
		if f, err := os.Open(filepath.Join(r.diskDir, "sha256", hash)); err == nil {
			defer f.Close()
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Header().Set("Docker-Content-Digest", digest)
				http.ServeContent(w, req, "", time.Time{}, f)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", fmt.Sprintf("blob %s unknown to the registry", digest))
}

// streamCAS serves d's content. Before anything is written it reads the
// first chunk, so that a blob missing from the CAS still turns into an error
// (served is false) rather than a broken 200.
func (r *Registry) streamCAS(ctx context.Context, w http.ResponseWriter, d reapi.Digest) (served bool, err error) {
	rc, err := r.cas.Open(ctx, d)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	head := make([]byte, min(d.SizeBytes, 64<<10))
	if _, err := io.ReadFull(rc, head); err != nil {
		return false, err
	}
	r.learn(d, true)
	writeBlobHeaders(w, d)
	if _, err := w.Write(head); err == nil {
		io.Copy(w, rc) // A failure mid-body can only cut the response short.
	}
	return true, nil
}

func writeBlobHeaders(w http.ResponseWriter, d reapi.Digest) {
	w.Header().Set("Content-Length", strconv.FormatInt(d.SizeBytes, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", d.OCI())
	w.WriteHeader(http.StatusOK)
}

// writeError writes an OCI distribution error response.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	type e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Errors []e `json:"errors"`
	}{[]e{{code, msg}}})
}

// putManifest hands a manifest PUT to the in-memory manifest store and, once
// stored, learns the sizes of the blobs it references.
func (r *Registry) putManifest(w *countWriter, req *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(req.Body, maxManifest+1))
	if err != nil || len(raw) > maxManifest {
		writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", fmt.Sprintf("manifest unreadable or larger than %d bytes", maxManifest))
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	r.ggcr.ServeHTTP(w, req)
	if w.status/100 != 2 {
		return
	}
	// Image manifests (OCI and Docker) name their blobs in config and
	// layers; indexes reference manifests only, which are not CAS blobs.
	var m struct {
		Config *v1.Descriptor
		Layers []v1.Descriptor
	}
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	if m.Config != nil {
		m.Layers = append(m.Layers, *m.Config)
	}
	for _, desc := range m.Layers {
		if d, err := reapi.FromOCI(desc.Digest.String(), desc.Size); err == nil {
			r.learn(d, false)
		}
	}
}

// blobStore is the blob handler of the ggcr registry: it takes uploads into
// the CAS. Blob GET and HEAD never reach it (serveBlob answers them).
type blobStore struct{ r *Registry }

// Get implements registry.BlobHandler.
func (b blobStore) Get(ctx context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	e, ok := b.r.lookup(h.Hex)
	if !ok || h.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: %w", h, reapi.ErrNotFound)
	}
	return b.r.cas.Open(ctx, reapi.Digest{Hash: h.Hex, SizeBytes: e.size})
}

// Put implements registry.BlobPutHandler. rc verifies the digest (and the
// size, when the client sent it) as it is read; the content is spooled to a
// temporary file since the CAS needs the size before the content.
func (b blobStore) Put(ctx context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	if h.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 digests are supported", h)
	}
	f, err := os.CreateTemp("", "casregistry-upload-")
	if err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, rc)
	if err != nil {
		return fmt.Errorf("blob %s: receiving upload: %w", h, err)
	}
	d := reapi.Digest{Hash: h.Hex, SizeBytes: n}
	missing, err := b.r.cas.FindMissing(ctx, []reapi.Digest{d})
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if len(missing) > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("blob %s: %w", d, err)
		}
		if err := b.r.cas.Write(ctx, d, f); err != nil {
			return fmt.Errorf("blob %s: writing to the CAS: %w", d, err)
		}
	}
	b.r.learn(d, true)
	return nil
}

type countReader struct {
	r io.ReadCloser
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) Close() error { return c.r.Close() }

type countWriter struct {
	http.ResponseWriter
	status      int
	n           int64
	wroteHeader bool
}

func (c *countWriter) WriteHeader(status int) {
	if !c.wroteHeader {
		c.status, c.wroteHeader = status, true
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.wroteHeader = true
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *countWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
