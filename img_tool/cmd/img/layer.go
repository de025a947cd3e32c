package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/layer"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/paramfile"
)

// source is one thing to put into the layer, in command-line order.
type source struct {
	path, file string
	typ        byte // 'f', 'd', 'l'
}

func runLayer(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("layer", "[flags] OUTPUT")
	var (
		name, metadataOut, defaultMD             string
		adds, addFiles, importTars, symlinkFiles listFlag
		executables                              = kvFlag{name: "executable"}
		runfiles                                 = kvFlag{name: "runfiles"}
		symlinks                                 = kvFlag{name: "symlink"}
		annotations                              = kvFlag{name: "annotation"}
		fileMD                                   = kvFlag{name: "file-metadata"}
		comp                                     compressionFlags
		window                                   zstdWindowFlag
		parents                                  bool
		treeHandling                             string
		listing                                  mtreeFlag
	)
	fs.StringVar(&name, "name", "", "Name recorded in the metadata (the layer's label). Defaults to the digest.")
	fs.Var(&adds, "add", "PATH=FILE: add a file (or directory) at PATH in the image. Repeatable.")
	fs.Var(&addFiles, "add-from-file", `Parameter file of "<path>\0<f|d><file>" lines to add. Repeatable.`)
	fs.Var(&importTars, "import-tar", "Copy all entries of a tar file (gzip, zstd or plain), deduplicating. Repeatable.")
	fs.Var(&executables, "executable", "PATH=FILE: add an executable; its runfiles come from --runfiles. Repeatable.")
	fs.Var(&runfiles, "runfiles", `FILE=PARAMFILE: runfiles of executable FILE, as "<rel>\0<f|d><file>" lines, placed under PATH.runfiles/.`)
	fs.Var(&symlinks, "symlink", "PATH=TARGET: add a symlink. Repeatable.")
	fs.Var(&symlinkFiles, "symlinks-from-file", `Parameter file of "<path>\0<target>" symlink lines. Repeatable.`)
	fs.Var(&annotations, "annotation", "KEY=VALUE annotation for the layer descriptor. Repeatable.")
	fs.StringVar(&metadataOut, "metadata", "", "Write the layer metadata JSON here.")
	fs.StringVar(&defaultMD, "default-metadata", "", "JSON defaults for every entry: mode, uid, gid, uname, gname, mtime, pax_records.")
	fs.Var(&fileMD, "file-metadata", "PATH=JSON: metadata of one entry, over the defaults. Every PATH must match an entry. Repeatable.")
	fs.BoolVar(&parents, "create-parent-directories", false, "Write a directory entry (owner 0:0, mtime 0; mode 0755, but 01777 for /tmp, /var/tmp, /dev/shm and /run/lock) for every parent of an entry that the layer does not list before it.")
	fs.StringVar(&treeHandling, "layer-tree-artifact-handling", string(layer.TreesFull), `Directory sources added at several paths: "full" writes each in full, "deduplicate_symlink" writes the first and makes the others relative symlinks to it.`)
	comp.register(fs, "gzip")
	window.register(fs)
	listing.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one OUTPUT argument, got %d", fs.NArg())
	}
	out := fs.Arg(0)
	// Errors name the layer's label when the rules pass it, else the output.
	ident := out
	if name != "" {
		ident = name
	}
	opts, err := comp.options()
	if err != nil {
		return fmt.Errorf("layer %s: %w", ident, err)
	}
	md, err := layer.ParseMetadata(defaultMD, fileMD.Map())
	if err != nil {
		return fmt.Errorf("layer %s: %w", ident, err)
	}
	trees, err := layer.ParseTreeHandling(treeHandling)
	if err != nil {
		return fmt.Errorf("layer %s: --layer-tree-artifact-handling: %w", ident, err)
	}
	layerOpts := []layer.Option{layer.WithTreeHandling(trees), layer.WithZstdMaxWindow(window.n)}
	if parents {
		layerOpts = append(layerOpts, layer.WithParentDirectories())
	}

	var srcs []source
	for _, a := range adds {
		p, f, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("--add %q: want PATH=FILE", a)
		}
		srcs = append(srcs, source{path: p, file: f, typ: 'f'})
	}
	for _, pf := range addFiles {
		entries, err := paramfile.ReadFiles(pf)
		if err != nil {
			return fmt.Errorf("layer %s: %w", ident, err)
		}
		for _, e := range entries {
			srcs = append(srcs, source{path: e.Path, file: e.Source, typ: e.Type})
		}
	}
	srcs = spreadSharedPaths(srcs)
	for _, pf := range symlinkFiles {
		pairs, err := paramfile.ReadPairs(pf)
		if err != nil {
			return fmt.Errorf("layer %s: %w", ident, err)
		}
		symlinks.pairs = append(symlinks.pairs, pairs...)
	}
	runfilesOf := runfiles.Map()
	if err := listing.start(); err != nil {
		return fmt.Errorf("layer %s: %w", ident, err)
	}
	defer listing.abort()
	if lw := listing.writer(); lw != nil && !comp.estargz {
		layerOpts = append(layerOpts, layer.WithListing(lw))
	}

	fill := func(w io.Writer) error {
		lw, err := layer.New(w, md, layerOpts...)
		if err != nil {
			return err
		}
		for _, t := range importTars {
			f, err := os.Open(t)
			if err != nil {
				return fmt.Errorf("import-tar: %w", err)
			}
			err = lw.ImportTar(t, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		for _, s := range srcs {
			var err error
			switch s.typ {
			case 'l':
				err = lw.AddSymlink(s.path, s.file)
			case 'd':
				err = lw.AddTree(s.path, s.file)
			default:
				err = lw.AddFile(s.path, s.file)
			}
			if err != nil {
				return err
			}
		}
		for _, e := range executables.pairs {
			var rf []layer.RunfilesEntry
			if pf, ok := runfilesOf[e[1]]; ok {
				entries, err := paramfile.ReadFiles(pf)
				if err != nil {
					return err
				}
				for _, x := range entries {
					rf = append(rf, layer.RunfilesEntry{Path: x.Path, Source: x.Source, Dir: x.Type == 'd'})
				}
			}
			if err := lw.AddExecutable(e[0], e[1], rf); err != nil {
				return err
			}
		}
		for _, s := range symlinks.pairs {
			if err := lw.AddSymlink(s[0], s[1]); err != nil {
				return err
			}
		}
		return lw.Close()
	}
	restoreMemory := compress.LimitMemory(compress.MemoryFloor)
	res, err := compress.WriteFile(out, fill, opts...)
	restoreMemory()
	if err != nil {
		return fmt.Errorf("layer %s: %w", ident, err)
	}
	if comp.estargz {
		if err := listing.listBlob(out, window.limits()); err != nil {
			os.Remove(out)
			return fmt.Errorf("layer %s: %w", ident, err)
		}
	}
	if err := writeMetadata(metadataOut, name, res, annotations.Map()); err != nil {
		os.Remove(out) // blob and metadata come as a pair
		return err
	}
	if err := listing.commit(); err != nil {
		os.Remove(out)
		if metadataOut != "" {
			os.Remove(metadataOut)
		}
		return fmt.Errorf("layer %s: %w", ident, err)
	}
	return nil
}

// spreadSharedPaths gives each file its basename below the path when one
// path in the image receives several files (a srcs entry naming a target
// with several outputs), as a directory would hold them.
func spreadSharedPaths(srcs []source) []source {
	count := map[string]int{}
	for _, s := range srcs {
		count[strings.TrimLeft(s.path, "/")]++
	}
	for i, s := range srcs {
		if count[strings.TrimLeft(s.path, "/")] > 1 {
			srcs[i].path = strings.TrimRight(s.path, "/") + "/" + filepath.Base(s.file)
		}
	}
	return srcs
}

// writeMetadata writes the layer metadata JSON (if path is set). User
// annotations come first; format annotations (eStargz) win on conflict.
func writeMetadata(path, name string, res compress.Result, annotations map[string]string) error {
	if path == "" {
		return nil
	}
	if name == "" {
		name = res.Digest
	}
	ann := map[string]string{}
	for k, v := range annotations {
		ann[k] = v
	}
	for k, v := range res.Annotations {
		ann[k] = v
	}
	return metadata.Write(path, &metadata.Layer{
		Name:        name,
		DiffID:      res.DiffID,
		MediaType:   res.MediaType,
		Digest:      res.Digest,
		Size:        res.Size,
		Annotations: ann,
	})
}
