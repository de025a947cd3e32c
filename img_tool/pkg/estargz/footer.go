package estargz

import (
	"archive/tar"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
)

// TOCTarName is the name of the tar entry holding the table of contents.
// An input entry of that name is dropped: the blob gets a table of its own.
const TOCTarName = "stargz.index.json"

// FooterSize is the size of the footer that ends every blob.
const FooterSize = 51

// writeTOCMember writes the table of contents as the last gzip member: a
// tar entry TOCTarName holding the JSON, then the end-of-archive blocks.
// This member is compressed by the standard library's gzip (MTIME 0),
// whose bytes the format's reference writer produces; the tar bytes also
// enter the diff_id.
func writeTOCMember(m *members, t *toc, size int64) error {
	gz, err := gzip.NewWriterLevel(m.out, m.level)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(io.MultiWriter(gz, diffWriter{m}))
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: TOCTarName, Size: size}); err != nil {
		return err
	}
	if err := t.copyTo(tw); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// diffWriter hashes and counts uncompressed bytes written outside a chunk
// member.
type diffWriter struct{ m *members }

func (d diffWriter) Write(p []byte) (int, error) {
	d.m.diff.Write(p)
	d.m.raw += int64(len(p))
	return len(p), nil
}

// footer is the last 51 bytes of a blob: an empty gzip member whose
// header carries an extra field with subfield "SG", which holds the
// offset of the table of contents member as 16 hex digits and "STARGZ".
func footer(tocOffset int64) []byte {
	sub := fmt.Sprintf("%016xSTARGZ", tocOffset)
	b := make([]byte, 0, FooterSize)
	// ID1 ID2, deflate, FEXTRA, MTIME 0, XFL 0, OS unknown.
	b = append(b, 0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255)
	b = binary.LittleEndian.AppendUint16(b, uint16(4+len(sub))) // XLEN
	b = append(b, 'S', 'G')
	b = binary.LittleEndian.AppendUint16(b, uint16(len(sub)))
	b = append(b, sub...)
	// One final stored block of length 0 (LEN, NLEN), then CRC32 and
	// ISIZE of the empty data.
	b = append(b, 1, 0, 0, 0xff, 0xff)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0)
}
