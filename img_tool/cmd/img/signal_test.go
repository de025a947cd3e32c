package main

import (
	"archive/tar"
	"bufio"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildImg builds the img binary into dir, or returns $IMG_SIGNAL_TEST_BINARY
// when set (to measure another build).
func buildImg(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv("IMG_SIGNAL_TEST_BINARY"); bin != "" {
		return bin
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "img")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Skipf("cannot build img: %v\n%s", err, out)
	}
	return bin
}

// writeBigTar writes a tar with one file of size bytes of pseudo-random,
// incompressible data.
func writeBigTar(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	if err := tw.WriteHeader(&tar.Header{Name: "big.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		n := min(left, int64(len(buf)))
		r.Read(buf[:n])
		if _, err := tw.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// dirState lists a directory and the bytes its files hold.
func dirState(t *testing.T, dir string) ([]string, int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var n int64
	for _, e := range ents {
		names = append(names, e.Name())
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return names, n
}

// TestSignalRemovesTemporaryOutputs interrupts `img compress` and
// `img layer` of a 200 MB input mid-write: the process must exit with
// 128+signal and leave neither temporary files nor partial outputs.
func TestSignalRemovesTemporaryOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds img and writes 200 MB")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends POSIX signals")
	}
	work := t.TempDir()
	bin := buildImg(t, work)
	const size = 200 << 20
	input := filepath.Join(work, "input.tar")
	writeBigTar(t, input, size)
	for _, tc := range []struct {
		name string
		args func(out string) []string
	}{
		{"compress", func(out string) []string {
			return []string{"compress", "--format", "gzip", "--metadata", filepath.Join(out, "layer.json"), input, filepath.Join(out, "layer.tar.gz")}
		}},
		{"layer", func(out string) []string {
			return []string{"layer", "--format", "gzip", "--import-tar", input, "--metadata", filepath.Join(out, "layer.json"), filepath.Join(out, "layer.tar.gz")}
		}},
	} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				out := t.TempDir()
				cmd := exec.Command(bin, tc.args(out)...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				// Wait until 32 MB of the output are in its temporary file.
				var before int64
				var beforeNames []string
				deadline := time.Now().Add(time.Minute)
				for before < 32<<20 {
					select {
					case err := <-exited:
						t.Fatalf("img %s ended before the signal: %v; stderr: %s", tc.name, err, stderr.String())
					default:
					}
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						t.Fatalf("img %s wrote no temporary output in a minute", tc.name)
					}
					time.Sleep(5 * time.Millisecond)
					beforeNames, before = dirState(t, out)
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				var err error
				select {
				case err = <-exited:
				case <-time.After(time.Minute):
					cmd.Process.Kill()
					t.Fatalf("img %s did not exit within a minute of %v", tc.name, sig)
				}
				want := 128 + int(sig)
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != want {
					t.Errorf("img %s ended with %v, want exit status %d; stderr: %s", tc.name, err, want, stderr.String())
				}
				names, after := dirState(t, out)
				if len(names) != 0 {
					t.Errorf("after %v the output directory holds %q (%d bytes), want nothing", sig, names, after)
				}
				if !strings.Contains(stderr.String(), sig.String()+": removed ") {
					t.Errorf("stderr %q does not report the removal", stderr.String())
				}
				t.Logf("img %s, %v: %d bytes in %q before, %d bytes after; stderr: %s",
					tc.name, sig, before, beforeNames, after, strings.TrimSpace(stderr.String()))
			})
		}
	}
}

// TestIsBuildAction: the signal handler is for build actions only; the
// servers handle SIGINT and SIGTERM themselves.
func TestIsBuildAction(t *testing.T) {
	for args, want := range map[string]bool{
		"layer": true, "compress": true, "manifest": true, "oci-layout": true, "download-blob": true,
		"registry": false, "bes": false, "nope": false, "": false,
	} {
		if got := isBuildAction(strings.Fields(args)); got != want {
			t.Errorf("isBuildAction(%q) = %v, want %v", args, got, want)
		}
	}
}
