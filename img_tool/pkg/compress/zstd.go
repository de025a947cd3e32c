package compress

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"
)

// At level 2 (the default, that of `zstd -3`) the encoder cuts the stream
// into sections of 4 x zstdSectionWindow (1 MiB, the library's job size),
// each compressed on its own with the last zstdSectionWindow/8 bytes of the
// section before it as history, and writes them in order as one frame, as
// `zstd -T` does. The bytes depend on the window, never on how many
// sections are compressed at once, so long as that is at least two: with
// one, the library compresses the stream as a whole instead, which gives
// other bytes. Memory grows with both: the library queues up to two
// sections per goroutine, each holding its input and output (1.5 MiB), and
// each goroutine has an encoder (1.3 MiB of tables, a 1 MiB history
// buffer). A 512 KiB window (1-4% smaller output) adds some 7 MiB to the
// live heap, more than a layer of 100,000 small files can spare under its
// 64 MB bound (it peaks near 60 MB as it is).
//
// The other levels compress the stream as a whole with a zstdWindow
// history. At level 1 sections gain no time on two cores (its match finder
// keeps up with the reading) and cost 2-5% of size; at levels 3 and 4 the
// match finders gain most from a long history (sections make a layer of
// many similar files up to a fifth larger), and their tables (4 and 34
// MiB) make a second encoder costly. With more than one job that encoder
// finds the matches of a block while another goroutine entropy-codes and
// writes the one before; the bytes are those of the synchronous encoder.
const (
	zstdWindow         = 2 << 20 // as `zstd -3`
	zstdSectionWindow  = 256 << 10
	zstdMaxConcurrency = 4
)

// zstdSectionConcurrency is how many sections are compressed at once for
// jobs: never fewer than two (see zstdSectionWindow), never more than
// zstdMaxConcurrency.
func zstdSectionConcurrency(jobs int) int { return min(max(jobs, 2), zstdMaxConcurrency) }

// zstdLevel is the encoder level of a compression level (-1: the default).
func zstdLevel(level int) zstd.EncoderLevel {
	if level == -1 {
		return zstd.SpeedDefault
	}
	return zstd.EncoderLevel(level)
}

// zstdSections says whether level compresses the stream in sections.
func zstdSections(level int) bool { return zstdLevel(level) == zstd.SpeedDefault }

// newZstdWholeStream starts the encoder of levels 1, 3 and 4, writing to w.
func newZstdWholeStream(w io.Writer, o options) (*zstd.Encoder, error) {
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstdLevel(o.level)), zstd.WithWindowSize(zstdWindow),
		zstd.WithEncoderConcurrency(o.jobs))
}

// zstdWriter writes the level that compresses in sections. It hashes the tar
// stream on the calling goroutine and hands it to the encoder, which copies
// it into the section being filled and compresses full sections on
// goroutines of its own; the encoder's writing goroutine hashes the output.
// The pipeline's buffers would add nothing but memory.
type zstdWriter struct {
	enc    *zstd.Encoder
	diff   hash.Hash
	diffN  int64
	out    *countingHash
	err    error
	closed bool
}

func newZstdWriter(dst io.Writer, o options) (*zstdWriter, error) {
	z := &zstdWriter{diff: sha256.New(), out: newCountingHash(dst)}
	var err error
	z.enc, err = zstd.NewWriter(z.out, zstd.WithEncoderLevel(zstdLevel(o.level)),
		zstd.WithWindowSize(zstdSectionWindow), zstd.WithConcurrentBlocks(true),
		zstd.WithEncoderConcurrency(zstdSectionConcurrency(o.jobs)))
	if err != nil {
		return nil, fmt.Errorf("start zstd compressor: %w", err)
	}
	return z, nil
}

func (z *zstdWriter) Write(b []byte) (int, error) {
	if z.closed {
		return 0, errors.New("write after close")
	}
	if z.err != nil {
		return 0, z.err
	}
	z.diff.Write(b)
	z.diffN += int64(len(b))
	if _, err := z.enc.Write(b); err != nil {
		z.err = fmt.Errorf("compress zstd: %w", err)
		return 0, z.err
	}
	return len(b), nil
}

func (z *zstdWriter) Close() (Result, error) {
	if z.closed {
		return Result{}, errors.New("close called twice")
	}
	z.closed = true
	// Close also ends the encoder's goroutines after an error.
	closeErr := z.enc.Close()
	if z.err != nil {
		return Result{}, z.err
	}
	if closeErr != nil {
		return Result{}, fmt.Errorf("compress zstd: %w", closeErr)
	}
	return Result{
		Digest:           z.out.digest(),
		Size:             z.out.n,
		DiffID:           fmt.Sprintf("sha256:%x", z.diff.Sum(nil)),
		UncompressedSize: z.diffN,
		MediaType:        Zstd.MediaType(),
	}, nil
}
