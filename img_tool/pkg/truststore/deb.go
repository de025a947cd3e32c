package truststore

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// certDirs are the package directories certificates are read from.
var certDirs = []string{"usr/share/ca-certificates/", "usr/local/share/ca-certificates/"}

// maxMembers bounds the members of a package archive and of its data tar.
const maxMembers = 1 << 16

// AddDeb adds the certificates a Debian package ships under
// /usr/share/ca-certificates or /usr/local/share/ca-certificates (the .crt
// files) to s, in the order of the package's data tar. Nothing else of the
// package is interpreted. An xz-compressed data tar is refused: the img
// tool reads gzip, zstd and plain tars. name identifies r in errors.
func (s *Store) AddDeb(name string, r io.Reader) error {
	br := bufio.NewReader(r)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "!<arch>\n" {
		return fmt.Errorf("%s: not a Debian package (no ar header): %w", name, ErrInvalidArgument)
	}
	for i := 0; i < maxMembers; i++ {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(br, hdr); err == io.EOF {
			return fmt.Errorf("%s: no data.tar member: %w", name, ErrInvalidArgument)
		} else if err != nil || string(hdr[58:60]) != "`\n" {
			return fmt.Errorf("%s: broken ar member header: %w", name, ErrInvalidArgument)
		}
		member := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%s: ar member %q: bad size: %w", name, member, ErrInvalidArgument)
		}
		body := io.LimitReader(br, size)
		if strings.HasPrefix(member, "data.tar") {
			if strings.HasSuffix(member, ".xz") || strings.HasSuffix(member, ".lzma") || strings.HasSuffix(member, ".bz2") {
				return fmt.Errorf("%s: %s: only gzip, zstd or uncompressed data tars are read, repack the package: %w", name, member, ErrInvalidArgument)
			}
			if err := s.addDataTar(name, body); err != nil {
				return fmt.Errorf("%s: %s: %w", name, member, err)
			}
			return nil
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if size%2 == 1 {
			br.ReadByte()
		}
	}
	return fmt.Errorf("%s: more than %d ar members: %w", name, maxMembers, ErrInvalidArgument)
}

func (s *Store) addDataTar(name string, r io.Reader) error {
	ur, done, err := tarpolicy.Open(r, tarpolicy.Limits{})
	if err != nil {
		return err
	}
	defer done()
	tr := tarpolicy.NewReader(ur)
	for i := 0; ; i++ {
		if i > maxMembers {
			return fmt.Errorf("more than %d members: %w", maxMembers, ErrInvalidArgument)
		}
		h, m, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(m.Name, ".crt") ||
			!slices.ContainsFunc(certDirs, func(d string) bool { return strings.HasPrefix(m.Name, d) }) {
			continue
		}
		if h.Size > maxInput {
			return fmt.Errorf("/%s: larger than %d bytes: %w", m.Name, maxInput, ErrInvalidArgument)
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(tr, h.Size)); err != nil {
			return fmt.Errorf("/%s: %w", m.Name, err)
		}
		if err := s.Add("/"+m.Name, buf.Bytes()); err != nil {
			return err
		}
	}
}
