//go:build !unix

package layer

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// readSmallFile stats path (following symlinks) and returns its content when
// it is a regular file of 1 to limit bytes; otherwise data is nil.
func readSmallFile(path string, limit int64) (fs.FileMode, int64, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > limit {
		return fi.Mode(), fi.Size(), nil, nil
	}
	data := getBuffer(fi.Size())
	if n, err := io.ReadFull(f, data); err != nil {
		return 0, 0, nil, fmt.Errorf("read %s (%d of %d bytes): %w", path, n, fi.Size(), err)
	}
	return fi.Mode(), fi.Size(), data, nil
}
