package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/rules-img/rules_img/img_tool/pkg/limits"
)

// MaxManifestSize bounds the manifests that Manifest reads.
const MaxManifestSize = limits.MaxManifestSize

// ManifestMediaTypes are the manifest media types that Manifest asks for, in
// order of preference.
var ManifestMediaTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}

// Repository is one repository on one registry host.
//
// The first request resolves credentials and authenticates (ping, token);
// later requests reuse that. It is safe for concurrent use. Every error
// starts with "registry HOST repository NAME: ".
type Repository struct {
	c    *Client
	host string
	name string
	ref  name.Repository

	mu        sync.Mutex
	client    *http.Client
	haveCreds bool
}

// Repository returns the repository named repository (e.g. "library/ubuntu")
// on the registry host (e.g. "index.docker.io", "127.0.0.1:5000"). It does
// not reach the network.
func (c *Client) Repository(host, repository string) (*Repository, error) {
	if host == "" {
		return nil, fmt.Errorf("registry %q repository %s: empty registry", host, repository)
	}
	if repository == "" {
		return nil, fmt.Errorf("registry %s repository %q: empty repository", host, repository)
	}
	opts := append([]name.Option{name.StrictValidation}, c.NameOptions(host)...)
	ref, err := name.NewRepository(host+"/"+repository, opts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s repository %s: %w", host, repository, err)
	}
	return &Repository{c: c, host: host, name: repository, ref: ref}, nil
}

// Registry is the registry host as given to Client.Repository.
func (r *Repository) Registry() string { return r.host }

// Name is the repository name as given to Client.Repository.
func (r *Repository) Name() string { return r.name }

// Errorf returns an error that names the registry and the repository.
func (r *Repository) Errorf(format string, args ...any) error {
	return fmt.Errorf("registry %s repository %s: %w", r.host, r.name, fmt.Errorf(format, args...))
}

// wrap names the registry and the repository in err, turns a 401 or 403
// into an *AuthError and sanitizes the rest (see Sanitize).
func (r *Repository) wrap(err error) error {
	r.mu.Lock()
	have := r.haveCreds
	r.mu.Unlock()
	if aerr := asAuthError(err, r.host, r.name, r.c.ConfigPath(), have); aerr != nil {
		return aerr
	}
	return Sanitize(fmt.Errorf("registry %s repository %s: %w", r.host, r.name, err))
}

// httpClient authenticates once and returns the client for this repository.
func (r *Repository) httpClient(ctx context.Context) (*http.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client, nil
	}
	auth, err := authn.Resolve(ctx, r.c.keys, r.ref)
	if err != nil {
		return nil, err
	}
	r.haveCreds = auth != authn.Anonymous
	rt, err := transport.NewWithContext(ctx, r.ref.Registry, auth, r.c.wrapped, []string{r.ref.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	r.client = &http.Client{Transport: rt}
	return r.client, nil
}

func (r *Repository) get(ctx context.Context, kind, reference string, accept []string) (*http.Response, error) {
	client, err := r.httpClient(ctx)
	if err != nil {
		return nil, err
	}
	u := url.URL{
		Scheme: r.ref.Scheme(),
		Host:   r.ref.RegistryStr(),
		Path:   fmt.Sprintf("/v2/%s/%s/%s", r.ref.RepositoryStr(), kind, reference),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if len(accept) > 0 {
		req.Header.Set("Accept", strings.Join(accept, ","))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if kind == "manifests" && resp.StatusCode == http.StatusOK && resp.ContentLength > MaxManifestSize {
		resp.Body.Close()
		return nil, fmt.Errorf("Content-Length %d is more than the limit of %d bytes", resp.ContentLength, MaxManifestSize)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

var errTooLarge = errors.New("too large")

// readLimited reads r to the end, or fails with errTooLarge after limit
// bytes. It reads in chunks, so that a body that turns out too large never
// holds more than limit bytes and a growing buffer's spare capacity.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	const chunk = 1 << 20
	var chunks [][]byte
	var n int64
	for {
		buf := make([]byte, chunk)
		m, err := io.ReadFull(r, buf)
		n += int64(m)
		if n > limit {
			return nil, errTooLarge
		}
		chunks = append(chunks, buf[:m])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	data := make([]byte, 0, n)
	for _, c := range chunks {
		data = append(data, c...)
	}
	return data, nil
}

// Manifest is a manifest as the registry served it.
type Manifest struct {
	// MediaType is the "mediaType" field of the manifest, else the
	// Content-Type of the answer.
	MediaType string
	// Digest is the sha256 digest of Bytes, computed here.
	Digest string
	// Bytes is the manifest as served.
	Bytes []byte
}

// Manifest fetches the manifest for reference, a tag or a digest, accepting
// ManifestMediaTypes. It does not compare the digest with reference: the
// caller decides what a mismatch means.
func (r *Repository) Manifest(ctx context.Context, reference string) (*Manifest, error) {
	resp, err := r.get(ctx, "manifests", reference, ManifestMediaTypes)
	if err != nil {
		return nil, r.wrap(fmt.Errorf("manifest %s: %w", reference, err))
	}
	defer resp.Body.Close()
	data, err := readLimited(resp.Body, MaxManifestSize)
	if errors.Is(err, errTooLarge) {
		return nil, r.Errorf("manifest %s: larger than %d bytes", reference, MaxManifestSize)
	}
	if err != nil {
		return nil, r.wrap(fmt.Errorf("manifest %s: %w", reference, err))
	}
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, r.Errorf("manifest %s: not JSON: %w", reference, err)
	}
	mt := probe.MediaType
	if mt == "" {
		mt, _, _ = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	}
	sum := sha256.Sum256(data)
	return &Manifest{MediaType: mt, Digest: "sha256:" + hex.EncodeToString(sum[:]), Bytes: data}, nil
}

// Blob opens the blob with the given digest ("sha256:..."). size is the
// expected size, or -1 when unknown: then the client's maximum blob size
// bounds it (see WithMaxBlobSize). Any other negative size, and one above
// MaxBlobSizeLimit, is an error.
//
// The reader fails instead of returning io.EOF when the content does not
// match size and digest, so a caller that reads to io.EOF has verified it.
// The caller must close it.
func (r *Repository) Blob(ctx context.Context, digest string, size int64) (io.ReadCloser, error) {
	want, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		return nil, r.Errorf("blob %s: only sha256 digests are supported", digest)
	}
	limit := r.c.o.maxBlobSize
	if size != -1 {
		if err := CheckSize(size); err != nil {
			return nil, r.Errorf("blob %s: %w", digest, err)
		}
	}
	resp, err := r.get(withBodyLimit(ctx, -1), "blobs", digest, nil)
	if err != nil {
		return nil, r.wrap(fmt.Errorf("blob %s: %w", digest, err))
	}
	if size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != size {
		resp.Body.Close()
		return nil, r.Errorf("blob %s: Content-Length is %d, want %d", digest, resp.ContentLength, size)
	}
	if size < 0 && resp.ContentLength > limit {
		resp.Body.Close()
		return nil, r.Errorf("blob %s: Content-Length %d is more than the limit of %d bytes for a blob of unknown size", digest, resp.ContentLength, limit)
	}
	return &verifiedReader{r: r, body: resp.Body, digest: digest, want: want, size: size, limit: limit, h: sha256.New()}, nil
}

// verifiedReader checks size and digest of a blob at EOF.
type verifiedReader struct {
	r      *Repository
	body   io.ReadCloser
	digest string
	want   string
	size   int64
	limit  int64 // bounds a blob of unknown size
	n      int64
	h      hash.Hash
	err    error
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	bound := v.size
	if bound < 0 {
		bound = v.limit
	}
	if int64(len(p)) > bound-v.n+1 {
		// Never read more than one byte past the expected end.
		p = p[:bound-v.n+1]
	}
	n, err := v.body.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.size >= 0 && v.n > v.size:
		v.err = v.r.Errorf("blob %s: longer than its size of %d bytes", v.digest, v.size)
		return n, v.err
	case v.n > bound:
		v.err = v.r.Errorf("blob %s: longer than the limit of %d bytes for a blob of unknown size", v.digest, bound)
		return n, v.err
	case err == io.EOF:
		if v.size >= 0 && v.n != v.size {
			v.err = v.r.Errorf("blob %s: shorter than its size: %d bytes, want %d", v.digest, v.n, v.size)
			return n, v.err
		}
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			v.err = v.r.Errorf("blob %s: content has digest sha256:%s", v.digest, got)
			return n, v.err
		}
		v.err = io.EOF
		return n, io.EOF
	case err != nil:
		v.err = v.r.wrap(fmt.Errorf("blob %s: %w", v.digest, err))
		return n, v.err
	}
	return n, nil
}

func (v *verifiedReader) Close() error { return v.body.Close() }

// ReadBlob reads a whole blob of at most limit bytes and verifies it.
func (r *Repository) ReadBlob(ctx context.Context, digest string, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, r.Errorf("blob %s: %d bytes is more than the limit of %d", digest, size, limit)
	}
	rc, err := r.Blob(ctx, digest, size)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, r.Errorf("blob %s: more than the limit of %d bytes", digest, limit)
	}
	return buf.Bytes(), nil
}
