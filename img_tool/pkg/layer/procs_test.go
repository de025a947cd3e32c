package layer_test

import (
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

// textTree writes a directory of compressible files of many sizes (some
// above the writer's 256 KiB prefetch and 1 MiB in-memory limits, some
// duplicated), several MiB in all, so that every compressor works on many
// blocks.
func textTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rnd := rand.New(rand.NewSource(7))
	words := []string{"layer", "image", "digest", "tar", "zstd", "gzip", "func", "return", "the", "of", "0x1f", "\n", "\t"}
	text := func(n int) []byte {
		b := make([]byte, 0, n+16)
		for len(b) < n {
			b = append(b, words[rnd.Intn(len(words))]...)
			b = append(b, ' ')
		}
		return b[:n]
	}
	sizes := []int{0, 1, 100, 4000, 70 << 10, 300 << 10, 1<<20 + 7, 3 << 20}
	for i := range 60 {
		d := filepath.Join(dir, fmt.Sprintf("d%02d", i%7))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		data := text(sizes[i%len(sizes)] + i)
		if i%11 == 5 {
			data = randomBytes(int64(i), 200<<10) // incompressible
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%02d.txt", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if i%9 == 0 { // a duplicate, written as a hardlink
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("g%02d.txt", i)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// The blob's bytes (so its digests) do not depend on how many cores the
// writer runs on, nor on the compressor's jobs.
func TestDigestsIndependentOfCores(t *testing.T) {
	tree := textTree(t)
	src := sources(t)
	formats := []struct {
		name string
		opts []compress.Option
	}{
		{"none", []compress.Option{compress.WithFormat(compress.Uncompressed)}},
		{"gzip", []compress.Option{compress.WithFormat(compress.Gzip)}},
		{"gzip-1", []compress.Option{compress.WithFormat(compress.Gzip), compress.WithLevel(1)}},
		{"zstd", []compress.Option{compress.WithFormat(compress.Zstd)}},
		{"zstd-3", []compress.Option{compress.WithFormat(compress.Zstd), compress.WithLevel(3)}},
		{"estargz", []compress.Option{compress.WithFormat(compress.Gzip), compress.WithEstargz(true)}},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	out := filepath.Join(t.TempDir(), "blob")
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			var first compress.Result
			var firstAt string
			for _, procs := range []int{1, 2} {
				for _, jobs := range []int{1, 2, 3} {
					runtime.GOMAXPROCS(procs)
					res, err := compress.WriteFile(out, func(w io.Writer) error {
						lw, err := layer.New(w, nil)
						if err != nil {
							return err
						}
						if err := lw.AddTree("tree", tree); err != nil {
							return err
						}
						if err := lw.AddFile("big", src("big1")); err != nil {
							return err
						}
						if err := lw.AddFile("big-again", src("big1-copy")); err != nil {
							return err
						}
						return lw.Close()
					}, append(f.opts, compress.WithJobs(jobs))...)
					if err != nil {
						t.Fatal(err)
					}
					at := fmt.Sprintf("GOMAXPROCS=%d, %d jobs", procs, jobs)
					if firstAt == "" {
						first, firstAt = res, at
						if res.UncompressedSize < 8<<20 {
							t.Fatalf("the tar stream is only %d bytes: too small to span many blocks", res.UncompressedSize)
						}
						continue
					}
					if res.Digest != first.Digest || res.DiffID != first.DiffID || res.Size != first.Size {
						t.Errorf("%s: digest %s, diff_id %s, size %d; with %s: %s, %s, %d",
							at, res.Digest, res.DiffID, res.Size, firstAt, first.Digest, first.DiffID, first.Size)
					}
				}
			}
		})
	}
}
