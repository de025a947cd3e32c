package estargz

import (
	"archive/tar"
	"bytes"
	"testing"
	"time"
)

// FuzzEstargzEquivalence writes the same input with this package and with
// the stargz-snapshotter writer: both must fail, or both succeed with the
// same blob. The input is a tar built from the fuzz bytes (raw false) or
// the bytes themselves (raw true).
func FuzzEstargzEquivalence(f *testing.F) {
	f.Add([]byte("\x00a\x05hello\x01d/\x00\x02s\x03tgt\x03h\x01a\x04f\xff\x10"), false, uint16(7), int8(1))
	f.Add([]byte("\x00big\x20\x00\x05e\x00"), false, uint16(3), int8(9))
	f.Add(equivalenceCases(f)["kinds"], true, uint16(100), int8(-1))
	f.Add(equivalenceCases(f)["metadata"], true, uint16(1), int8(0))
	f.Fuzz(func(t *testing.T, data []byte, raw bool, chunk uint16, level int8) {
		chunkSize := 256 + int(chunk)%4096 // at most some 20 chunks per file: members are slow to set up
		lvl := int(uint8(level))%11 - 1    // -1 to 9
		tarball := data
		if !raw {
			tarball = fuzzTar(data)
		} else if len(data) >= 3 && data[0] == 0x1f && data[1] == 0x8b && data[2] == 8 {
			return // the library would decompress it; this package refuses it
		}
		want := referenceBlob(tarball, lvl, chunkSize)
		got, res, err := ourBlob(tarball, lvl, chunkSize, t.TempDir())
		if (err != nil) != (want.err != nil) {
			t.Fatalf("error %v, library's error %v", err, want.err)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got, want.blob) {
			t.Fatalf("blob of %d bytes differs from the library's %d bytes at byte %d", len(got), len(want.blob), firstDiff(got, want.blob))
		}
		if string(res.TOCDigest) != string(want.tocDigest) || res.DiffID.String() != want.diffID {
			t.Fatalf("digests %s %s, library %s %s", res.TOCDigest, res.DiffID, want.tocDigest, want.diffID)
		}
	})
}

// fuzzTar reads entries from data: a kind byte, a name of up to 255 bytes
// (length byte first), and for a regular file a size byte (times 19 bytes
// of data) or for links a target. Input runs out quietly.
func fuzzTar(data []byte) []byte {
	next := func(n int) []byte {
		n = min(n, len(data))
		b := data[:n]
		data = data[n:]
		return b
	}
	str := func() string {
		l := next(1)
		if len(l) == 0 {
			return ""
		}
		return string(next(int(l[0])))
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; len(data) > 0; i++ {
		kind := next(1)[0]
		h := tar.Header{Name: str(), Mode: int64(kind) << 3, Uid: int(kind >> 5), Uname: string('a' + kind>>6), ModTime: time.Unix(int64(kind)*1e6, 0)}
		var body []byte
		switch kind % 6 {
		case 0:
			h.Typeflag = tar.TypeReg
			if s := next(1); len(s) > 0 {
				body = pattern(int(s[0])*19, i)
			}
		case 1:
			h.Typeflag = tar.TypeDir
		case 2:
			h.Typeflag, h.Linkname = tar.TypeSymlink, str()
		case 3:
			h.Typeflag, h.Linkname = tar.TypeLink, str()
		case 4:
			h.Typeflag = tar.TypeReg
			h.PAXRecords = map[string]string{"SCHILY.xattr.user." + str(): str()}
		case 5:
			h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, int64(kind), 1
		}
		h.Size = int64(len(body))
		if h.Name == "" || tw.WriteHeader(&h) != nil {
			continue // a header archive/tar cannot write
		}
		tw.Write(body)
	}
	tw.Close()
	return b.Bytes()
}
