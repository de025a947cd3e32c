// Package verify checks blobs while they are read.
package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// Reader checks size and digest of what is read through it: it fails at
// the first byte past the size, and instead of io.EOF when size or digest
// differ, so that an upload or write of wrong content never completes.
// Close closes the underlying reader.
type Reader struct {
	rc     io.ReadCloser
	name   string
	digest string
	size   int64
	h      hash.Hash
	n      int64
	err    error
}

// NewReader checks rc against digest ("sha256:<hex>") and size; name
// identifies the blob in errors.
func NewReader(rc io.ReadCloser, name, digest string, size int64) *Reader {
	return &Reader{rc: rc, name: name, digest: digest, size: size, h: sha256.New()}
}

func (v *Reader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if rest := v.size - v.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.size:
		v.err = fmt.Errorf("%s: longer than the %d bytes of %s", v.name, v.size, v.digest)
		return n, v.err
	case err == io.EOF:
		if v.n != v.size {
			v.err = fmt.Errorf("%s: %d bytes, want %d", v.name, v.n, v.size)
			return n, v.err
		}
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.digest {
			v.err = fmt.Errorf("%s: content is %s, want %s", v.name, got, v.digest)
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

// Close closes the underlying reader.
func (v *Reader) Close() error { return v.rc.Close() }
