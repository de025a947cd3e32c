//go:build !unix

package layer

import "io/fs"

// dirID identifies a directory on the host; elsewhere than on Unix the
// walk relies on the symlink hop limit alone.
type dirID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (dirID, bool) { return dirID{}, false }
