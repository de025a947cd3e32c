package layer

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
)

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
		w.paths[dir] = &entryRecord{path: dir, typ: tar.TypeDir, parentOf: child}
		h := baseHeader(dir+"/", tar.TypeDir, dirMode)
		w.md.applyOverride(h)
		if err := w.tw.WriteHeader(h); err != nil {
			return fmt.Errorf("write tar header for /%s (parent of /%s): %w", dir, child, err)
		}
		w.Entries++
	}
	return nil
}
