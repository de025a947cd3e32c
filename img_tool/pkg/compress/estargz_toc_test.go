package compress

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/containerd/stargz-snapshotter/estargz"
)

// The streamed table of contents has the bytes, digest and diff hash of
// the library's GzipCompressor, for every level and for tables that are
// nil, empty, small and large (several deflate blocks), with names that
// JSON escapes.
func TestWriteTOCAndFooterMatchesLibrary(t *testing.T) {
	big := &estargz.JTOC{Version: 1}
	for i := range 5000 {
		e := &estargz.TOCEntry{
			Name:        fmt.Sprintf("dir%03d/file-%d <&> \"q\" \u00e9\u2028.txt", i%97, i),
			Type:        "reg",
			Size:        int64(i * 37),
			ModTime3339: "1970-01-01T00:00:00Z",
			Mode:        0o755,
			UID:         i % 3,
			Offset:      int64(i) * 1000,
			Digest:      fmt.Sprintf("sha256:%064x", i),
			ChunkDigest: fmt.Sprintf("sha256:%064x", i+1),
		}
		switch i % 5 {
		case 1:
			e.Type, e.Size, e.LinkName, e.Digest, e.ChunkDigest = "symlink", 0, "../x", "", ""
		case 2:
			e.Xattrs = map[string][]byte{"user.a": []byte("v\x00\xff"), "security.b": nil}
			e.Uname, e.Gname = "root", "wheel"
		case 3:
			e.Type, e.ChunkOffset, e.ChunkSize, e.InnerOffset = "chunk", 4<<20, 4<<20, 12
		}
		big.Entries = append(big.Entries, e)
	}
	tocs := map[string]*estargz.JTOC{
		"nil":   {Version: 1},
		"empty": {Version: 1, Entries: []*estargz.TOCEntry{}},
		"one":   {Version: 1, Entries: big.Entries[:1]},
		"big":   big,
	}
	for name, toc := range tocs {
		for _, level := range []int{-1, 0, 1, 6, 9} {
			t.Run(fmt.Sprintf("%s/level%d", name, level), func(t *testing.T) {
				var want, got bytes.Buffer
				wantDiff, gotDiff := sha256.New(), sha256.New()
				wantDigest, err := estargz.NewGzipCompressorWithLevel(level).WriteTOCAndFooter(&want, 12345, toc, wantDiff)
				if err != nil {
					t.Fatal(err)
				}
				gotDigest, err := writeTOCAndFooter(&got, 12345, toc, gotDiff, level)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("%d bytes differ from the library's %d bytes", got.Len(), want.Len())
				}
				if gotDigest != wantDigest {
					t.Errorf("TOC digest %s, library %s", gotDigest, wantDigest)
				}
				if !bytes.Equal(gotDiff.Sum(nil), wantDiff.Sum(nil)) {
					t.Error("the diff hash differs from the library's")
				}
			})
		}
	}
}
