package layer

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Reading a tree is mostly system calls (open, fstat, read, close per file),
// so a walker lists the tree in layer order while a few readers load small
// files ahead of the writer, which consumes them in that same order.
const (
	treeReaders  = 4
	treeWindow   = 64        // entries listed ahead of the writer
	prefetchSize = 256 << 10 // files up to this size are loaded ahead (window x size bounds memory)
)

// Buffers of prefetched files come from pools by size class, so that the
// many small reads of a large tree do not churn the garbage collector.
var bufferClasses = [...]int{4 << 10, 16 << 10, 64 << 10, prefetchSize}

var bufferPools [len(bufferClasses)]sync.Pool

func getBuffer(size int64) []byte {
	for i, c := range bufferClasses {
		if size <= int64(c) {
			if b, ok := bufferPools[i].Get().(*[]byte); ok {
				return (*b)[:size]
			}
			return make([]byte, size, c)
		}
	}
	return make([]byte, size)
}

func putBuffer(b []byte) {
	for i, c := range bufferClasses {
		if cap(b) == c {
			b = b[:0]
			bufferPools[i].Put(&b)
			return
		}
	}
}

// treeItem is one entry of a directory tree, in layer order.
type treeItem struct {
	name   string // tar name
	src    string // host path
	typ    byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	target string // symlink target
	err    error

	// Regular files: set by a reader before done is closed.
	done   chan struct{}
	size   int64
	data   []byte // the content, when size <= prefetchSize
	digest [sha256.Size]byte
	hashed bool // digest is set: files of up to eagerHash bytes
}

// load stats the file and, if it is small, reads it. A file of up to
// eagerHash bytes, which the writer hashes whatever else it holds, is
// hashed here, on the reader's goroutine; a larger one only by the writer
// and only if an earlier file has its size (see contentTwin).
func (it *treeItem) load() {
	defer close(it.done)
	mode, size, data, err := readSmallFile(it.src, prefetchSize)
	if err != nil {
		it.err = fmt.Errorf("add /%s: %w", it.name, err)
		return
	}
	if !mode.IsRegular() {
		it.err = fmt.Errorf("add /%s: %s is not a regular file: %w", it.name, it.src, ErrInvalidArgument)
		return
	}
	it.size, it.data = size, data
	if data != nil && len(data) <= eagerHash {
		it.digest, it.hashed = sha256.Sum256(data), true
	}
}

// maxLinks bounds the symlinks followed on one path of a walk: in a chain
// of links to links, and in the directories a path passes through.
const maxLinks = 40

// treeWalker lists a tree depth-first in name order. Absolute symlinks are
// followed; onPath holds the directories on the current path (device and
// inode, to the tar name they are written at), so that a link back to one
// of them is an error instead of an endless walk.
type treeWalker struct {
	items  chan<- *treeItem
	jobs   chan<- *treeItem
	stop   <-chan struct{}
	onPath map[dirID]string
}

func (tw *treeWalker) emit(it *treeItem) bool {
	select {
	case tw.items <- it:
	case <-tw.stop:
		return false
	}
	if it.typ == tar.TypeReg && it.err == nil {
		select {
		case tw.jobs <- it:
		case <-tw.stop:
			return false
		}
	}
	return true
}

func (tw *treeWalker) fail(name string, err error) bool {
	tw.emit(&treeItem{name: name, err: fmt.Errorf("add /%s: %w", name, err)})
	return false
}

func (tw *treeWalker) regular(name, src string) bool {
	return tw.emit(&treeItem{name: name, src: src, typ: tar.TypeReg, done: make(chan struct{})})
}

// walk lists dir at name; it returns false once the walk must end. via
// describes the symlink that led to dir ("" if none); links counts the
// symlinks followed on the path so far.
func (tw *treeWalker) walk(name, dir, via string, links int) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return tw.fail(name, err)
	}
	if id, ok := idOf(fi); ok {
		if tw.onPath == nil {
			tw.onPath = map[dirID]string{}
		}
		if at, seen := tw.onPath[id]; seen {
			if via == "" {
				via = dir // a bind mount, say
			}
			return tw.fail(name, fmt.Errorf("symlink cycle: %s leads back to %s, the directory already being added at /%s: %w", via, dir, at, ErrInvalidArgument))
		}
		tw.onPath[id] = name
		defer delete(tw.onPath, id)
	}
	if !tw.emit(&treeItem{name: name, src: dir, typ: tar.TypeDir}) {
		return false
	}
	ents, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return tw.fail(name, err)
	}
	for _, e := range ents {
		child, src := name+"/"+e.Name(), filepath.Join(dir, e.Name())
		t := e.Type()
		var ok bool
		switch {
		case t&fs.ModeSymlink != 0:
			ok = tw.symlink(child, src, links)
		case t.IsDir():
			ok = tw.walk(child, src, "", links)
		case t.IsRegular():
			ok = tw.regular(child, src)
		default:
			ok = tw.fail(child, fmt.Errorf("%s is neither file, directory nor symlink: %w", src, ErrInvalidArgument))
		}
		if !ok {
			return false
		}
	}
	return true
}

// symlink handles a symlink at src. Bazel forbids absolute symlinks in tree
// artifacts, so an absolute one is a sandbox's link to the real output: what
// it names goes into the layer (a symlink there stays a symlink). At most
// maxLinks links are followed on a path.
func (tw *treeWalker) symlink(name, src string, links int) bool {
	target, err := os.Readlink(src)
	if err != nil {
		return tw.fail(name, err)
	}
	if !filepath.IsAbs(target) {
		return tw.emit(&treeItem{name: name, typ: tar.TypeSymlink, target: target})
	}
	if links++; links > maxLinks {
		return tw.fail(name, fmt.Errorf("symlink %s -> %s: more than %d symlinks followed (a symlink cycle?): %w", src, target, maxLinks, ErrInvalidArgument))
	}
	fi, err := os.Lstat(target)
	switch {
	case err != nil:
		return tw.fail(name, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return tw.symlink(name, target, links)
	case fi.IsDir():
		return tw.walk(name, target, "symlink "+src+" -> "+target, links)
	case fi.Mode().IsRegular():
		return tw.regular(name, target)
	}
	return tw.fail(name, fmt.Errorf("%s is neither file, directory nor symlink: %w", target, ErrInvalidArgument))
}

// AddTree adds the directory dir and everything below it at pathInImage,
// in name order. Relative symlinks inside the tree are kept as symlinks.
func (w *Writer) AddTree(pathInImage, dir string) error {
	name, err := CleanPath(pathInImage)
	if err != nil {
		return err
	}
	return w.addTree(name, dir)
}

func (w *Writer) addTree(name, dir string) error {
	if w.opts.trees == TreesDeduplicateSymlink {
		key := filepath.Clean(dir)
		first, seen := w.trees[key]
		switch {
		case !seen:
			w.trees[key] = name
		case first != name:
			return w.addSymlink(name, relativeTarget(name, first))
		}
	}
	items := make(chan *treeItem, treeWindow)
	jobs := make(chan *treeItem, treeWindow)
	stop := make(chan struct{})
	go func() {
		defer close(items)
		defer close(jobs)
		(&treeWalker{items: items, jobs: jobs, stop: stop}).walk(name, dir, "", 0)
	}()
	var readers sync.WaitGroup
	for range treeReaders {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for it := range jobs {
				it.load()
			}
		}()
	}
	defer func() {
		close(stop)
		for range items { // let the walker see stop and finish
		}
		readers.Wait()
	}()
	clean := filepath.Clean(dir)
	for it := range items {
		if err := w.addTreeItem(it, clean, name); err != nil {
			return err
		}
	}
	return nil
}

// addTreeItem writes one entry of the tree whose clean host directory dir
// is written at the tar name root.
func (w *Writer) addTreeItem(it *treeItem, dir, root string) error {
	if it.err != nil {
		return it.err
	}
	switch it.typ {
	case tar.TypeDir:
		return w.addDir(it.name)
	case tar.TypeSymlink:
		return w.addSymlink(it.name, it.target)
	}
	<-it.done
	if it.err != nil {
		return it.err
	}
	h, rec, skip, err := w.startRegular(it.name, it.src, it.size)
	if err != nil || skip {
		return err
	}
	rec.shareTreeSource(dir, root)
	if it.hashed {
		rec.digest, rec.hashed = it.digest, true
	}
	if it.data != nil {
		err := w.writeBody(h, sizeKey{size: it.size, header: w.headerKey(h)}, rec, it.data)
		putBuffer(it.data)
		it.data = nil
		return err
	}
	f, err := os.Open(it.src)
	if err != nil {
		return fmt.Errorf("add /%s: %w", it.name, err)
	}
	defer f.Close()
	return w.writeContent(h, rec, f)
}

// relativeTarget is the symlink target that leads from a symlink named
// link to the entry target (both tar names): the shortest relative path,
// so that the link resolves inside the image wherever its root is mounted.
func relativeTarget(link, target string) string {
	var from, to []string
	if dir := path.Dir(link); dir != "." {
		from = strings.Split(dir, "/")
	}
	to = strings.Split(target, "/")
	common := 0
	for common < len(from) && common < len(to) && from[common] == to[common] {
		common++
	}
	parts := make([]string, 0, len(from)-common+len(to)-common)
	for range from[common:] {
		parts = append(parts, "..")
	}
	parts = append(parts, to[common:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}
