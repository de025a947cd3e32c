package estargz

import (
	"bufio"
	"crypto/sha256"
	"hash"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
)

// members is the compressed side of the blob: a sequence of gzip members
// written to one buffered output. Every uncompressed byte that enters a
// member is also hashed (the diff_id) and counted.
//
// A member is opened on the first write after the previous one closed.
// One gzip writer, reset per member, serves them all: a layer of many
// small files would otherwise allocate a compressor per file. Each member
// header has MTIME 0 ("no time stamp").
type members struct {
	out   *bufio.Writer
	off   int64 // compressed bytes written so far: the offset of the next member
	level int

	gz   *gzip.Writer
	open bool

	diff hash.Hash
	raw  int64 // uncompressed bytes written so far (chunks and table of contents)
}

func newMembers(dst io.Writer, level int) *members {
	m := &members{level: level, diff: sha256.New()}
	m.out = bufio.NewWriterSize(countingWriter{w: dst, n: &m.off}, 64<<10)
	return m
}

// Write compresses p into the open member, opening one if none is.
func (m *members) Write(p []byte) (int, error) {
	if err := m.openMember(); err != nil {
		return 0, err
	}
	m.diff.Write(p)
	n, err := m.gz.Write(p)
	m.raw += int64(n)
	return n, err
}

func (m *members) openMember() error {
	if m.open {
		return nil
	}
	if m.gz == nil {
		gz, err := gzip.NewWriterLevel(m.out, m.level)
		if err != nil {
			return err
		}
		m.gz = gz
	} else {
		m.gz.Reset(m.out) // clears the header too
	}
	// This gzip writer puts the Unix time of ModTime into MTIME even for
	// the zero time.Time; the epoch gives MTIME 0.
	m.gz.ModTime = time.Unix(0, 0)
	m.open = true
	return nil
}

// startChunk ends the open member with a sync flush followed by its final
// block and trailer, so that the next bytes begin a member of their own,
// and returns that member's offset in the blob. With no member open it
// only returns the offset.
func (m *members) startChunk() (int64, error) {
	if m.open {
		if err := m.gz.Flush(); err != nil {
			return 0, err
		}
		if err := m.closeMember(); err != nil {
			return 0, err
		}
	}
	return m.offset(), nil
}

// closeMember writes the final block and trailer of the open member,
// without the sync flush startChunk adds.
func (m *members) closeMember() error {
	if !m.open {
		return nil
	}
	m.open = false
	return m.gz.Close()
}

// offset is the number of compressed bytes written, buffered or not.
func (m *members) offset() int64 { return m.off + int64(m.out.Buffered()) }

// countingWriter counts what reaches w.
type countingWriter struct {
	w io.Writer
	n *int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}
