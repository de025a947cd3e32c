package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
)

// mtreeFlag is the --mtree output of the commands that write or read a
// layer: the layer's file listing (pkg/mtree), made in the same pass.
type mtreeFlag struct {
	path string
	out  *mtree.OutFile
}

func (m *mtreeFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&m.path, "mtree", "", "Also write the layer's file listing (BSD mtree text: type, mode, uid, gid, size, link per entry) here.")
}

// start opens the listing; a no-op without --mtree.
func (m *mtreeFlag) start() error {
	if m.path == "" {
		return nil
	}
	out, err := mtree.Create(m.path)
	if err != nil {
		return err
	}
	m.out = out
	return nil
}

// writer is the listing being written, or nil.
func (m *mtreeFlag) writer() *mtree.Writer {
	if m.out == nil {
		return nil
	}
	return m.out.Writer
}

// tee lists the uncompressed tar stream written to the returned writer;
// finish (always to be called, also on failure) waits for the listing.
// Without --mtree it returns io.Discard and a no-op.
func (m *mtreeFlag) tee() (w io.Writer, finish func() error) {
	if m.out == nil {
		return io.Discard, func() error { return nil }
	}
	t := mtree.NewTarTee(m.out.Writer)
	return t, t.Close
}

// commit moves the listing into place; abort drops it. Both are no-ops
// without --mtree.
func (m *mtreeFlag) commit() error {
	if m.out == nil {
		return nil
	}
	if err := m.out.Commit(); err != nil {
		return fmt.Errorf("--mtree: %w", err)
	}
	return nil
}

func (m *mtreeFlag) abort() {
	if m.out != nil {
		m.out.Abort()
	}
}
