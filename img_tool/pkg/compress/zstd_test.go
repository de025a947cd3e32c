package compress

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// mixedInput is n bytes of text-like runs, incompressible noise, and
// copies of earlier stretches from both near (inside a section) and far
// (several sections) back, so that matches cross section boundaries.
func mixedInput(n int) []byte {
	rng := rand.New(rand.NewSource(17))
	words := []string{"layer ", "image ", "blob ", "digest ", "tar ", "func ", "return ", "\n", "\t", "sha256:"}
	b := make([]byte, 0, n+64<<10)
	for len(b) < n {
		switch k := rng.Intn(10); {
		case k < 5: // text
			for end := len(b) + rng.Intn(32<<10); len(b) < end; {
				b = append(b, words[rng.Intn(len(words))]...)
				if rng.Intn(8) == 0 {
					b = fmt.Appendf(b, "%d", rng.Int63())
				}
			}
		case k < 7: // noise
			noise := make([]byte, rng.Intn(48<<10))
			rng.Read(noise)
			b = append(b, noise...)
		default: // a copy of an earlier stretch
			if len(b) < 4<<10 {
				continue
			}
			size := 1 + rng.Intn(min(len(b), 24<<10))
			from := rng.Intn(len(b) - size + 1)
			b = append(b, b[from:from+size]...)
		}
	}
	return b[:n]
}

// compressBytes runs the writer over in, fed in pieces of uneven sizes.
func compressBytes(t *testing.T, in []byte, opts ...Option) ([]byte, Result) {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for rest, n := in, 1; len(rest) > 0; n = (n*5+3)%(3<<20) + 1 {
		k := min(n, len(rest))
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatalf("Write() = %v", err)
		}
		rest = rest[k:]
	}
	res, err := w.Close()
	if err != nil {
		t.Fatalf("Close() = %v", err)
	}
	return out.Bytes(), res
}

// The zstd bytes, and so the digests, are the same for any number of
// cores and of jobs, at every level; at level 2 (the default) the stream
// is really cut into sections (the bytes differ from those of one encoder
// over the whole stream); and the reference zstd tool decodes it to the
// input.
func TestZstdBytesIndependentOfCoresAndJobs(t *testing.T) {
	in := mixedInput(20 << 20) // 20 sections at level 2
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(in))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		name     string
		level    int
		sections bool
	}{
		{"default", -1, true},
		{"level 1", 1, false},
		{"level 2", 2, true},
		{"level 3", 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first []byte
			var firstRes Result
			var firstAt string
			for _, procs := range []int{1, 2} {
				for _, jobs := range []int{1, 2, 4} {
					runtime.GOMAXPROCS(procs)
					got, res := compressBytes(t, in, WithFormat(Zstd), WithLevel(tc.level), WithJobs(jobs))
					at := fmt.Sprintf("GOMAXPROCS=%d, jobs=%d", procs, jobs)
					if res.DiffID != diffID || res.UncompressedSize != int64(len(in)) {
						t.Errorf("%s: diff_id %s, uncompressed size %d; want %s, %d", at, res.DiffID, res.UncompressedSize, diffID, len(in))
					}
					if want := fmt.Sprintf("sha256:%x", sha256.Sum256(got)); res.Digest != want || res.Size != int64(len(got)) {
						t.Errorf("%s: digest %s, size %d; the bytes written hash to %s, %d", at, res.Digest, res.Size, want, len(got))
					}
					if first == nil {
						first, firstRes, firstAt = got, res, at
						continue
					}
					if !bytes.Equal(got, first) {
						t.Errorf("%s: %s (%d bytes); %s: %s (%d bytes); want identical bytes",
							at, res.Digest, res.Size, firstAt, firstRes.Digest, firstRes.Size)
					}
				}
			}
			whole := wholeStream(t, in, tc.level)
			if tc.sections == bytes.Equal(first, whole) {
				t.Errorf("output equal to one encoder over the whole stream: %v, want %v", !tc.sections, tc.sections)
			}
			checkZstdCLI(t, first, in)
		})
	}
}

// wholeStream is in compressed by one synchronous encoder with the window
// the writer uses at level.
func wholeStream(t *testing.T, in []byte, level int) []byte {
	t.Helper()
	window := zstdWindow
	if zstdSections(level) {
		window = zstdSectionWindow
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel(level)), zstd.WithWindowSize(window), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc.Reset(&out)
	if _, err := enc.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// checkZstdCLI decodes blob with the zstd command-line tool and compares
// the result with want.
func checkZstdCLI(t *testing.T, blob, want []byte) {
	t.Helper()
	cli, err := exec.LookPath("zstd")
	if err != nil {
		t.Log("zstd command not found: not checked with the reference decoder")
		return
	}
	path := filepath.Join(t.TempDir(), "blob.zst")
	if err := os.WriteFile(path, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(cli, "-d", "-c", "-q", path)
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -d %s: %v: %s", cli, path, err, stderr.String())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s -d gives %d bytes (sha256:%x), want the %d input bytes (sha256:%x)",
			cli, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

func TestZstdSectionConcurrency(t *testing.T) {
	for jobs, want := range map[int]int{1: 2, 2: 2, 3: 3, 4: 4, 64: zstdMaxConcurrency} {
		if got := zstdSectionConcurrency(jobs); got != want {
			t.Errorf("zstdSectionConcurrency(%d) = %d, want %d", jobs, got, want)
		}
	}
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

// An error writing the output reaches the caller, from Write or Close,
// whether the stream is compressed in sections or as a whole.
func TestZstdOutputError(t *testing.T) {
	in := mixedInput(6 << 20)
	for _, level := range []int{-1, 3} {
		t.Run(fmt.Sprintf("level %d", level), func(t *testing.T) {
			w, err := NewWriter(&failAfter{n: 100 << 10}, WithFormat(Zstd), WithLevel(level), WithJobs(2))
			if err != nil {
				t.Fatal(err)
			}
			var writeErr error
			for rest := in; len(rest) > 0 && writeErr == nil; rest = rest[min(len(rest), 64<<10):] {
				_, writeErr = w.Write(rest[:min(len(rest), 64<<10)])
			}
			_, closeErr := w.Close()
			if !errors.Is(closeErr, errDiskFull) {
				t.Errorf("Close() = %v (Write: %v), want %v", closeErr, writeErr, errDiskFull)
			}
		})
	}
}
