package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobLayer is one blob as the go-containerregistry pusher wants it. The
// pusher calls Compressed once per upload attempt; open must return a fresh
// reader each time, which fails instead of returning io.EOF when the
// content does not match the descriptor.
type blobLayer struct {
	desc   Descriptor
	hash   v1.Hash
	open   func() (io.ReadCloser, error)
	opened atomic.Int32
}

var _ v1.Layer = (*blobLayer)(nil)

// opens is the number of Compressed calls: 0 when the blob was never read
// (it existed or was mounted).
func (l *blobLayer) opens() int32 { return l.opened.Load() }

func (l *blobLayer) Digest() (v1.Hash, error) { return l.hash, nil }
func (l *blobLayer) Size() (int64, error)     { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.desc.MediaType), nil
}

func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	l.opened.Add(1)
	return l.open()
}

var errNoDiffID = errors.New("deploy pushes blobs as they are: no diff_id, no uncompressed content")

func (l *blobLayer) DiffID() (v1.Hash, error)             { return v1.Hash{}, errNoDiffID }
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) { return nil, errNoDiffID }

// verifier checks size and digest of what is read through it: it fails at
// the first byte past the size, and instead of io.EOF when size or digest
// differ, so that an upload of wrong content never completes.
type verifier struct {
	rc   io.ReadCloser
	name string
	want Descriptor
	h    hash.Hash
	n    int64
	err  error
}

func newVerifier(rc io.ReadCloser, name string, want Descriptor) *verifier {
	return &verifier{rc: rc, name: name, want: want, h: sha256.New()}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if rest := v.want.Size - v.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.want.Size:
		v.err = fmt.Errorf("%s: longer than the %d bytes of %s", v.name, v.want.Size, v.want.Digest)
		return n, v.err
	case err == io.EOF:
		if v.n != v.want.Size {
			v.err = fmt.Errorf("%s: %d bytes, the deploy manifest says %d", v.name, v.n, v.want.Size)
			return n, v.err
		}
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want.Digest {
			v.err = fmt.Errorf("%s: content is %s, the deploy manifest says %s", v.name, got, v.want.Digest)
			return n, v.err
		}
		v.err = io.EOF
		return n, io.EOF
	case err != nil:
		v.err = fmt.Errorf("%s: %w", v.name, err)
		return n, v.err
	}
	return n, nil
}

func (v *verifier) Close() error { return v.rc.Close() }
