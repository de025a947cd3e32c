package layer_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

// BenchmarkWriteTree writes the layer of the directory named by
// IMG_BENCH_TREE (skipped when unset) in the format IMG_BENCH_FORMAT
// (gzip, zstd, none or estargz; default zstd) with 2 compressor jobs, to a
// file in a temporary directory. Profile it with -cpuprofile/-memprofile.
func BenchmarkWriteTree(b *testing.B) {
	dir := os.Getenv("IMG_BENCH_TREE")
	if dir == "" {
		b.Skip("IMG_BENCH_TREE is not set")
	}
	format := os.Getenv("IMG_BENCH_FORMAT")
	if format == "" {
		format = "zstd"
	}
	opts := []compress.Option{compress.WithJobs(2)}
	if format == "estargz" {
		opts = append(opts, compress.WithFormat(compress.Gzip), compress.WithEstargz(true))
	} else {
		f, err := compress.ParseFormat(format)
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, compress.WithFormat(f))
	}
	out := filepath.Join(b.TempDir(), "blob")
	var res compress.Result
	for range b.N {
		var err error
		res, err = compress.WriteFile(out, func(w io.Writer) error {
			lw, err := layer.New(w, nil)
			if err != nil {
				return err
			}
			if err := lw.AddTree(filepath.Base(dir), dir); err != nil {
				return err
			}
			if hp := os.Getenv("IMG_BENCH_HEAP"); hp != "" {
				writeHeap(b, hp)
			}
			return lw.Close()
		}, opts...)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(res.UncompressedSize)
	b.ReportMetric(float64(res.Size)/float64(res.UncompressedSize), "ratio")
}

// writeHeap writes a heap profile of the live objects to path and logs the
// runtime's memory statistics.
func writeHeap(b *testing.B, path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("heap alloc %d MiB, heap sys %d MiB, stack %d MiB, sys %d MiB",
		ms.HeapAlloc>>20, ms.HeapSys>>20, ms.StackSys>>20, ms.Sys>>20)
}
