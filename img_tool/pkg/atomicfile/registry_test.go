package atomicfile_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

func TestRegistryTracksTemporaryFiles(t *testing.T) {
	atomicfile.ResetRegistry()
	defer atomicfile.ResetRegistry()
	dir := t.TempDir()
	committed, err := atomicfile.Create(filepath.Join(dir, "a"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	aborted, err := atomicfile.Create(filepath.Join(dir, "b"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{committed.Name(), aborted.Name()}
	slices.Sort(want)
	if got := atomicfile.Live(); !slices.Equal(got, want) {
		t.Errorf("Live() = %q, want %q", got, want)
	}
	if err := committed.Commit(); err != nil {
		t.Fatal(err)
	}
	aborted.Abort()
	if got := atomicfile.Live(); len(got) != 0 {
		t.Errorf("after Commit and Abort, Live() = %q, want none", got)
	}
}

func TestRemoveAll(t *testing.T) {
	atomicfile.ResetRegistry()
	defer atomicfile.ResetRegistry()
	dir := t.TempDir()
	f, err := atomicfile.Create(filepath.Join(dir, "out.tar"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 3000)); err != nil {
		t.Fatal(err)
	}
	done, err := atomicfile.Create(filepath.Join(dir, "done.json"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := done.Commit(); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(dir, ".stage")
	release, err := atomicfile.Register(stage)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := os.MkdirAll(filepath.Join(stage, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "blobs", "x"), make([]byte, 500), 0o644); err != nil {
		t.Fatal(err)
	}

	if n := atomicfile.RemoveAll(); n != 3500 {
		t.Errorf("RemoveAll() = %d bytes, want 3500", n)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"done.json"}) {
		t.Errorf("after RemoveAll the directory holds %q, want only the committed done.json", got)
	}
	if err := f.Commit(); !errors.Is(err, atomicfile.ErrRemoved) {
		t.Errorf("Commit() after RemoveAll = %v, want %v", err, atomicfile.ErrRemoved)
	}
	if _, err := atomicfile.Create(filepath.Join(dir, "late"), 0o644); !errors.Is(err, atomicfile.ErrRemoved) {
		t.Errorf("Create() after RemoveAll = %v, want %v", err, atomicfile.ErrRemoved)
	}
	if _, err := atomicfile.Register(filepath.Join(dir, "late")); !errors.Is(err, atomicfile.ErrRemoved) {
		t.Errorf("Register() after RemoveAll = %v, want %v", err, atomicfile.ErrRemoved)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"done.json"}) {
		t.Errorf("the directory holds %q, want only done.json", got)
	}
	if n := atomicfile.RemoveAll(); n != 0 {
		t.Errorf("second RemoveAll() = %d, want 0", n)
	}
}

func TestExitCode(t *testing.T) {
	if got := atomicfile.ExitCode(os.Interrupt); got != 130 {
		t.Errorf("ExitCode(SIGINT) = %d, want 130", got)
	}
	if got := atomicfile.ExitCode(syscall.SIGTERM); got != 143 {
		t.Errorf("ExitCode(SIGTERM) = %d, want 143", got)
	}
}

// The helper process: writes an endless output through atomicfile with
// RemoveOnSignal installed, printing "ready" once some data is written.
func TestMain(m *testing.M) {
	if os.Getenv("ATOMICFILE_HELPER_IDLE") != "" {
		// No output: the handler must not be installed yet.
		atomicfile.RemoveOnSignal(nil)
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	if out := os.Getenv("ATOMICFILE_HELPER_OUTPUT"); out != "" {
		atomicfile.RemoveOnSignal(func(sig os.Signal, n int64) {
			fmt.Fprintf(os.Stderr, "removed %d bytes on %v\n", n, sig)
		})
		f, err := atomicfile.Create(out, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		buf := make([]byte, 1<<20)
		deadline := time.Now().Add(time.Minute) // in case no signal comes
		for i := 0; time.Now().Before(deadline); i++ {
			if _, err := f.Write(buf); err != nil {
				// Writes to the unlinked file may go on until exit.
				continue
			}
			if i == 8 {
				fmt.Println("ready")
			}
			time.Sleep(time.Millisecond)
		}
		f.Abort()
		os.Exit(4)
	}
	os.Exit(m.Run())
}

func TestRemoveOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a helper process")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends POSIX signals")
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "ATOMICFILE_HELPER_OUTPUT="+filepath.Join(dir, "blob.tar"))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "ready\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper said %q, %v; stderr: %s", line, err, stderr.String())
			}
			before := dirBytes(t, dir)
			if before == 0 {
				t.Errorf("no temporary bytes in %s before the signal", dir)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, stdout)
			err = cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.want {
				t.Errorf("helper ended with %v, want exit status %d; stderr: %s", err, tc.want, stderr.String())
			}
			if got := names(t, dir); len(got) != 0 {
				t.Errorf("after %v the output directory holds %q, want nothing", tc.sig, got)
			}
			t.Logf("%v: %d temporary bytes before, %d after; helper: %s", tc.sig, before, dirBytes(t, dir), strings.TrimSpace(stderr.String()))
		})
	}
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

func TestRemoveOnSignalWaitsForTheFirstOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a helper process")
	}
	if runtime.GOOS == "windows" {
		t.Skip("sends POSIX signals")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ATOMICFILE_HELPER_IDLE=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v", line, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	// Killed by the signal (its default effect), not exited with 143 by
	// a handler.
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("helper without outputs ended with %v (%v), want killed by SIGTERM", cmd.ProcessState, err)
	}
}
