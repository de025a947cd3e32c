// Package syslibs describes shared libraries of a base image: each placed
// with its SONAME link, an ld.so.conf.d entry and optionally a prebuilt
// glibc ld.so.cache.
package syslibs

import (
	"debug/elf"
	"fmt"
	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
	"path"
	"strings"
)

// Library is one shared library to place: its name in the image and the
// file holding it.
type Library struct {
	Name, Source string
}

// LibrariesOptions is what system_libraries describes.
type LibrariesOptions struct {
	Libraries []Library
	// LibDir is the directory in the image, e.g. "/usr/lib/x86_64-linux-gnu".
	LibDir string
	// LdSoConf writes /etc/ld.so.conf.d/rules_img.conf naming LibDir.
	LdSoConf bool
	// LdSoCache writes /etc/ld.so.cache for Arch (a GOARCH) listing the
	// libraries by SONAME (or file name, when they have none).
	LdSoCache bool
	Arch      string
	Mode      int64
}

// Libraries describes shared libraries in LibDir, each with a symlink named
// after its SONAME (the name the dynamic linker resolves) when that
// differs from its file name. Every file must be an ELF shared object.
func Libraries(o LibrariesOptions) ([]baseimage.Entry, error) {
	dir, err := baseimage.CleanPath(o.LibDir)
	if err != nil {
		return nil, fmt.Errorf("lib_dir: %w", err)
	}
	if len(o.Libraries) == 0 {
		return nil, fmt.Errorf("no libraries: %w", baseimage.ErrInvalidArgument)
	}
	var out []baseimage.Entry
	var cache []CacheEntry
	placed := map[string]string{}
	for _, l := range o.Libraries {
		if l.Name == "" || strings.ContainsAny(l.Name, "/\x00") {
			return nil, fmt.Errorf("library name %q: %w", l.Name, baseimage.ErrInvalidArgument)
		}
		soname, err := Soname(l.Source)
		if err != nil {
			return nil, err
		}
		if prev, ok := placed[l.Name]; ok {
			return nil, fmt.Errorf("%s and %s would both be /%s/%s: %w", prev, l.Source, dir, l.Name, baseimage.ErrInvalidArgument)
		}
		placed[l.Name] = l.Source
		out = append(out, baseimage.Entry{Path: dir + "/" + l.Name, Type: baseimage.TypeFile, Mode: o.Mode, Source: l.Source})
		if soname != "" && soname != l.Name {
			if prev, ok := placed[soname]; ok {
				return nil, fmt.Errorf("the SONAME %s of %s is already taken by %s: %w", soname, l.Source, prev, baseimage.ErrInvalidArgument)
			}
			placed[soname] = l.Source
			out = append(out, baseimage.Symlink(dir+"/"+soname, l.Name))
		}
		key := soname
		if key == "" {
			key = l.Name
		}
		cache = append(cache, CacheEntry{Key: key, Path: path.Join("/", dir, key)})
	}
	if o.LdSoConf {
		out = append(out, baseimage.File("etc/ld.so.conf.d/rules_img.conf", 0o644, []byte(path.Join("/", dir)+"\n")))
	}
	if o.LdSoCache {
		c, err := LdSoCache(o.Arch, cache)
		if err != nil {
			return nil, err
		}
		out = append(out, baseimage.File("etc/ld.so.cache", 0o644, c))
	}
	return out, nil
}

// Soname reads the DT_SONAME of the ELF shared object at p ("" when it has
// none). A file that is not an ELF shared object is an error.
func Soname(p string) (string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("%s is not an ELF file: %w: %w", p, err, baseimage.ErrInvalidArgument)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		return "", fmt.Errorf("%s is an ELF %s, not a shared object: %w", p, f.Type, baseimage.ErrInvalidArgument)
	}
	if flags, err := f.DynValue(elf.DT_FLAGS_1); err == nil && len(flags) > 0 && flags[0]&uint64(elf.DF_1_PIE) != 0 {
		return "", fmt.Errorf("%s is a position-independent executable, not a shared object: %w", p, baseimage.ErrInvalidArgument)
	}
	names, err := f.DynString(elf.DT_SONAME)
	if err != nil {
		return "", fmt.Errorf("%s: dynamic section: %w: %w", p, err, baseimage.ErrInvalidArgument)
	}
	if len(names) == 0 {
		return "", nil
	}
	if strings.ContainsAny(names[0], "/\x00") || names[0] == "" {
		return "", fmt.Errorf("%s: SONAME %q is not a file name: %w", p, names[0], baseimage.ErrInvalidArgument)
	}
	return names[0], nil
}
