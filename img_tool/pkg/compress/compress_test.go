package compress_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rules-img/rules_img/img_tool/internal/blobcheck"
	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// testTar returns a tar stream of about 2.5 MiB (more than two of the
// compressor's 1 MiB chunks) that compresses somewhat, and its sha256.
func testTar(t *testing.T) []byte {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	words := []string{"layer ", "image ", "blob ", "digest ", "tar ", "zstd ", "gzip "}
	text := func(n int) []byte {
		var b bytes.Buffer
		for b.Len() < n {
			b.WriteString(words[rng.Intn(len(words))])
			if rng.Intn(10) == 0 {
				fmt.Fprintf(&b, "%d\n", rng.Int63())
			}
		}
		return b.Bytes()[:n]
	}
	noise := make([]byte, 300<<10)
	rng.Read(noise)
	return makeTar(t, []tarFile{
		{name: "etc/", dir: true},
		{name: "etc/hello.txt", data: []byte("hello\n")},
		{name: "usr/share/big.txt", data: text(2 << 20)},
		{name: "usr/share/noise.bin", data: noise},
		{name: "usr/share/empty", data: nil},
	}, 0)
}

type tarFile struct {
	name string
	data []byte
	dir  bool
}

// makeTar writes files as a tar stream followed by pad extra zero bytes
// (as tar tools that fill whole records do).
func makeTar(t *testing.T, files []tarFile, pad int) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.data))}
		if f.dir {
			h = &tar.Header{Name: f.name, Typeflag: tar.TypeDir, Mode: 0o755}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	buf.Write(make([]byte, pad))
	return buf.Bytes()
}

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func asLayer(res compress.Result) metadata.Layer {
	return metadata.Layer{
		Name:        "test",
		DiffID:      res.DiffID,
		MediaType:   res.MediaType,
		Digest:      res.Digest,
		Size:        res.Size,
		Annotations: res.Annotations,
	}
}

// writeBlob compresses tarBytes into dir/name, feeding it in uneven pieces
// so that chunk boundaries fall inside writes.
func writeBlob(t *testing.T, path string, tarBytes []byte, opts ...compress.Option) (compress.Result, error) {
	t.Helper()
	return compress.WriteFile(path, func(w io.Writer) error {
		for rest, n := tarBytes, 1; len(rest) > 0; n = n*3 + 1 {
			k := min(n, len(rest))
			if _, err := w.Write(rest[:k]); err != nil {
				return err
			}
			rest = rest[k:]
		}
		return nil
	}, opts...)
}

func TestWriteFile(t *testing.T) {
	in := testTar(t)
	for _, tc := range []struct {
		name          string
		opts          []compress.Option
		wantMediaType string
		estargz       bool
	}{
		{"gzip", []compress.Option{compress.WithFormat(compress.Gzip)}, metadata.MediaTypeTarGzip, false},
		{"gzip default", nil, metadata.MediaTypeTarGzip, false},
		{"gzip level 0", []compress.Option{compress.WithFormat(compress.Gzip), compress.WithLevel(0)}, metadata.MediaTypeTarGzip, false},
		{"gzip level 9", []compress.Option{compress.WithFormat(compress.Gzip), compress.WithLevel(9)}, metadata.MediaTypeTarGzip, false},
		{"zstd", []compress.Option{compress.WithFormat(compress.Zstd)}, metadata.MediaTypeTarZstd, false},
		{"zstd level 1", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithLevel(1)}, metadata.MediaTypeTarZstd, false},
		{"zstd level 4", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithLevel(4)}, metadata.MediaTypeTarZstd, false},
		{"none", []compress.Option{compress.WithFormat(compress.Uncompressed)}, metadata.MediaTypeTar, false},
		{"estargz", []compress.Option{compress.WithEstargz(true)}, metadata.MediaTypeTarGzip, true},
		{"estargz level 1", []compress.Option{compress.WithEstargz(true), compress.WithLevel(1)}, metadata.MediaTypeTarGzip, true},
	} {
		for _, jobs := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/jobs=%d", tc.name, jobs), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "blob")
				res, err := writeBlob(t, out, in, append(tc.opts, compress.WithJobs(jobs))...)
				if err != nil {
					t.Fatalf("WriteFile() = %v", err)
				}
				if err := blobcheck.Check(out, asLayer(res)); err != nil {
					t.Error(err)
				}
				if res.MediaType != tc.wantMediaType {
					t.Errorf("MediaType = %q, want %q", res.MediaType, tc.wantMediaType)
				}
				if res.MediaType == metadata.MediaTypeTarGzip {
					if err := blobcheck.CheckGzipHeaders(out); err != nil {
						t.Error(err)
					}
				}
				if tc.estargz {
					// The blob is re-framed: only the annotations tell the size.
					if got, want := res.Annotations[metadata.AnnotationUncompressedSize], strconv.FormatInt(res.UncompressedSize, 10); got != want {
						t.Errorf("uncompressed-size annotation = %q, UncompressedSize = %s", got, want)
					}
					return
				}
				if res.DiffID != sha(in) {
					t.Errorf("DiffID = %s, want sha256 of the input %s", res.DiffID, sha(in))
				}
				if res.UncompressedSize != int64(len(in)) {
					t.Errorf("UncompressedSize = %d, want %d", res.UncompressedSize, len(in))
				}
				if res.Annotations != nil {
					t.Errorf("Annotations = %v, want nil", res.Annotations)
				}
			})
		}
	}
}

// The eStargz writer stops reading at the tar end marker; the zero padding
// that tar tools add after it must not make the write fail.
func TestWriteFileEstargzPaddedTar(t *testing.T) {
	in := makeTar(t, []tarFile{{name: "a.txt", data: []byte("a\n")}}, 10240-4*512) // header, data, end marker
	if len(in)%10240 != 0 {
		t.Fatalf("test tar is %d bytes, want a whole 10240-byte record", len(in))
	}
	out := filepath.Join(t.TempDir(), "blob")
	res, err := writeBlob(t, out, in, compress.WithEstargz(true))
	if err != nil {
		t.Fatalf("WriteFile() = %v", err)
	}
	if err := blobcheck.Check(out, asLayer(res)); err != nil {
		t.Error(err)
	}
}

// Gzip headers carry no time stamp, name or comment, so that the blob does
// not depend on when it was built. The first header is read here from the
// raw bytes; the checker walks every member with the standard library.
func TestGzipHeadersCarryNoTime(t *testing.T) {
	small := makeTar(t, []tarFile{{name: "a.txt", data: []byte("a\n")}}, 0)
	for _, tc := range []struct {
		name string
		in   []byte
		opts []compress.Option
	}{
		{"gzip", testTar(t), nil},
		{"gzip, small input", small, nil},
		{"gzip level 0", testTar(t), []compress.Option{compress.WithLevel(0)}},
		{"gzip level 1", testTar(t), []compress.Option{compress.WithLevel(1)}},
		{"gzip level 9", testTar(t), []compress.Option{compress.WithLevel(9)}},
		{"gzip, 4 jobs", testTar(t), []compress.Option{compress.WithJobs(4)}},
		{"estargz", testTar(t), []compress.Option{compress.WithEstargz(true)}},
		{"estargz, small input", small, []compress.Option{compress.WithEstargz(true)}},
		{"estargz level 9", testTar(t), []compress.Option{compress.WithEstargz(true), compress.WithLevel(9)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "blob")
			if _, err := writeBlob(t, out, tc.in, append([]compress.Option{compress.WithFormat(compress.Gzip)}, tc.opts...)...); err != nil {
				t.Fatalf("WriteFile() = %v", err)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) < 10 || raw[0] != 0x1f || raw[1] != 0x8b {
				t.Fatalf("blob does not start with a gzip header: % x", raw[:min(10, len(raw))])
			}
			if !bytes.Equal(raw[4:8], []byte{0, 0, 0, 0}) {
				t.Errorf("first gzip header: MTIME bytes % x, want 00 00 00 00", raw[4:8])
			}
			if err := blobcheck.CheckGzipHeaders(out); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestJobsDoNotChangeBytes(t *testing.T) {
	in := testTar(t)
	for _, tc := range []struct {
		name string
		opts []compress.Option
	}{
		{"gzip", []compress.Option{compress.WithFormat(compress.Gzip)}},
		{"zstd", []compress.Option{compress.WithFormat(compress.Zstd)}},
		{"zstd level 4", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithLevel(4)}},
		{"none", []compress.Option{compress.WithFormat(compress.Uncompressed)}},
		{"estargz", []compress.Option{compress.WithEstargz(true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var blobs [][]byte
			var results []compress.Result
			for _, jobs := range []int{1, 2} {
				out := filepath.Join(dir, fmt.Sprintf("blob-%d", jobs))
				res, err := writeBlob(t, out, in, append(tc.opts, compress.WithJobs(jobs))...)
				if err != nil {
					t.Fatalf("WriteFile(jobs=%d) = %v", jobs, err)
				}
				if err := blobcheck.Check(out, asLayer(res)); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				blobs = append(blobs, b)
				results = append(results, res)
			}
			if !bytes.Equal(blobs[0], blobs[1]) {
				t.Errorf("jobs=1 gives %s (%d bytes), jobs=2 gives %s (%d bytes); want identical bytes",
					results[0].Digest, results[0].Size, results[1].Digest, results[1].Size)
			}
		})
	}
}

func TestNewWriterInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []compress.Option
	}{
		{"unknown format", []compress.Option{compress.WithFormat("lz4")}},
		{"gzip level 10", []compress.Option{compress.WithFormat(compress.Gzip), compress.WithLevel(10)}},
		{"gzip level -2", []compress.Option{compress.WithFormat(compress.Gzip), compress.WithLevel(-2)}},
		{"zstd level 5", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithLevel(5)}},
		{"zstd level 0", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithLevel(0)}},
		{"estargz zstd", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithEstargz(true)}},
		{"estargz none", []compress.Option{compress.WithFormat(compress.Uncompressed), compress.WithEstargz(true)}},
		{"estargz level 10", []compress.Option{compress.WithEstargz(true), compress.WithLevel(10)}},
		{"jobs 0", []compress.Option{compress.WithJobs(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := compress.NewWriter(io.Discard, tc.opts...)
			if !errors.Is(err, compress.ErrInvalidArgument) {
				t.Fatalf("NewWriter() = %v, want %v", err, compress.ErrInvalidArgument)
			}
			if w != nil {
				t.Errorf("NewWriter() returned a writer with error %v", err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    compress.Format
		wantErr error
	}{
		{"gzip", compress.Gzip, nil},
		{"zstd", compress.Zstd, nil},
		{"none", compress.Uncompressed, nil},
		{"uncompressed", compress.Uncompressed, nil},
		{"tar", compress.Uncompressed, nil},
		{"lz4", "", compress.ErrInvalidArgument},
		{"", "", compress.ErrInvalidArgument},
		{"GZIP", "", compress.ErrInvalidArgument},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := compress.ParseFormat(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseFormat(%q) = %v, want %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseFormat(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestWriteFileLeavesNothingOnError(t *testing.T) {
	in := testTar(t)
	errFill := errors.New("fill failed")
	for _, tc := range []struct {
		name    string
		opts    []compress.Option
		fill    func(io.Writer) error
		wantErr error
	}{
		{"gzip fill error", nil, func(w io.Writer) error {
			w.Write(in[:len(in)/2])
			return errFill
		}, errFill},
		{"zstd fill error", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithJobs(2)}, func(w io.Writer) error {
			w.Write(in[:len(in)/2])
			return errFill
		}, errFill},
		{"none fill error", []compress.Option{compress.WithFormat(compress.Uncompressed)}, func(w io.Writer) error {
			w.Write(in)
			return errFill
		}, errFill},
		{"estargz fill error", []compress.Option{compress.WithEstargz(true)}, func(w io.Writer) error {
			w.Write(in[:len(in)/2])
			return errFill
		}, errFill},
		{"fill error before writing", nil, func(io.Writer) error { return errFill }, errFill},
		{"bad option", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithLevel(5)}, func(w io.Writer) error {
			_, err := w.Write(in)
			return err
		}, compress.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "blob.tgz")
			if _, err := compress.WriteFile(out, tc.fill, tc.opts...); !errors.Is(err, tc.wantErr) {
				t.Fatalf("WriteFile() = %v, want %v", err, tc.wantErr)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				t.Errorf("WriteFile() failed but left %s in the output directory", e.Name())
			}
		})
	}
}

func TestWriterCloseTwice(t *testing.T) {
	for _, f := range []compress.Format{compress.Gzip, compress.Zstd, compress.Uncompressed} {
		t.Run(string(f), func(t *testing.T) {
			w, err := compress.NewWriter(io.Discard, compress.WithFormat(f))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Close(); err != nil {
				t.Fatalf("first Close() = %v", err)
			}
			if _, err := w.Close(); err == nil {
				t.Error("second Close() succeeded, want an error")
			}
			if _, err := w.Write([]byte("x")); err == nil {
				t.Error("Write() after Close() succeeded, want an error")
			}
		})
	}
}

// A plain tar has no compression level: one given (as the settings may for
// every layer) is ignored rather than refused.
func TestUncompressedIgnoresLevel(t *testing.T) {
	w, err := compress.NewWriter(io.Discard, compress.WithFormat(compress.Uncompressed), compress.WithLevel(9))
	if err != nil {
		t.Fatalf("NewWriter(none, level 9) = %v, want nil", err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
