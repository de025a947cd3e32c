package estargz

import (
	"bytes"
	"hash"
	"io"
	"time"

	stargz "github.com/containerd/stargz-snapshotter/estargz"
	"github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"
)

// The independent checker: the containerd stargz-snapshotter writer with a
// compressor whose chunk members come from klauspost's gzip (MTIME 0) and
// whose table of contents is the library's own, the writer rules_img used
// before this package.

type referenceCompressor struct {
	level int
	gz    *gzip.Writer
}

// Writer resets one gzip writer per member (the library closes a member's
// writer before it asks for the next): allocating one per member makes
// layers of many files slow to write.
func (c *referenceCompressor) Writer(w io.Writer) (stargz.WriteFlushCloser, error) {
	if c.gz == nil {
		gz, err := gzip.NewWriterLevel(w, c.level)
		if err != nil {
			return nil, err
		}
		c.gz = gz
	} else {
		c.gz.Reset(w)
	}
	c.gz.ModTime = time.Unix(0, 0)
	return c.gz, nil
}

func (c *referenceCompressor) WriteTOCAndFooter(w io.Writer, off int64, toc *stargz.JTOC, diffHash hash.Hash) (digest.Digest, error) {
	return stargz.NewGzipCompressorWithLevel(c.level).WriteTOCAndFooter(w, off, toc, diffHash)
}

type reference struct {
	blob      []byte
	tocDigest digest.Digest
	diffID    string
	err       error
}

// referenceBlob writes tarball with the library.
func referenceBlob(tarball []byte, level, chunkSize int) reference {
	var out bytes.Buffer
	sw := stargz.NewWriterWithCompressor(&out, &referenceCompressor{level: level})
	sw.ChunkSize = chunkSize
	if err := sw.AppendTar(bytes.NewReader(tarball)); err != nil {
		return reference{err: err}
	}
	d, err := sw.Close()
	if err != nil {
		return reference{err: err}
	}
	return reference{blob: out.Bytes(), tocDigest: d, diffID: sw.DiffID()}
}

// ourBlob writes tarball with this package.
func ourBlob(tarball []byte, level, chunkSize int, tmp string) ([]byte, Result, error) {
	var out bytes.Buffer
	w, err := NewWriter(&out, WithLevel(level), WithChunkSize(chunkSize), WithTempDir(tmp))
	if err != nil {
		return nil, Result{}, err
	}
	appendErr := w.AppendTar(bytes.NewReader(tarball))
	res, err := w.Close()
	if appendErr != nil {
		return nil, Result{}, appendErr
	}
	return out.Bytes(), res, err
}
