package estargz

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stargz "github.com/containerd/stargz-snapshotter/estargz"
	digest "github.com/opencontainers/go-digest"
)

type member struct {
	h    tar.Header
	body []byte
}

func reg(name string, body []byte) member {
	return member{h: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}, body: body}
}

func mkTar(t testing.TB, ms ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		h := m.h
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if _, err := tw.Write(m.body); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pattern is n bytes that compress a little but not to nothing.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = "abcdefgh\n"[x%9]
		if x%7 == 0 {
			b[i] = byte(x >> 8)
		}
	}
	return b
}

func equivalenceCases(t testing.TB) map[string][]byte {
	dated := time.Date(2024, 2, 29, 12, 34, 56, 600_000_000, time.FixedZone("x", 3600))
	many := []member{{h: tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755}}}
	for i := range 300 {
		m := reg(fmt.Sprintf("d/f%03d", i), pattern(i*13%700, i))
		m.h.Uid, m.h.Gid = i%4, i%3
		m.h.Uname, m.h.Gname = fmt.Sprintf("u%d", i%5), []string{"", "g", "h"}[i%3]
		many = append(many, m)
	}
	withTrailer := append(mkTar(t, reg("a", []byte("a\n"))), "trailing garbage after the archive"...)
	noEnd := mkTar(t, reg("a", []byte("abc")))
	noEnd = noEnd[:len(noEnd)-1024] // no end-of-archive blocks
	return map[string][]byte{
		"no entries": mkTar(t),
		"empty file": mkTar(t, reg("empty", nil)),
		"small file": mkTar(t, reg("small.txt", []byte("hello\n"))),
		"kinds": mkTar(t,
			member{h: tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, ModTime: dated}},
			reg("etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n")),
			member{h: tar.Header{Typeflag: tar.TypeSymlink, Name: "etc/link", Linkname: "passwd", Mode: 0o777}},
			member{h: tar.Header{Typeflag: tar.TypeLink, Name: "etc/hard", Linkname: "etc/passwd", Mode: 0o644}},
			member{h: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Devmajor: 1, Devminor: 3, Mode: 0o666}},
			member{h: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Devmajor: 8, Mode: 0o660}},
			member{h: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o600}},
			reg("etc/after", pattern(5000, 3)),
		),
		"chunks": mkTar(t,
			reg("one-chunk", pattern(chunkForTests, 1)),
			reg("chunk-and-a-byte", pattern(chunkForTests+1, 2)),
			reg("many-chunks", pattern(7*chunkForTests+123, 3)),
			reg("empty-between", nil),
			reg("two-chunks", pattern(2*chunkForTests, 4)),
			member{h: tar.Header{Typeflag: tar.TypeDir, Name: "after-chunks/", Mode: 0o755}},
		),
		"metadata": mkTar(t,
			member{h: tar.Header{Typeflag: tar.TypeReg, Name: "x", Mode: 0o4755, Uid: 1000, Gid: 1000, Uname: "user", Gname: "group", ModTime: dated,
				PAXRecords: map[string]string{"SCHILY.xattr.user.b": "v\x00\xff", "SCHILY.xattr.security.capability": "", "SCHILY.xattr.user.a": "1"}, Size: 1},
				body: []byte("x")},
			member{h: tar.Header{Typeflag: tar.TypeReg, Name: "y", Uid: 1000, Uname: "user", Gname: "other", ModTime: time.Unix(1, 400_000_000)}},
			member{h: tar.Header{Typeflag: tar.TypeReg, Name: "z", Uid: 1000, Gid: 1000, Uname: "user2", Gname: "group", ModTime: time.Unix(1<<33, 0)}},
			member{h: tar.Header{Typeflag: tar.TypeDir, Name: "w/", Uid: 1 << 22, Gid: 7, Mode: 0o1777}},
		),
		"names": mkTar(t,
			reg(strings.Repeat("long/", 60)+"name.txt", []byte("deep")),
			reg("sp ace/\"q\" <&> \u00e9\u2028\u2029\t.txt", []byte("odd")),
			reg("bad-utf8-\xff\xfe", []byte("x")),
			member{h: tar.Header{Typeflag: tar.TypeSymlink, Name: "s", Linkname: strings.Repeat("t/", 80) + "target"}},
			reg("./dot/../dotted", []byte("dot")),
		),
		"toc entry dropped": mkTar(t, reg("a", []byte("a")), reg("stargz.index.json", []byte("{}")), reg("./stargz.index.json", nil), reg("b", []byte("b"))),
		"trailing data":     withTrailer,
		"no end blocks":     noEnd,
		"many files":        mkTar(t, many...),
	}
}

// chunkForTests is the chunk size of the equivalence tests: small, so
// that files of many chunks stay small.
const chunkForTests = 1000

func TestMatchesLibrary(t *testing.T) {
	for name, tarball := range equivalenceCases(t) {
		for _, level := range []int{-1, 0, 1, 6, 9} {
			for _, chunk := range []int{chunkForTests, DefaultChunkSize} {
				t.Run(fmt.Sprintf("%s/level%d/chunk%d", name, level, chunk), func(t *testing.T) {
					checkEquivalent(t, tarball, level, chunk)
				})
			}
		}
	}
}

// A file of several default-size chunks, at the level img uses by default.
func TestMatchesLibraryDefaultChunks(t *testing.T) {
	checkEquivalent(t, mkTar(t, reg("big", pattern(2*DefaultChunkSize+5, 9)), reg("after", []byte("x"))), 1, DefaultChunkSize)
}

func checkEquivalent(t *testing.T, tarball []byte, level, chunk int) {
	t.Helper()
	want := referenceBlob(tarball, level, chunk)
	if want.err != nil {
		t.Fatalf("library: %v", want.err)
	}
	got, res, err := ourBlob(tarball, level, chunk, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.blob) {
		t.Fatalf("blob of %d bytes differs from the library's %d bytes at byte %d", len(got), len(want.blob), firstDiff(got, want.blob))
	}
	if string(res.TOCDigest) != string(want.tocDigest) {
		t.Errorf("TOC digest %s, library %s", res.TOCDigest, want.tocDigest)
	}
	if res.DiffID.String() != want.diffID {
		t.Errorf("diff_id %s, library %s", res.DiffID, want.diffID)
	}
	if res.Size != int64(len(got)) {
		t.Errorf("size %d, blob has %d bytes", res.Size, len(got))
	}
	zr, err := gzip.NewReader(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		t.Fatal(err)
	}
	if n != res.UncompressedSize {
		t.Errorf("uncompressed size %d, blob holds %d bytes", res.UncompressedSize, n)
	}
	verifyWithLibrary(t, got, digest.Digest(res.TOCDigest), tarball)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// verifyWithLibrary opens blob with the library's reader, checks the TOC
// digest, and checks every regular file's content against the input and
// every chunk against its digest, decompressing each chunk from the member
// at its offset alone.
func verifyWithLibrary(t *testing.T, blob []byte, tocDigest digest.Digest, tarball []byte) {
	t.Helper()
	r, err := stargz.Open(io.NewSectionReader(bytes.NewReader(blob), 0, int64(len(blob))))
	if err != nil {
		t.Fatalf("library reader: %v", err)
	}
	v, err := r.VerifyTOC(tocDigest)
	if err != nil {
		t.Fatalf("library reader: %v", err)
	}
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// The JSON of the table of contents has U+FFFD for invalid UTF-8.
		var clean string
		q, _ := json.Marshal(strings.TrimPrefix(filepath.Clean("/"+h.Name), "/"))
		if err := json.Unmarshal(q, &clean); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || clean == TOCTarName {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		e, ok := r.Lookup(clean)
		if !ok {
			t.Errorf("%s: not in the table of contents", h.Name)
			continue
		}
		if e.Digest != digest.FromBytes(body).String() {
			t.Errorf("%s: digest %s, content has %s", h.Name, e.Digest, digest.FromBytes(body))
		}
		for off := int64(0); off < int64(len(body)); {
			ce, ok := r.ChunkEntryForOffset(clean, off)
			if !ok {
				t.Fatalf("%s: no chunk at %d", h.Name, off)
			}
			size := ce.ChunkSize
			if size == 0 {
				size = int64(len(body)) - off
			}
			vf, err := v.Verifier(ce)
			if err != nil {
				t.Fatalf("%s: chunk at %d: %v", h.Name, off, err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(blob[ce.Offset:]))
			if err != nil {
				t.Fatalf("%s: chunk at %d: member at %d: %v", h.Name, off, ce.Offset, err)
			}
			zr.Multistream(false)
			data := make([]byte, size)
			if _, err := io.ReadFull(zr, data); err != nil {
				t.Fatalf("%s: chunk at %d: %v", h.Name, off, err)
			}
			vf.Write(data)
			if !vf.Verified() || !bytes.Equal(data, body[off:off+size]) {
				t.Errorf("%s: chunk at %d does not verify", h.Name, off)
			}
			off += size
		}
	}
}

// GNU tar lists the blob and gzip tests it: both read it as one gzip
// stream of members holding a tar.
func TestGNUToolsReadBlob(t *testing.T) {
	for _, tool := range []string{"tar", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	tarball := equivalenceCases(t)["kinds"]
	blob, res, err := ourBlob(tarball, 6, chunkForTests, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "layer.tgz")
	if err := os.WriteFile(p, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gzip", "-t", p).CombinedOutput(); err != nil {
		t.Fatalf("gzip -t: %v\n%s", err, out)
	}
	out, err := exec.Command("tar", "-tzvf", p).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tzvf: %v\n%s", err, out)
	}
	for _, want := range []string{"etc/passwd", "etc/link -> passwd", "etc/hard link to etc/passwd", "dev/null", "run/fifo", "etc/after", TOCTarName} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tar -tzvf lacks %q:\n%s", want, out)
		}
	}
	// The TOC member holds the JSON whose digest Close returned.
	toc, err := exec.Command("tar", "-xzOf", p, TOCTarName).Output()
	if err != nil {
		t.Fatal(err)
	}
	if d := fmt.Sprintf("sha256:%x", sha256.Sum256(toc)); d != res.TOCDigest.String() {
		t.Errorf("TOC JSON has digest %s, Close returned %s", d, res.TOCDigest)
	}
}
