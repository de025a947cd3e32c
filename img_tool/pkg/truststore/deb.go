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

// certDirs are the package directories certificates are read from:
// Debian's and the trust anchors of Fedora's p11-kit layout.
var certDirs = []string{
	"usr/share/ca-certificates/",
	"usr/local/share/ca-certificates/",
	"usr/share/pki/ca-trust-source/anchors/",
	"etc/pki/ca-trust/source/anchors/",
}

// isCertMember reports whether a package member (a clean path without a
// leading "/") is a certificate file the store reads: a .crt or .pem file
// below one of certDirs.
func isCertMember(name string) bool {
	if !strings.HasSuffix(name, ".crt") && !strings.HasSuffix(name, ".pem") {
		return false
	}
	return slices.ContainsFunc(certDirs, func(d string) bool { return strings.HasPrefix(name, d) })
}

// maxMembers bounds the members of a package archive and of its data tar.
const maxMembers = 1 << 16

// AddDeb adds the certificates a Debian package ships (the .crt and .pem
// files below certDirs, e.g. /usr/share/ca-certificates) to s, in the order of the package's data tar. Nothing else of the
// package is interpreted; a package without certificate files is an
// error. An xz-compressed data tar is refused: the img tool reads gzip,
// zstd and plain tars. name identifies r in errors.
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
			found, err := s.addDataTar(body)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", name, member, err)
			}
			if found == 0 {
				return fmt.Errorf("%s: no certificate files below %s: %w", name, strings.Join(certDirs, ", "), ErrInvalidArgument)
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

// addDataTar adds the certificate files of a data tar; it returns how many
// it read.
func (s *Store) addDataTar(r io.Reader) (found int, err error) {
	ur, done, err := tarpolicy.Open(r, tarpolicy.Limits{})
	if err != nil {
		return found, err
	}
	defer done()
	tr := tarpolicy.NewReader(ur)
	for i := 0; ; i++ {
		if i > maxMembers {
			return found, fmt.Errorf("more than %d members: %w", maxMembers, ErrInvalidArgument)
		}
		h, m, err := tr.Next()
		if err == io.EOF {
			return found, nil
		}
		if err != nil {
			return found, err
		}
		if h.Typeflag != tar.TypeReg || !isCertMember(m.Name) {
			continue
		}
		if h.Size > maxInput {
			return found, fmt.Errorf("/%s: larger than %d bytes: %w", m.Name, maxInput, ErrInvalidArgument)
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(tr, h.Size)); err != nil {
			return found, fmt.Errorf("/%s: %w", m.Name, err)
		}
		found++
		if err := s.Add("/"+m.Name, buf.Bytes()); err != nil {
			return found, err
		}
	}
}
