package layer

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
)

// parentModes are the modes of the parent directories that every Linux
// system shares world-writable, with the sticky bit set so that only the
// owner of a file may remove it. A layer that writes one of them as 0755
// and is unpacked over a base that has it would take the write permission
// away from everyone else (unpacking applies the mode of a directory entry
// to an existing directory), so they keep their standard mode. /var/lock
// is left out: it is a symlink to /run/lock on current distributions.
var parentModes = map[string]int64{
	"tmp":      0o1777,
	"var/tmp":  0o1777,
	"dev/shm":  0o1777,
	"run/lock": 0o1777,
}

// ParentMode is the mode that WithParentDirectories writes for the parent
// directory at the tar name dir (no leading or trailing slash): 01777 for
// tmp, var/tmp, dev/shm and run/lock, 0755 for every other directory.
func ParentMode(dir string) int64 {
	if m, ok := parentModes[dir]; ok {
		return m
	}
	return dirMode
}

// addParents writes, with WithParentDirectories, a directory entry for
// each parent of the tar name that no entry has claimed yet, outermost
// first. Every path in w.paths had its own parents handled when it was
// written, so the walk up stops at the first claimed parent.
func (w *Writer) addParents(name string) error {
	if !w.opts.parents {
		return nil
	}
	child := strings.TrimSuffix(name, "/")
	var missing []string
	for dir := path.Dir(child); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if _, ok := w.paths[dir]; ok {
			break
		}
		missing = append(missing, dir)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		dir := missing[i]
		w.paths[dir] = &entryRecord{path: dir, typ: tar.TypeDir, src: child}
		h := baseHeader(dir+"/", tar.TypeDir, ParentMode(dir))
		w.md.applyOverride(h)
		if err := w.tw.WriteHeader(h); err != nil {
			return fmt.Errorf("write tar header for /%s (parent of /%s): %w", dir, child, err)
		}
		if err := w.listHeader(h); err != nil {
			return err
		}
		w.Entries++
	}
	return nil
}
