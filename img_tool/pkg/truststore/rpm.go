package truststore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// Bounds of the RPM headers read (they are skipped, not interpreted).
const (
	maxHeaderIndex = 1 << 16
	maxHeaderStore = 64 << 20
)

// AddRPM adds the certificates an RPM package ships (the .crt and .pem
// files below certDirs, e.g. /usr/share/pki/ca-trust-source/anchors) to s,
// in payload order. Only the payload is read: a gzip- or zstd-compressed
// cpio archive (newc); xz, bzip2 and lzma payloads are refused. Note that
// Fedora's ca-certificates package ships its bundle in p11-kit's format,
// which is not read; a package without certificate files is an error.
// name identifies r in errors.
func (s *Store) AddRPM(name string, r io.Reader) error {
	br := bufio.NewReader(r)
	lead := make([]byte, 96)
	if _, err := io.ReadFull(br, lead); err != nil || !bytes.Equal(lead[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		return fmt.Errorf("%s: not an RPM package (no lead): %w", name, ErrInvalidArgument)
	}
	// The signature header, padded to 8 bytes, then the main header.
	for i, pad := range []bool{true, false} {
		if err := skipRPMHeader(br, pad); err != nil {
			return fmt.Errorf("%s: %s header: %w", name, [...]string{"signature", "main"}[i], err)
		}
	}
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}), bytes.HasPrefix(magic, []byte("BZh")), bytes.HasPrefix(magic, []byte{0x5d, 0, 0}):
		return fmt.Errorf("%s: payload: only gzip- or zstd-compressed payloads are read, not xz, bzip2 or lzma: %w", name, ErrInvalidArgument)
	}
	ur, done, err := tarpolicy.Open(br, tarpolicy.Limits{})
	if err != nil {
		return fmt.Errorf("%s: payload: %w", name, err)
	}
	defer done()
	found, err := s.addCpio(bufio.NewReader(ur))
	if err != nil {
		return fmt.Errorf("%s: payload: %w", name, err)
	}
	if found == 0 {
		return fmt.Errorf("%s: no certificate files below %s: %w", name, strings.Join(certDirs, ", "), ErrInvalidArgument)
	}
	return nil
}

func skipRPMHeader(br *bufio.Reader, pad bool) error {
	h := make([]byte, 16)
	if _, err := io.ReadFull(br, h); err != nil || !bytes.Equal(h[:4], []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return fmt.Errorf("bad header magic: %w", ErrInvalidArgument)
	}
	nindex, hsize := binary.BigEndian.Uint32(h[8:12]), binary.BigEndian.Uint32(h[12:16])
	if nindex > maxHeaderIndex || hsize > maxHeaderStore {
		return fmt.Errorf("header of %d entries and %d bytes is too large: %w", nindex, hsize, ErrInvalidArgument)
	}
	size := int64(nindex)*16 + int64(hsize)
	if pad {
		size += (8 - (16+size)%8) % 8
	}
	if _, err := io.CopyN(io.Discard, br, size); err != nil {
		return fmt.Errorf("truncated: %w", err)
	}
	return nil
}

// addCpio reads a newc (or crc) cpio stream and adds the certificate
// files; it returns how many it read.
func (s *Store) addCpio(r *bufio.Reader) (found int, err error) {
	var off int64
	skip := func(n int64) error {
		_, err := io.CopyN(io.Discard, r, n)
		off += n
		return err
	}
	for i := 0; i <= maxMembers; i++ {
		hdr := make([]byte, 110)
		if _, err := io.ReadFull(r, hdr); err != nil {
			return found, fmt.Errorf("cpio header at %d: %w", off, err)
		}
		off += 110
		if m := string(hdr[:6]); m != "070701" && m != "070702" {
			return found, fmt.Errorf("cpio header at %d: magic %q is not newc: %w", off-110, m, ErrInvalidArgument)
		}
		field := func(i int) (int64, error) {
			return strconv.ParseInt(string(hdr[6+8*i:14+8*i]), 16, 64)
		}
		mode, err1 := field(1)
		size, err2 := field(6)
		nameSize, err3 := field(11)
		if err1 != nil || err2 != nil || err3 != nil || nameSize < 1 || nameSize > 4096 || size < 0 || size > maxInput*64 {
			return found, fmt.Errorf("cpio header at %d: bad fields: %w", off-110, ErrInvalidArgument)
		}
		nameBuf := make([]byte, nameSize)
		if _, err := io.ReadFull(r, nameBuf); err != nil {
			return found, fmt.Errorf("cpio name at %d: %w", off, err)
		}
		off += nameSize
		if err := skip((4 - off%4) % 4); err != nil {
			return found, err
		}
		name := string(bytes.TrimRight(nameBuf, "\x00"))
		if name == "TRAILER!!!" {
			return found, nil
		}
		clean := strings.TrimPrefix(path.Clean("/"+name), "/")
		if mode&0o170000 == 0o100000 && size > 0 && isCertMember(clean) {
			if size > maxInput {
				return found, fmt.Errorf("/%s: larger than %d bytes: %w", clean, maxInput, ErrInvalidArgument)
			}
			data := make([]byte, size)
			if _, err := io.ReadFull(r, data); err != nil {
				return found, fmt.Errorf("/%s: %w", clean, err)
			}
			off += size
			found++
			if err := s.Add("/"+clean, data); err != nil {
				return found, err
			}
		} else if err := skip(size); err != nil {
			return found, fmt.Errorf("/%s: %w", clean, err)
		}
		if err := skip((4 - off%4) % 4); err != nil {
			return found, err
		}
	}
	return found, fmt.Errorf("more than %d cpio members: %w", maxMembers, ErrInvalidArgument)
}
