package load

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// verifier checks size and digest of what is read through it: it fails at
// the first byte past the size, and instead of io.EOF when size or digest
// differ, so that a write of wrong content never commits.
type verifier struct {
	rc   io.ReadCloser
	name string
	want ocispec.Descriptor
	h    hash.Hash
	n    int64
	err  error
}

func newVerifier(rc io.ReadCloser, name string, want ocispec.Descriptor) *verifier {
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
			v.err = fmt.Errorf("%s: %d bytes, want %d", v.name, v.n, v.want.Size)
			return n, v.err
		}
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want.Digest.String() {
			v.err = fmt.Errorf("%s: content is %s, want %s", v.name, got, v.want.Digest)
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
