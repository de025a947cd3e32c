package estargz

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"
)

// The table of contents is one JSON document, indented with tabs:
//
//	{
//		"version": 1,
//		"entries": [
//			{ ...entry... },
//			...
//		]
//	}
//
// with "null" for the entries of a blob without any.
const (
	tocHead      = "{\n\t\"version\": 1,\n\t\"entries\": "
	tocOpen      = "[\n\t\t"
	tocSep       = ",\n\t\t"
	tocTail      = "\n\t]\n}"
	tocTailEmpty = "null\n}"
)

// spillMemory is how much of the table of contents stays in memory
// before it moves to a temporary file.
const spillMemory = 1 << 20

// toc collects the table of contents as it is written, entry by entry:
// the JSON of each entry is appended to a buffer that moves to a
// temporary file once it outgrows spillMemory, and is hashed on the way,
// so that the memory it takes does not depend on the number of entries.
// Close (or copyTo's caller's cleanup) removes the file.
type toc struct {
	dir      string
	entries  int64
	n        int64 // bytes of JSON so far, tocHead included
	sum      hash.Hash
	mem      bytes.Buffer
	f        *os.File
	fw       *bufio.Writer
	unlinked bool
	scratch  []byte
}

func newTOC(dir string) *toc {
	t := &toc{dir: dir, sum: sha256.New()}
	t.sum.Write([]byte(tocHead))
	t.n = int64(len(tocHead))
	return t
}

// add appends the JSON of e.
func (t *toc) add(e *entry) error {
	b := t.scratch[:0]
	if t.entries == 0 {
		b = append(b, tocOpen...)
	} else {
		b = append(b, tocSep...)
	}
	b = e.appendJSON(b)
	t.scratch = b
	t.entries++
	return t.write(b)
}

// addJSON appends entries already encoded by appendJSON and joined by
// tocSep (the chunks of a file, which follow the file's own entry).
func (t *toc) addJSON(b []byte, count int64) error {
	if count == 0 {
		return nil
	}
	if err := t.write([]byte(tocSep)); err != nil {
		return err
	}
	t.entries += count
	return t.write(b)
}

func (t *toc) write(b []byte) error {
	t.sum.Write(b)
	t.n += int64(len(b))
	if t.f == nil {
		if t.mem.Len()+len(b) <= spillMemory {
			t.mem.Write(b)
			return nil
		}
		f, err := os.CreateTemp(t.dir, "estargz-toc-*.json")
		if err != nil {
			return fmt.Errorf("table of contents: %w", err)
		}
		t.f = f
		// Unlinked at once where the system allows it, so that not even
		// a killed process leaves the file behind; close removes it
		// otherwise.
		t.unlinked = os.Remove(f.Name()) == nil
		t.fw = bufio.NewWriterSize(f, 64<<10)
		if _, err := t.fw.Write(t.mem.Bytes()); err != nil {
			return fmt.Errorf("table of contents %s: %w", f.Name(), err)
		}
		t.mem = bytes.Buffer{}
	}
	if _, err := t.fw.Write(b); err != nil {
		return fmt.Errorf("table of contents %s: %w", t.f.Name(), err)
	}
	return nil
}

// finish ends the document and returns its size and digest. No entry can
// be added after it.
func (t *toc) finish() (int64, ocispec.Digest, error) {
	tail := tocTail
	if t.entries == 0 {
		tail = tocTailEmpty
	}
	if err := t.write([]byte(tail)); err != nil {
		return 0, "", err
	}
	d := ocispec.NewDigest(ocispec.SHA256, t.sum)
	return t.n, d, nil
}

// copyTo writes the whole document to w (after finish).
func (t *toc) copyTo(w io.Writer) error {
	if _, err := io.WriteString(w, tocHead); err != nil {
		return err
	}
	if t.f == nil {
		_, err := w.Write(t.mem.Bytes())
		return err
	}
	if err := t.fw.Flush(); err != nil {
		return fmt.Errorf("table of contents %s: %w", t.f.Name(), err)
	}
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("table of contents %s: %w", t.f.Name(), err)
	}
	if _, err := io.Copy(w, bufio.NewReaderSize(t.f, 64<<10)); err != nil {
		return fmt.Errorf("table of contents %s: %w", t.f.Name(), err)
	}
	return nil
}

// close removes the temporary file, if there is one.
func (t *toc) close() error {
	if t.f == nil {
		return nil
	}
	name := t.f.Name()
	err := t.f.Close()
	if !t.unlinked {
		if rmErr := os.Remove(name); err == nil {
			err = rmErr
		}
	}
	t.f, t.fw = nil, nil
	if err != nil {
		return fmt.Errorf("table of contents %s: %w", name, err)
	}
	return nil
}
