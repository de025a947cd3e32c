//go:build unix

package layer

import (
	"fmt"
	"io/fs"
	"syscall"
)

// readSmallFile stats path (following symlinks) and returns its content when
// it is a regular file of 1 to limit bytes; otherwise data is nil. It uses
// bare system calls (open, fstat, read, close): os.File's poller setup costs
// as much as the read itself for the small files that fill most layers.
func readSmallFile(path string, limit int64) (mode fs.FileMode, size int64, data []byte, err error) {
	var fd int
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return 0, 0, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return 0, 0, nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	mode = fs.FileMode(st.Mode & 0o777)
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		return mode | fs.ModeDir, st.Size, nil, nil
	default:
		return mode | fs.ModeIrregular, st.Size, nil, nil
	}
	size = st.Size
	if size == 0 || size > limit {
		return mode, size, nil, nil
	}
	data = getBuffer(size)
	for off := 0; off < len(data); {
		n, err := syscall.Read(fd, data[off:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, 0, nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return 0, 0, nil, fmt.Errorf("read %s: file shrank while it was read (%d of %d bytes)", path, off, size)
		}
		off += n
	}
	return mode, size, data, nil
}
