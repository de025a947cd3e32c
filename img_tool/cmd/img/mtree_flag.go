package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
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

// listBlob lists the tar of the written blob at path (any compression).
// An eStargz blob needs it: its writer adds entries of its own (the
// landmark file and stargz.index.json) that extraction creates too, so a
// listing of the input stream would miss them. A no-op without --mtree.
func (m *mtreeFlag) listBlob(path string, lim tarpolicy.Limits) error {
	if m.out == nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--mtree: %w", err)
	}
	defer f.Close()
	r, done, err := tarpolicy.Open(f, lim)
	if err != nil {
		return fmt.Errorf("--mtree: list %s: %w", path, err)
	}
	defer done()
	if err := mtree.CopyChecked(io.Discard, r, m.out.Writer); err != nil {
		return fmt.Errorf("--mtree: list %s: %w", path, err)
	}
	return nil
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
