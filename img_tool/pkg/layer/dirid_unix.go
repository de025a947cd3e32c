//go:build unix

package layer

import (
	"io/fs"
	"syscall"
)

// dirID identifies a directory on the host: device and inode.
type dirID struct{ dev, ino uint64 }

// idOf returns the identity of the file that fi describes, if the system
// has one.
func idOf(fi fs.FileInfo) (dirID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}, false
	}
	return dirID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
