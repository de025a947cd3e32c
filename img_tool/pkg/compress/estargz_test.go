package compress_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"hash"
	"io"
	"strconv"
	"testing"
	"time"

	stargz "github.com/containerd/stargz-snapshotter/estargz"
	"github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// libraryCompressor is the compressor eStargz layers were written with
// before rules_img had its own writer: the stargz-snapshotter writer with
// klauspost's gzip (MTIME 0) for file chunks and the library's table of
// contents.
type libraryCompressor struct{ level int }

func (c libraryCompressor) Writer(w io.Writer) (stargz.WriteFlushCloser, error) {
	gz, err := gzip.NewWriterLevel(w, c.level)
	if err != nil {
		return nil, err
	}
	gz.ModTime = time.Unix(0, 0)
	return gz, nil
}

func (c libraryCompressor) WriteTOCAndFooter(w io.Writer, off int64, toc *stargz.JTOC, diffHash hash.Hash) (digest.Digest, error) {
	return stargz.NewGzipCompressorWithLevel(c.level).WriteTOCAndFooter(w, off, toc, diffHash)
}

// The eStargz blobs of compress.Writer have the bytes, TOC digest,
// diff_id and uncompressed size of the stargz-snapshotter writer, for the
// levels and job counts img passes, on a tar with every entry kind, a
// file of several 4 MiB chunks, and a PAX xattr.
func TestEstargzMatchesLibrary(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 9<<20+17)
	for i := range big {
		big[i] = byte(i*i>>7) ^ byte(i>>13)
	}
	add(&tar.Header{Typeflag: tar.TypeDir, Name: "app/", Mode: 0o755}, nil)
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/big.bin", Mode: 0o644, Uname: "root", Gname: "root"}, big)
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/empty", Mode: 0o644}, nil)
	add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "app/link", Linkname: "big.bin", Mode: 0o777}, nil)
	add(&tar.Header{Typeflag: tar.TypeLink, Name: "app/hard", Linkname: "app/empty", Mode: 0o644}, nil)
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/x", Mode: 0o600, ModTime: time.Unix(1700000000, 0),
		PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}}, []byte("xattr\n"))
	for i := range 200 {
		add(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("app/small/%03d.txt", i), Mode: 0o644}, []byte(strconv.Itoa(i*i)))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, level := range []int{-1, 1, 9} {
		for _, jobs := range []int{1, 2} {
			t.Run(fmt.Sprintf("level%d/jobs%d", level, jobs), func(t *testing.T) {
				var want bytes.Buffer
				sw := stargz.NewWriterWithCompressor(&want, libraryCompressor{level})
				if err := sw.AppendTar(bytes.NewReader(in.Bytes())); err != nil {
					t.Fatal(err)
				}
				tocDigest, err := sw.Close()
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				w, err := compress.NewWriter(&got, compress.WithFormat(compress.Gzip), compress.WithEstargz(true), compress.WithLevel(level), compress.WithJobs(jobs))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(in.Bytes()); err != nil {
					t.Fatal(err)
				}
				res, err := w.Close()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("blob of %d bytes differs from the library's %d bytes", got.Len(), want.Len())
				}
				if res.DiffID != sw.DiffID() {
					t.Errorf("diff_id %s, library %s", res.DiffID, sw.DiffID())
				}
				if res.Digest != digest.FromBytes(want.Bytes()).String() || res.Size != int64(want.Len()) {
					t.Errorf("blob %s (%d bytes), written %s (%d bytes)", res.Digest, res.Size, digest.FromBytes(want.Bytes()), want.Len())
				}
				if got := res.Annotations[metadata.AnnotationTOCDigest]; got != tocDigest.String() {
					t.Errorf("TOC digest annotation %s, library %s", got, tocDigest)
				}
				// The uncompressed blob: the input's entries without its
				// end blocks, then the table of contents entry and end blocks.
				zr, err := gzip.NewReader(bytes.NewReader(want.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				n, err := io.Copy(io.Discard, zr)
				if err != nil {
					t.Fatal(err)
				}
				if res.UncompressedSize != n || res.Annotations[metadata.AnnotationUncompressedSize] != strconv.FormatInt(n, 10) {
					t.Errorf("uncompressed size %d (annotation %s), blob holds %d", res.UncompressedSize, res.Annotations[metadata.AnnotationUncompressedSize], n)
				}
			})
		}
	}
}
