package syslibs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
	"slices"
)

// The library flags ld.so matches cache entries against: the ELF libc6
// type with the bits of the architecture (glibc's _DL_CACHE_DEFAULT_ID).
var ldCacheFlags = map[string]int32{
	"386":      0x0003,
	"amd64":    0x0303, // FLAG_X8664_LIB64
	"arm":      0x0903, // FLAG_ARM_LIBHF
	"arm64":    0x0a03, // FLAG_AARCH64_LIB64
	"ppc64le":  0x0503, // FLAG_POWERPC_LIB64
	"riscv64":  0x1003, // FLAG_RISCV_FLOAT_ABI_DOUBLE
	"s390x":    0x0403, // FLAG_S390_LIB64
	"mips64le": 0x0703, // FLAG_MIPS64_LIBN64
}

// bigEndian are the architectures of ldCacheFlags that are big-endian.
var bigEndian = map[string]bool{"s390x": true}

// CacheEntry is one library of an ld.so.cache: the name a program asks
// for (a SONAME) and the path the loader opens.
type CacheEntry struct{ Key, Path string }

// LdSoCache encodes entries as a glibc ld.so.cache in the format of glibc
// 2.32 and later ("glibc-ld.so.cache1.1"), for the architecture arch (a
// GOARCH): entries sorted the way ld.so's binary search expects, string
// offsets from the start of the file, no extensions.
func LdSoCache(arch string, entries []CacheEntry) ([]byte, error) {
	flags, ok := ldCacheFlags[arch]
	if !ok {
		return nil, fmt.Errorf("ld.so.cache: no glibc cache flags known for %q: %w", arch, baseimage.ErrInvalidArgument)
	}
	var order binary.ByteOrder = binary.LittleEndian
	endian := byte(2) // cache_file_new_flags_endian_little
	if bigEndian[arch] {
		order, endian = binary.BigEndian, 3
	}
	es := slices.Clone(entries)
	// ld.so searches from the largest key down (_dl_cache_libcmp).
	slices.SortStableFunc(es, func(a, b CacheEntry) int { return libcmp(b.Key, a.Key) })
	for i := 1; i < len(es); i++ {
		if es[i].Key == es[i-1].Key {
			return nil, fmt.Errorf("ld.so.cache: %s is in the cache twice (%s, %s): %w", es[i].Key, es[i-1].Path, es[i].Path, baseimage.ErrInvalidArgument)
		}
	}
	const headerSize, entrySize = 48, 24
	strBase := headerSize + entrySize*len(es)
	var strs bytes.Buffer
	offsets := map[string]uint32{}
	str := func(s string) uint32 {
		if off, ok := offsets[s]; ok {
			return off
		}
		off := uint32(strBase + strs.Len())
		strs.WriteString(s)
		strs.WriteByte(0)
		offsets[s] = off
		return off
	}
	var buf bytes.Buffer
	buf.WriteString("glibc-ld.so.cache1.1")
	w := func(v any) { binary.Write(&buf, order, v) }
	w(uint32(len(es)))
	lenStrings := buf.Len() // patched below
	w(uint32(0))
	buf.Write([]byte{endian, 0, 0, 0})
	w(uint32(0))          // extension_offset: none
	w([3]uint32{0, 0, 0}) // unused
	type rec struct {
		Flags      int32
		Key, Value uint32
		OSVersion  uint32
		HWCap      uint64
	}
	for _, e := range es {
		w(rec{Flags: flags, Key: str(e.Key), Value: str(e.Path)})
	}
	out := append(buf.Bytes(), strs.Bytes()...)
	order.PutUint32(out[lenStrings:], uint32(strs.Len()))
	return out, nil
}

// libcmp is glibc's _dl_cache_libcmp: runs of digits compare as numbers,
// a digit sorts after a non-digit, other bytes by value.
func libcmp(a, b string) int {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	i, j := 0, 0
	for i < len(a) {
		switch {
		case isDigit(a[i]):
			if j >= len(b) || !isDigit(b[j]) {
				return 1
			}
			v1, v2 := 0, 0
			for i < len(a) && isDigit(a[i]) {
				v1 = v1*10 + int(a[i]-'0')
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				v2 = v2*10 + int(b[j]-'0')
				j++
			}
			if v1 != v2 {
				return v1 - v2
			}
		case j < len(b) && isDigit(b[j]):
			return -1
		case j >= len(b):
			return int(a[i])
		case a[i] != b[j]:
			return int(a[i]) - int(b[j])
		default:
			i++
			j++
		}
	}
	if j < len(b) {
		return -int(b[j])
	}
	return 0
}
