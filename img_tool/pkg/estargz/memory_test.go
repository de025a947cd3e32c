package estargz

import (
	"archive/tar"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// The heap a Writer holds does not grow with the number of files: after
// 50,000 tiny files it holds at most 2 MB more than after 10,000. (The
// stargz-snapshotter writer holds some 300 bytes per file, 12 MB here.)
func TestMemoryDoesNotGrowPerFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 50,000 files")
	}
	w, err := NewWriter(io.Discard, WithLevel(1), WithTempDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- w.AppendTar(pr) }()

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	tw := tar.NewWriter(pw)
	body := []byte("tiny file\n")
	var at10k, at50k uint64
	for i := 1; i <= 50000; i++ {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("dir%02d/file%06d.txt", i%50, i), Mode: 0o644, Uid: i % 7, Uname: fmt.Sprintf("user%d", i%7), Size: int64(len(body))}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
		// The pipe hands bytes over synchronously: once a write returns,
		// the writer has taken the previous file.
		switch i {
		case 10000:
			at10k = heap()
		case 50000:
			at50k = heap()
		}
	}
	tw.Close()
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	growth := int64(at50k) - int64(at10k)
	t.Logf("heap after 10,000 files %d bytes, after 50,000 %d bytes (growth %d)", at10k, at50k, growth)
	if growth > 2<<20 {
		t.Errorf("the heap grew by %d bytes over 40,000 files", growth)
	}
}
