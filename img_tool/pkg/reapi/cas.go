package reapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	findMissingBatch = 1000
	writeChunk       = 1 << 20
	// defaultBatchLimit applies when the server gives no max_batch_total_size_bytes.
	defaultBatchLimit = 4 << 20
	// batchOverhead is room for the envelope of a BatchReadBlobs response.
	batchOverhead = 1 << 10
	openAttempts  = 3
	firstBackoff  = 100 * time.Millisecond
)

// emptyBlob is the digest of no bytes.
var emptyBlob = Digest{Hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}

func (d Digest) proto() *repb.Digest { return &repb.Digest{Hash: d.Hash, SizeBytes: d.SizeBytes} }

// blobError wraps the error of an RPC about d; NOT_FOUND becomes ErrNotFound.
func (c *Client) blobError(op string, d Digest, err error) error {
	if status.Code(err) == codes.NotFound {
		return fmt.Errorf("remote cache %s: blob %s: %w", c.endpoint, d, ErrNotFound)
	}
	return c.rpcError(fmt.Sprintf("%s blob %s", op, d), err)
}

// FindMissing returns the digests of ds that the cache does not hold, in
// the server's order. It asks in batches of at most 1000 digests. Empty
// blobs are never missing: this client neither uploads nor fetches them
// (Bazel's remote worker would report them missing).
func (c *Client) FindMissing(ctx context.Context, ds []Digest) ([]Digest, error) {
	var missing []Digest
	ds = slices.DeleteFunc(slices.Clone(ds), func(d Digest) bool { return d == emptyBlob })
	for start := 0; start < len(ds); start += findMissingBatch {
		req := &repb.FindMissingBlobsRequest{InstanceName: c.instance}
		for _, d := range ds[start:min(start+findMissingBatch, len(ds))] {
			req.BlobDigests = append(req.BlobDigests, d.proto())
		}
		resp, err := c.cas.FindMissingBlobs(ctx, req)
		if err != nil {
			return nil, c.rpcError(fmt.Sprintf("FindMissingBlobs (%d digests)", len(req.BlobDigests)), err)
		}
		for _, m := range resp.GetMissingBlobDigests() {
			missing = append(missing, Digest{Hash: m.GetHash(), SizeBytes: m.GetSizeBytes()})
		}
	}
	return missing, nil
}

// resourceName is a ByteStream resource name under the instance name.
func (c *Client) resourceName(parts ...string) string {
	return strings.TrimPrefix(c.instance+"/"+strings.Join(parts, "/"), "/")
}

// Open streams the content of blob d. Reading it past the end yields io.EOF
// only when the content matched d, else an error wrapping ErrCorrupt. A blob
// the cache does not hold is an error wrapping ErrNotFound. Transient errors
// (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED) are retried until the first
// data arrives. The caller must Close the reader.
func (c *Client) Open(ctx context.Context, d Digest) (io.ReadCloser, error) {
	if d.SizeBytes == 0 {
		return io.NopCloser(newVerifier(bytes.NewReader(nil), d, c.endpoint)), nil
	}
	req := &bspb.ReadRequest{ResourceName: c.resourceName("blobs", d.Hash, fmt.Sprint(d.SizeBytes))}
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithCancel(ctx)
		stream, err := c.bs.Read(sctx, req)
		var first *bspb.ReadResponse
		if err == nil {
			first, err = stream.Recv()
		}
		if err == nil || err == io.EOF {
			r := &blobReader{c: c, d: d, stream: stream, cancel: cancel}
			if err == io.EOF {
				r.err = io.EOF
			} else {
				r.buf = first.GetData()
				c.bytesRead.Add(int64(len(r.buf)))
			}
			return &readCloser{Reader: newVerifier(r, d, c.endpoint), Closer: r}, nil
		}
		cancel()
		switch status.Code(err) {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
			if attempt < openAttempts {
				select {
				case <-time.After(backoff):
					backoff *= 2
					continue
				case <-ctx.Done():
				}
			}
		}
		return nil, c.blobError("read", d, err)
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// blobReader is the data of a ByteStream Read.
type blobReader struct {
	c      *Client
	d      Digest
	stream bspb.ByteStream_ReadClient
	cancel context.CancelFunc
	buf    []byte
	err    error
}

func (r *blobReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		resp, err := r.stream.Recv()
		switch {
		case err == io.EOF:
			r.err = io.EOF
		case err != nil:
			r.err = r.c.blobError("read", r.d, err)
		default:
			r.buf = resp.GetData()
			r.c.bytesRead.Add(int64(len(r.buf)))
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *blobReader) Close() error {
	r.cancel()
	return nil
}

// ReadBlob returns the content of blob d, verified. Blobs that fit in a
// batch are fetched with BatchReadBlobs unless the server does not
// implement it; others are streamed as by Open.
func (c *Client) ReadBlob(ctx context.Context, d Digest) ([]byte, error) {
	limit := c.maxBatch
	if limit <= 0 {
		limit = defaultBatchLimit
	}
	if d.SizeBytes > 0 && d.SizeBytes+batchOverhead <= limit && !c.noBatchRead.Load() {
		resp, err := c.cas.BatchReadBlobs(ctx, &repb.BatchReadBlobsRequest{InstanceName: c.instance, Digests: []*repb.Digest{d.proto()}})
		switch {
		case status.Code(err) == codes.Unimplemented:
			c.noBatchRead.Store(true)
		case err != nil:
			return nil, c.blobError("BatchReadBlobs", d, err)
		case len(resp.GetResponses()) != 1:
			return nil, fmt.Errorf("remote cache %s: BatchReadBlobs of %s: got %d responses for 1 digest", c.endpoint, d, len(resp.GetResponses()))
		default:
			r := resp.GetResponses()[0]
			if err := status.FromProto(r.GetStatus()).Err(); err != nil {
				return nil, c.blobError("BatchReadBlobs", d, err)
			}
			c.bytesRead.Add(int64(len(r.GetData())))
			if err := check(d, int64(len(r.GetData())), sha256.Sum256(r.GetData()), c.endpoint); err != nil {
				return nil, err
			}
			return r.GetData(), nil
		}
	}
	rc, err := c.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, min(d.SizeBytes, 64<<20)))
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write uploads the content read from r as blob d with ByteStream.Write.
// Content that does not match d is an error wrapping ErrCorrupt, detected
// before the upload is finished. The server reporting the blob complete
// early (it has it already) is success; r is then not read to the end.
func (c *Client) Write(ctx context.Context, d Digest, r io.Reader) error {
	if d.SizeBytes == 0 {
		_, err := io.Copy(io.Discard, newVerifier(r, d, ""))
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // abandons the upload on early returns
	stream, err := c.bs.Write(ctx)
	if err != nil {
		return c.blobError("write", d, err)
	}
	name := c.resourceName("uploads", newUUID(), "blobs", d.Hash, fmt.Sprint(d.SizeBytes))
	h := sha256.New()
	buf := make([]byte, min(writeChunk, d.SizeBytes))
	for off := int64(0); off < d.SizeBytes; {
		chunk := buf[:min(int64(len(buf)), d.SizeBytes-off)]
		n, err := io.ReadFull(r, chunk)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("upload of blob %s to remote cache %s: content has only %d bytes: %w", d, c.endpoint, off+int64(n), ErrCorrupt)
		} else if err != nil {
			return fmt.Errorf("upload of blob %s to remote cache %s: reading content: %w", d, c.endpoint, err)
		}
		h.Write(chunk)
		last := off+int64(n) == d.SizeBytes
		if last {
			var sum [sha256.Size]byte
			h.Sum(sum[:0])
			if extra, _ := io.ReadFull(r, make([]byte, 1)); extra > 0 {
				return fmt.Errorf("upload of blob %s to remote cache %s: content is longer than %d bytes: %w", d, c.endpoint, d.SizeBytes, ErrCorrupt)
			}
			if err := check(d, d.SizeBytes, sum, ""); err != nil {
				return fmt.Errorf("upload to remote cache %s: %w", c.endpoint, err)
			}
		}
		err = stream.Send(&bspb.WriteRequest{ResourceName: name, WriteOffset: off, Data: chunk, FinishWrite: last})
		if err == io.EOF {
			break // the server ended the call; its status says why
		} else if err != nil {
			return c.blobError("write", d, err)
		}
		off += int64(n)
	}
	resp, err := stream.CloseAndRecv()
	if status.Code(err) == codes.AlreadyExists {
		return nil
	} else if err != nil {
		return c.blobError("write", d, err)
	}
	if got := resp.GetCommittedSize(); got != d.SizeBytes {
		return fmt.Errorf("remote cache %s: write blob %s: server committed %d bytes", c.endpoint, d, got)
	}
	return nil
}

// VerifyReader returns a reader of r's content that, at the end of r,
// returns io.EOF only if the content matches d: an excess, shortfall or
// hash mismatch is an error wrapping ErrCorrupt instead.
func VerifyReader(r io.Reader, d Digest) io.Reader { return newVerifier(r, d, "") }

func newVerifier(r io.Reader, d Digest, endpoint string) *verifier {
	return &verifier{r: r, d: d, endpoint: endpoint, h: sha256.New()}
}

type verifier struct {
	r        io.Reader
	d        Digest
	endpoint string // for errors; may be empty
	h        hash.Hash
	n        int64
	err      error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.d.SizeBytes {
		err = fmt.Errorf("blob %s%s: more than %d bytes: %w", v.d, from(v.endpoint), v.d.SizeBytes, ErrCorrupt)
	} else if err == io.EOF {
		var sum [sha256.Size]byte
		v.h.Sum(sum[:0])
		if cerr := check(v.d, v.n, sum, v.endpoint); cerr != nil {
			err = cerr
		}
	}
	v.err = err
	return n, err
}

// check compares a blob's size and hash with its digest.
func check(d Digest, size int64, sum [sha256.Size]byte, endpoint string) error {
	if got := hex.EncodeToString(sum[:]); size != d.SizeBytes || got != d.Hash {
		return fmt.Errorf("blob %s%s: content is %s/%d: %w", d, from(endpoint), got, size, ErrCorrupt)
	}
	return nil
}

func from(endpoint string) string {
	if endpoint == "" {
		return ""
	}
	return " from remote cache " + endpoint
}
