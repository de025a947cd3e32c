// Package atomicfile writes output files so that readers see either nothing
// or the complete file: data goes to a temporary file beside the target,
// which is renamed into place only on Commit.
//
// Every temporary file in progress is kept in a process-wide registry, so
// that a signal handler can remove them all before the process exits (see
// RemoveAll): an interrupted build action then leaves neither temporary
// files nor partial outputs behind.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// ErrRemoved is returned by Create, Register and Commit once RemoveAll has
// run: the process is shutting down and must not start new outputs.
var ErrRemoved = errors.New("temporary files removed: process is exiting")

// live is the registry of temporary paths in progress.
var live = struct {
	sync.Mutex
	paths   map[string]int // path -> registration count
	removed bool
	// beforeFirst, when set, runs (once) before the first path is
	// recorded: RemoveOnSignal installs its handler there.
	beforeFirst func()
}{paths: map[string]int{}}

// register records path; the caller holds live's lock.
func registerLocked(path string) {
	if f := live.beforeFirst; f != nil {
		live.beforeFirst = nil
		f()
	}
	live.paths[path]++
}

func unregister(path string) {
	live.Lock()
	defer live.Unlock()
	if live.paths[path] <= 1 {
		delete(live.paths, path)
	} else {
		live.paths[path]--
	}
}

// Register records a temporary file or directory that some other code
// creates (a spill file, a staging directory), so that RemoveAll removes
// it too. Call the returned release once the path is gone or has been
// renamed into place. Register fails with ErrRemoved after RemoveAll.
//
// Create the path after Register returns, so that no moment exists in
// which the path is there but unknown to the registry.
func Register(path string) (release func(), err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	live.Lock()
	defer live.Unlock()
	if live.removed {
		return nil, fmt.Errorf("register %s: %w", path, ErrRemoved)
	}
	registerLocked(abs)
	var once sync.Once
	return func() { once.Do(func() { unregister(abs) }) }, nil
}

// Live lists the registered temporary paths, sorted; for tests and
// diagnostics.
func Live() []string {
	live.Lock()
	defer live.Unlock()
	out := make([]string, 0, len(live.paths))
	for p := range live.paths {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// RemoveAll removes every registered temporary path (files and whole
// directories) and makes later Create, Register and Commit calls fail with
// ErrRemoved, so that nothing new appears while the process exits. It
// returns the number of bytes the removed files held. It is safe to call
// from any goroutine, e.g. a signal handler, and more than once.
//
// A Commit that already renamed its file into place is complete and is
// left alone; one that has not yet renamed finds its temporary file gone.
func RemoveAll() (removedBytes int64) {
	live.Lock()
	defer live.Unlock()
	live.removed = true
	for p := range live.paths {
		removedBytes += sizeOf(p)
		os.RemoveAll(p)
		delete(live.paths, p)
	}
	return removedBytes
}

// sizeOf is the number of bytes of the regular files at or under p.
func sizeOf(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// File is an output file in progress.
//
// Write data, then call Commit to move it into place, or Abort to drop it.
// After Abort, or after a failed Commit, no file exists at the target path
// (a file that was there before is left untouched only if Commit was never
// reached). Abort after Commit is a no-op, so `defer f.Abort()` is safe.
type File struct {
	*os.File
	path string
	tmp  string // absolute path of the temporary file, as registered
	done bool
}

// Create starts an output file for path with the given permission bits.
func Create(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	// The file is created under the registry's lock, so that RemoveAll
	// either runs before (and Create fails) or sees it.
	live.Lock()
	defer live.Unlock()
	if live.removed {
		return nil, fmt.Errorf("create %s: %w", path, ErrRemoved)
	}
	tmp, err := os.CreateTemp(absDir, "."+base+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	registerLocked(tmp.Name())
	return &File{File: tmp, path: path, tmp: tmp.Name()}, nil
}

// Path is the final path of the file.
func (f *File) Path() string { return f.path }

// Commit closes the temporary file and renames it to the target path.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("commit %s: already finished", f.path)
	}
	f.done = true
	defer unregister(f.tmp)
	if err := f.File.Close(); err != nil {
		os.Remove(f.tmp)
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	// The rename happens under the registry's lock: RemoveAll sees either
	// the temporary file or the complete output, never a moment between.
	live.Lock()
	defer live.Unlock()
	if live.removed {
		return fmt.Errorf("rename into %s: %w", f.path, ErrRemoved)
	}
	if err := os.Rename(f.tmp, f.path); err != nil {
		os.Remove(f.tmp)
		return fmt.Errorf("rename into %s: %w", f.path, err)
	}
	return nil
}

// Abort drops the temporary file. It is a no-op after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.tmp)
	unregister(f.tmp)
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}
