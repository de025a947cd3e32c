package blobcheck

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/stargz-snapshotter/estargz"
	"github.com/klauspost/compress/zstd"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// The checker must reject every kind of disagreement; the blobs here are
// made with the libraries directly, not with the code under test.

func testTar(t *testing.T, ents ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range ents {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sum(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func TestCheck(t *testing.T) {
	tb := testTar(t, &tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
		&tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tb)
	zw.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zs := enc.EncodeAll(tb, nil)
	enc.Close()

	var sgz bytes.Buffer
	sw := estargz.NewWriter(&sgz)
	if err := sw.AppendTar(bytes.NewReader(tb)); err != nil {
		t.Fatal(err)
	}
	toc, err := sw.Close()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(sgz.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var sgzTar bytes.Buffer
	if _, err := sgzTar.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}

	layerOf := func(blob, uncompressed []byte, mediaType string) metadata.Layer {
		return metadata.Layer{Digest: sum(blob), Size: int64(len(blob)), DiffID: sum(uncompressed), MediaType: mediaType}
	}
	stargz := layerOf(sgz.Bytes(), sgzTar.Bytes(), metadata.MediaTypeTarGzip)
	stargz.Annotations = map[string]string{
		metadata.AnnotationTOCDigest:        toc.String(),
		metadata.AnnotationUncompressedSize: strconv.Itoa(sgzTar.Len()),
	}
	with := func(l metadata.Layer, f func(*metadata.Layer)) metadata.Layer {
		l.Annotations = maps(l.Annotations)
		f(&l)
		return l
	}
	textTar := []byte(strings.Repeat("not a tar\n", 100))
	badLink := testTar(t, &tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a"})
	trailing := append(bytes.Clone(tb), "junk"...)
	// GNU tar writes an empty archive (tar -cf x.tar -T /dev/null) as one
	// 10240-byte record of zeros; Go's tar.Writer as two zero blocks.
	gnuEmpty := make([]byte, 10240)
	oneBlock := make([]byte, 512)
	noMarker := tb[:len(tb)-1024]
	var gzEmpty bytes.Buffer
	zw = gzip.NewWriter(&gzEmpty)
	zw.Write(gnuEmpty)
	zw.Close()

	for _, tc := range []struct {
		name    string
		blob    []byte
		want    metadata.Layer
		wantMsg string // "" for a valid blob
	}{
		{"tar", tb, layerOf(tb, tb, metadata.MediaTypeTar), ""},
		{"gzip", gz.Bytes(), layerOf(gz.Bytes(), tb, metadata.MediaTypeTarGzip), ""},
		{"zstd", zs, layerOf(zs, tb, metadata.MediaTypeTarZstd), ""},
		{"estargz", sgz.Bytes(), stargz, ""},
		{"wrong digest", gz.Bytes(), with(layerOf(gz.Bytes(), tb, metadata.MediaTypeTarGzip), func(l *metadata.Layer) { l.Digest = sum(tb) }), "digest"},
		{"wrong size", gz.Bytes(), with(layerOf(gz.Bytes(), tb, metadata.MediaTypeTarGzip), func(l *metadata.Layer) { l.Size++ }), "size"},
		{"wrong diff_id", zs, with(layerOf(zs, tb, metadata.MediaTypeTarZstd), func(l *metadata.Layer) { l.DiffID = sum(zs) }), "diff_id"},
		{"gzip called zstd", gz.Bytes(), layerOf(gz.Bytes(), tb, metadata.MediaTypeTarZstd), "zstd"},
		{"zstd called tar", zs, layerOf(zs, zs, metadata.MediaTypeTar), "tar"},
		{"unknown media type", tb, layerOf(tb, tb, "application/octet-stream"), "mediaType"},
		{"not a tar", textTar, layerOf(textTar, textTar, metadata.MediaTypeTar), "tar"},
		{"empty", nil, layerOf(nil, nil, metadata.MediaTypeTar), "no entries"},
		{"empty archive from GNU tar", gnuEmpty, layerOf(gnuEmpty, gnuEmpty, metadata.MediaTypeTar), ""},
		{"empty archive, gzip", gzEmpty.Bytes(), layerOf(gzEmpty.Bytes(), gnuEmpty, metadata.MediaTypeTarGzip), ""},
		{"empty archive of one zero block", oneBlock, layerOf(oneBlock, oneBlock, metadata.MediaTypeTar), ""},
		{"part of a zero block", oneBlock[:100], layerOf(oneBlock[:100], oneBlock[:100], metadata.MediaTypeTar), "tar"},
		{"no end-of-archive marker", noMarker, layerOf(noMarker, noMarker, metadata.MediaTypeTar), "end-of-archive"},
		{"junk after the end marker", trailing, layerOf(trailing, trailing, metadata.MediaTypeTar), "after the tar end marker"},
		{"hardlink to nothing", badLink, layerOf(badLink, badLink, metadata.MediaTypeTar), "hardlink"},
		{"wrong TOC digest", sgz.Bytes(), with(stargz, func(l *metadata.Layer) { l.Annotations[metadata.AnnotationTOCDigest] = sum(tb) }), "TOC digest"},
		{"wrong uncompressed size", sgz.Bytes(), with(stargz, func(l *metadata.Layer) { l.Annotations[metadata.AnnotationUncompressedSize] = "1" }), "uncompressed-size"},
		{"TOC digest alone", sgz.Bytes(), with(stargz, func(l *metadata.Layer) { delete(l.Annotations, metadata.AnnotationUncompressedSize) }), "together"},
		{"plain gzip claims eStargz", gz.Bytes(), with(layerOf(gz.Bytes(), tb, metadata.MediaTypeTarGzip), func(l *metadata.Layer) {
			l.Annotations = map[string]string{metadata.AnnotationTOCDigest: toc.String(), metadata.AnnotationUncompressedSize: strconv.Itoa(len(tb))}
		}), "estargz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "blob")
			if err := os.WriteFile(p, tc.blob, 0o644); err != nil {
				t.Fatal(err)
			}
			err := Check(p, tc.want)
			if tc.wantMsg == "" {
				if err != nil {
					t.Errorf("Check() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Check() = %v, want an error about %s", err, tc.wantMsg)
			}
		})
	}
}

func maps(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestCheckGzipHeaders(t *testing.T) {
	tb := testTar(t, &tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	member := func(h gzip.Header) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Header = h
		zw.Write(tb)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	plain := member(gzip.Header{OS: 255})
	var sgz bytes.Buffer
	sw := estargz.NewWriter(&sgz)
	if err := sw.AppendTar(bytes.NewReader(tb)); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		blob        []byte
		wantMembers int    // when valid
		wantMsg     string // "" for a valid blob
	}{
		{"one member", plain, 1, ""},
		{"two members", append(bytes.Clone(plain), plain...), 2, ""},
		// A file, the TOC and the footer at least.
		{"estargz", sgz.Bytes(), 3, ""},
		{"mtime", member(gzip.Header{ModTime: time.Unix(1700000000, 0)}), 0, "MTIME is 1700000000"},
		{"mtime in the second member", append(bytes.Clone(plain), member(gzip.Header{ModTime: time.Unix(5, 0)})...), 0, "member 2"},
		{"name", member(gzip.Header{Name: "layer.tar"}), 0, "name or comment"},
		{"comment", member(gzip.Header{Comment: "built today"}), 0, "name or comment"},
		{"junk after a member", append(bytes.Clone(plain), "junk"...), 0, "no gzip header"},
		{"not gzip", tb, 0, "no gzip header"},
		{"empty", nil, 0, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantMsg == "" {
				ms, err := GzipMembers(tc.blob)
				if err != nil {
					t.Fatalf("GzipMembers() = %v", err)
				}
				if len(ms) < tc.wantMembers || (tc.name != "estargz" && len(ms) != tc.wantMembers) {
					t.Errorf("GzipMembers() found %d members, want %d", len(ms), tc.wantMembers)
				}
			}
			p := filepath.Join(t.TempDir(), "blob")
			if err := os.WriteFile(p, tc.blob, 0o644); err != nil {
				t.Fatal(err)
			}
			err := CheckGzipHeaders(p)
			if tc.wantMsg == "" {
				if err != nil {
					t.Errorf("CheckGzipHeaders() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("CheckGzipHeaders() = %v, want an error about %s", err, tc.wantMsg)
			}
		})
	}
}
