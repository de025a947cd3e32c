package deploy

import (
	"errors"
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
