package tarpolicy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// DefaultZstdMaxWindow is the largest zstd window a stream may declare
// unless the caller allows more. zstd's own levels use at most 8 MiB
// (--long: 128 MiB); the decoder allocates the declared window, so a
// tiny stream declaring a huge one would otherwise cost that much memory.
const DefaultZstdMaxWindow = 128 << 20

// Limits bound what decompression may cost. The zero value means the
// defaults.
type Limits struct {
	ZstdMaxWindow uint64 // 0: DefaultZstdMaxWindow
}

func (l Limits) zstdWindow() uint64 {
	if l.ZstdMaxWindow == 0 {
		return DefaultZstdMaxWindow
	}
	return l.ZstdMaxWindow
}

// ParseSize parses a byte count: a number with an optional unit K, M, G
// (or KiB, MiB, GiB; powers of 1024), e.g. "128M" or "134217728".
func ParseSize(s string) (uint64, error) {
	num, mult := strings.TrimSpace(s), uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSuffix(num, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, optionally with K, M or G: %w", s, ErrInvalidArgument)
	}
	return n * mult, nil
}

// Compression names the compression of a stream, from its magic bytes.
type Compression string

const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// Detect returns the compression that the first bytes of a stream show.
func Detect(magic []byte) Compression {
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	}
	return None
}

// Open wraps r so that it yields the uncompressed stream, whatever the
// compression (gzip, zstd or none), judged from magic bytes. Reading the
// result to io.EOF verifies the trailers (gzip CRC and size of every
// member, zstd checksums); a truncated or corrupt stream is an error
// there. The zstd decoder is bounded: window at most lim's, one goroutine,
// low-memory buffers. The returned close function releases the decoder.
func Open(r io.Reader, lim Limits) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	switch Detect(magic) {
	case Gzip:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return &errReader{r: gz, what: "gzip"}, func() { gz.Close() }, nil
	case Zstd:
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderMaxWindow(lim.zstdWindow()),
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return &errReader{r: zr, what: "zstd", window: lim.zstdWindow()}, zr.Close, nil
	}
	return br, func() {}, nil
}

// errReader names the compression in its errors and explains the window
// limit.
type errReader struct {
	r      io.Reader
	what   string
	window uint64
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded):
		err = fmt.Errorf("zstd: the stream declares a window over the limit of %d bytes (raise it with --zstd-max-window): %w", e.window, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%s: truncated stream: %w", e.what, err)
	default:
		err = fmt.Errorf("%s: corrupt stream: %w", e.what, err)
	}
	if err != nil && err != io.EOF {
		err = &StreamError{Err: err}
	}
	return n, err
}

// StreamError is an error of the decompressor (not of the tar inside).
type StreamError struct{ Err error }

func (e *StreamError) Error() string { return e.Err.Error() }
func (e *StreamError) Unwrap() error { return e.Err }

// Drain reads r to io.EOF, so that the compression trailers are checked
// after a tar reader stopped at the end-of-archive marker.
func Drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
