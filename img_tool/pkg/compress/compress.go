// Package compress turns an uncompressed tar stream into a layer blob in one
// pass: while the stream is compressed, the digest of the uncompressed bytes
// (the diff_id) and the digest and size of the compressed bytes are computed,
// so no input is ever read twice.
package compress

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/pgzip"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Format is a layer compression format.
type Format string

const (
	Gzip         Format = "gzip"
	Zstd         Format = "zstd"
	Uncompressed Format = "none"
)

// ErrInvalidArgument marks a bad option value.
var ErrInvalidArgument = errors.New("invalid argument")

// ParseFormat accepts the names used by the rules and the CLI.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "gzip":
		return Gzip, nil
	case "zstd":
		return Zstd, nil
	case "none", "uncompressed", "tar":
		return Uncompressed, nil
	}
	return "", fmt.Errorf("unknown compression format %q (want gzip, zstd or none): %w", s, ErrInvalidArgument)
}

// MediaType is the OCI layer media type of a blob in format f.
func (f Format) MediaType() string {
	switch f {
	case Gzip:
		return metadata.MediaTypeTarGzip
	case Zstd:
		return metadata.MediaTypeTarZstd
	}
	return metadata.MediaTypeTar
}

// Result describes a finished blob.
type Result struct {
	Digest           string // sha256 of the blob
	Size             int64  // size of the blob
	DiffID           string // sha256 of the uncompressed tar stream
	UncompressedSize int64
	MediaType        string
	// Annotations the layer descriptor needs (eStargz TOC digest and
	// uncompressed size); nil for plain layers.
	Annotations map[string]string
}

type options struct {
	format  Format
	level   int
	jobs    int
	estargz bool
}

// Option configures a Writer.
type Option func(*options) error

// WithFormat selects the compression. The default is Gzip.
func WithFormat(f Format) Option {
	return func(o *options) error {
		if _, err := ParseFormat(string(f)); err != nil {
			return err
		}
		o.format = f
		return nil
	}
}

// WithLevel sets the compression level: -1 (the default) is the library's
// default; gzip takes 0-9, zstd 1-4 (fastest, default, better, best).
func WithLevel(level int) Option {
	return func(o *options) error {
		o.level = level
		return nil
	}
}

// WithJobs sets how many goroutines compress in parallel. The default is 1.
// zstd at its default level always compresses at least two sections at
// once and at most four (see zstdSectionWindow). The output bytes do not depend
// on it.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("compressor jobs %d: must be at least 1: %w", n, ErrInvalidArgument)
		}
		o.jobs = n
		return nil
	}
}

// WithEstargz writes an eStargz blob (gzip only). The default is false.
func WithEstargz(on bool) Option {
	return func(o *options) error {
		o.estargz = on
		return nil
	}
}

// Writer compresses the uncompressed tar stream written to it.
//
// Write may be called from one goroutine at a time. Close must be called
// exactly once; it flushes everything to dst and returns the digests. dst is
// not closed. After an error from Write, Close returns that error too.
type Writer struct {
	impl interface {
		io.Writer
		Close() (Result, error)
	}
}

// NewWriter starts a blob written to dst.
func NewWriter(dst io.Writer, opts ...Option) (*Writer, error) {
	o := options{format: Gzip, level: -1, jobs: 1}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := checkLevel(o.format, o.level); err != nil {
		return nil, err
	}
	if o.estargz {
		if o.format != Gzip {
			return nil, fmt.Errorf("estargz needs gzip, not %s: %w", o.format, ErrInvalidArgument)
		}
		return &Writer{impl: newEstargzWriter(dst, o)}, nil
	}
	if o.format == Zstd && zstdSections(o.level) {
		z, err := newZstdWriter(dst, o)
		if err != nil {
			return nil, err
		}
		return &Writer{impl: z}, nil
	}
	p, err := newPipeline(dst, o)
	if err != nil {
		return nil, err
	}
	return &Writer{impl: p}, nil
}

// Write adds uncompressed bytes.
func (w *Writer) Write(p []byte) (int, error) { return w.impl.Write(p) }

// Close finishes the blob.
func (w *Writer) Close() (Result, error) { return w.impl.Close() }

func checkLevel(f Format, level int) error {
	ok := level == -1 || f == Uncompressed // a plain tar has no level to set
	switch f {
	case Gzip:
		ok = ok || 0 <= level && level <= 9
	case Zstd:
		ok = ok || 1 <= level && level <= 4
	}
	if !ok {
		return fmt.Errorf("compression level %d is not valid for %s: %w", level, f, ErrInvalidArgument)
	}
	return nil
}

// countingHash writes to w while hashing and counting what passes through.
type countingHash struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newCountingHash(w io.Writer) *countingHash { return &countingHash{w: w, h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	return n, err
}

func (c *countingHash) digest() string { return fmt.Sprintf("sha256:%x", c.h.Sum(nil)) }

// chunkSize is the unit handed between the pipeline's goroutines; gzipBlock
// is pgzip's block, fixed so that the bytes do not depend on jobs.
const (
	chunkSize = 256 << 10
	gzipBlock = 512 << 10
)

var chunkPool = sync.Pool{New: func() any { return &chunk{buf: make([]byte, 0, chunkSize)} }}

// chunk is shared read-only by the hasher and the compressor; the last of
// them to finish returns it to the pool.
type chunk struct {
	buf  []byte
	refs atomic.Int32
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		c.buf = c.buf[:0]
		chunkPool.Put(c)
	}
}

// pipeline runs the diff_id hash and the compressor (gzip, zstd but at its
// default level, or none) on separate goroutines, so that on two cores hashing,
// compressing and reading inputs overlap.
type pipeline struct {
	o       options
	cur     *chunk
	hashCh  chan *chunk
	compCh  chan *chunk
	wg      sync.WaitGroup
	diff    hash.Hash
	diffN   int64
	out     *countingHash
	comp    io.WriteCloser // nil for uncompressed
	compErr error
	closed  bool
}

func newPipeline(dst io.Writer, o options) (*pipeline, error) {
	p := &pipeline{
		o:      o,
		hashCh: make(chan *chunk, 8),
		compCh: make(chan *chunk, 8),
		diff:   sha256.New(),
		out:    newCountingHash(dst),
	}
	if o.format == Uncompressed {
		p.out.h = nil // the blob is the tar stream: its digest is the diff_id
	}
	var err error
	switch o.format {
	case Gzip:
		level := o.level
		if level == -1 {
			level = pgzip.DefaultCompression
		}
		var gz *pgzip.Writer
		gz, err = pgzip.NewWriterLevel(p.out, level)
		if err == nil {
			// The header's MTIME is the Unix time of ModTime, and the zero
			// time.Time is no zero there: the epoch writes MTIME 0, "no
			// time stamp" (RFC 1952). Name and comment stay empty.
			gz.ModTime = time.Unix(0, 0)
			err = gz.SetConcurrency(gzipBlock, o.jobs)
		}
		p.comp = gz
	case Zstd:
		p.comp, err = newZstdWholeStream(p.out, o)
	}
	if err != nil {
		return nil, fmt.Errorf("start %s compressor: %w", o.format, err)
	}
	p.wg.Add(2)
	go p.hashLoop()
	go p.compressLoop()
	return p, nil
}

func (p *pipeline) hashLoop() {
	defer p.wg.Done()
	for c := range p.hashCh {
		p.diff.Write(c.buf)
		p.diffN += int64(len(c.buf))
		c.release()
	}
}

func (p *pipeline) compressLoop() {
	defer p.wg.Done()
	for c := range p.compCh {
		if p.compErr == nil {
			if p.comp != nil {
				_, p.compErr = p.comp.Write(c.buf)
			} else {
				_, p.compErr = p.out.Write(c.buf)
			}
		}
		c.release()
	}
}

func (p *pipeline) flush() {
	if p.cur == nil || len(p.cur.buf) == 0 {
		return
	}
	c := p.cur
	p.cur = nil
	c.refs.Store(2)
	p.hashCh <- c
	p.compCh <- c
}

func (p *pipeline) Write(b []byte) (int, error) {
	if p.closed {
		return 0, errors.New("write after close")
	}
	n := len(b)
	for len(b) > 0 {
		if p.cur == nil {
			p.cur = chunkPool.Get().(*chunk)
		}
		take := min(chunkSize-len(p.cur.buf), len(b))
		p.cur.buf = append(p.cur.buf, b[:take]...)
		b = b[take:]
		if len(p.cur.buf) == chunkSize {
			p.flush()
		}
	}
	return n, nil
}

func (p *pipeline) Close() (Result, error) {
	if p.closed {
		return Result{}, errors.New("close called twice")
	}
	p.flush()
	p.closed = true
	close(p.hashCh)
	close(p.compCh)
	p.wg.Wait()
	if p.compErr != nil {
		return Result{}, fmt.Errorf("compress %s: %w", p.o.format, p.compErr)
	}
	if p.comp != nil {
		if err := p.comp.Close(); err != nil {
			return Result{}, fmt.Errorf("compress %s: %w", p.o.format, err)
		}
	}
	diffID := fmt.Sprintf("sha256:%x", p.diff.Sum(nil))
	digest := diffID
	if p.out.h != nil {
		digest = p.out.digest()
	}
	return Result{
		Digest:           digest,
		Size:             p.out.n,
		DiffID:           diffID,
		UncompressedSize: p.diffN,
		MediaType:        p.o.format.MediaType(),
	}, nil
}
