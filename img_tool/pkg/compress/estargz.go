package compress

import (
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/containerd/stargz-snapshotter/estargz"
	"github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// estargzWriter feeds the tar stream through a pipe into the eStargz
// writer, which re-frames each file as its own gzip member and appends the
// table of contents. It stays one pass: the library hashes the uncompressed
// stream it produces (the diff_id) and we hash and count its output.
//
// The library parses the tar with rules of its own, so the stream must
// already have passed tarpolicy: `img layer` writes it, and `img compress`
// checks each member (tarpolicy.CopyChecked) before its bytes reach this
// writer, so that a rejected member is reported by name, not by the library.
type estargzWriter struct {
	pw   *io.PipeWriter
	done chan error
	sw   *estargz.Writer
	out  *countingHash
	comp *countingCompressor
}

func newEstargzWriter(dst io.Writer, o options) *estargzWriter {
	level := o.level
	if level == -1 {
		level = gzip.DefaultCompression
	}
	pr, pw := io.Pipe()
	w := &estargzWriter{
		pw:   pw,
		done: make(chan error, 1),
		out:  newCountingHash(dst),
		comp: &countingCompressor{level: level},
	}
	w.sw = estargz.NewWriterWithCompressor(w.out, w.comp)
	go func() {
		err := w.sw.AppendTar(pr)
		pr.CloseWithError(err) // unblock the producer if the library stopped early
		w.done <- err
	}()
	return w
}

func (w *estargzWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *estargzWriter) Close() (Result, error) {
	w.pw.Close()
	if err := <-w.done; err != nil {
		return Result{}, fmt.Errorf("estargz: %w", err)
	}
	toc, err := w.sw.Close()
	if err != nil {
		return Result{}, fmt.Errorf("estargz: %w", err)
	}
	return Result{
		Digest:           w.out.digest(),
		Size:             w.out.n,
		DiffID:           w.sw.DiffID(),
		UncompressedSize: w.comp.n,
		MediaType:        metadata.MediaTypeTarGzip,
		Annotations: map[string]string{
			metadata.AnnotationTOCDigest:        toc.String(),
			metadata.AnnotationUncompressedSize: strconv.FormatInt(w.comp.n, 10),
		},
	}, nil
}

// countingCompressor is the library's gzip compressor with three changes:
// the chunks use klauspost's faster gzip, every uncompressed byte is
// counted (file chunks through Writer, the TOC entry through the diff
// hash), which gives the uncompressed-size annotation without a second
// pass, and the table of contents is streamed (writeTOCAndFooter). The
// bytes are those of the library's compressor.
type countingCompressor struct {
	level int
	n     int64
	gz    *countingGzip
}

func (c *countingCompressor) Writer(w io.Writer) (estargz.WriteFlushCloser, error) {
	// The library closes each chunk's writer before it asks for the next,
	// so one gzip writer, reset per chunk, serves them all: a layer of many
	// small files would otherwise allocate a compressor per file.
	if c.gz == nil {
		gz, err := gzip.NewWriterLevel(w, c.level)
		if err != nil {
			return nil, err
		}
		c.gz = &countingGzip{Writer: gz, n: &c.n}
	} else {
		c.gz.Reset(w) // clears the header too
	}
	// This gzip writer puts the Unix time of ModTime into MTIME even for
	// the zero time.Time; the epoch gives MTIME 0, "no time stamp".
	c.gz.ModTime = time.Unix(0, 0)
	return c.gz, nil
}

func (c *countingCompressor) WriteTOCAndFooter(w io.Writer, off int64, toc *estargz.JTOC, diffHash hash.Hash) (digest.Digest, error) {
	return writeTOCAndFooter(w, off, toc, &countedHash{Hash: diffHash, n: &c.n}, c.level)
}

type countingGzip struct {
	*gzip.Writer
	n *int64
}

func (g *countingGzip) Write(p []byte) (int, error) {
	n, err := g.Writer.Write(p)
	*g.n += int64(n)
	return n, err
}

type countedHash struct {
	hash.Hash
	n *int64
}

func (h *countedHash) Write(p []byte) (int, error) {
	*h.n += int64(len(p))
	return h.Hash.Write(p)
}
