package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Hostile inputs: every command that reads a tar judges each shape the
// same way (all accept, or all reject with a message that names the
// member or the problem), and none of them costs unbounded time or memory.

// htEntry is one member of a hand-made tar.
type htEntry struct {
	name, link, body string
	typ              byte
	major, minor     int64
}

func htTar(t *testing.T, ents ...htEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)),
			Devmajor: e.major, Devminor: e.minor}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func htGzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func htZstd(t *testing.T, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// htZstdWindow is a zstd frame of one raw block (plain) that declares a
// window of 1<<log bytes: tiny on disk, but a decoder that trusts the
// header allocates the whole window.
func htZstdWindow(plain []byte, log int) []byte {
	out := []byte{0x28, 0xb5, 0x2f, 0xfd,
		0x00,              // frame header: no content size, not single segment, no checksum, no dictionary
		byte(log-10) << 3} // window descriptor: exponent log-10, mantissa 0
	hdr := uint32(1) | uint32(len(plain))<<3 // last block, raw
	out = append(out, byte(hdr), byte(hdr>>8), byte(hdr>>16))
	return append(out, plain...)
}

var htSmall = []htEntry{{name: "etc/", typ: tar.TypeDir}, {name: "etc/hosts", typ: tar.TypeReg, body: "127.0.0.1 localhost\n"}}

type htShape struct {
	name string
	data func(t *testing.T) []byte // the input file
	// reject is "" for an input every command accepts; otherwise every
	// command's error contains each of these.
	reject []string
	// names, for an accepted input, are the entries of the imported layer.
	names []string
}

func htShapes() []htShape {
	small := func(t *testing.T) []byte { return htTar(t, htSmall...) }
	return []htShape{
		{name: "plain", data: small, names: []string{"etc/", "etc/hosts"}},
		{name: "dot-slash prefix and root", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "./", typ: tar.TypeDir}, htEntry{name: "./etc/", typ: tar.TypeDir},
				htEntry{name: "./etc/hosts", typ: tar.TypeReg, body: "x\n"}, htEntry{name: "./etc/h2", typ: tar.TypeLink, link: "./etc/hosts"})
		}, names: []string{"etc/", "etc/hosts", "etc/h2"}},
		{name: "absolute names", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "/abs/", typ: tar.TypeDir}, htEntry{name: "/abs/f", typ: tar.TypeReg, body: "x\n"},
				htEntry{name: "/abs/h", typ: tar.TypeLink, link: "/abs/f"})
		}, names: []string{"abs/", "abs/f", "abs/h"}},
		{name: "escaping ..", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "../evil", typ: tar.TypeReg, body: "x\n"})
		}, reject: []string{`"../evil"`, "escapes the root"}},
		{name: "escaping inner ..", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "a/", typ: tar.TypeDir}, htEntry{name: "a/../../evil", typ: tar.TypeReg, body: "x\n"})
		}, reject: []string{`"a/../../evil"`, "escapes the root"}},
		{name: "entry under a file", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "f", typ: tar.TypeReg, body: "x\n"}, htEntry{name: "f/x", typ: tar.TypeReg, body: "y\n"})
		}, reject: []string{`"f/x"`, "not a directory"}},
		{name: "entry through a symlink parent", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "l", typ: tar.TypeSymlink, link: "/etc"}, htEntry{name: "l/passwd", typ: tar.TypeReg, body: "root\n"})
		}, reject: []string{`"l/passwd"`, "symlink"}},
		{name: "entry through a symlink grandparent", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "d/", typ: tar.TypeDir}, htEntry{name: "d/l", typ: tar.TypeSymlink, link: "../.."},
				htEntry{name: "d/l/x/y", typ: tar.TypeReg, body: "y\n"})
		}, reject: []string{`"d/l/x/y"`, "symlink"}},
		{name: "hardlink to a later file", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "h", typ: tar.TypeLink, link: "t"}, htEntry{name: "t", typ: tar.TypeReg, body: "x\n"})
		}, reject: []string{"hardlink /h points to /t"}},
		{name: "hardlink to an absent file", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "h", typ: tar.TypeLink, link: "nothere"})
		}, reject: []string{"hardlink /h points to /nothere"}},
		{name: "hardlink outside", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "h", typ: tar.TypeLink, link: "../etc/passwd"})
		}, reject: []string{"hardlink /h points to", `"../etc/passwd"`}},
		{name: "hardlink to a directory", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "d/", typ: tar.TypeDir}, htEntry{name: "h", typ: tar.TypeLink, link: "d"})
		}, reject: []string{"hardlink /h points to /d"}},
		{name: "devices and fifo", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "dev/", typ: tar.TypeDir}, htEntry{name: "dev/null", typ: tar.TypeChar, major: 1, minor: 3},
				htEntry{name: "dev/sda", typ: tar.TypeBlock, major: 8}, htEntry{name: "dev/fifo", typ: tar.TypeFifo})
		}, names: []string{"dev/", "dev/null", "dev/sda", "dev/fifo"}},
		{name: "entry under a device", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "null", typ: tar.TypeChar, major: 1, minor: 3}, htEntry{name: "null/x", typ: tar.TypeReg})
		}, reject: []string{`"null/x"`, "not a directory"}},
		{name: "contiguous file (type 7)", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "c", typ: tar.TypeCont, body: "x\n"})
		}, reject: []string{`member "c" has type '7'`}},
		{name: "GNU volume header (type V)", data: func(t *testing.T) []byte {
			return htTar(t, htEntry{name: "vol", typ: 'V'})
		}, reject: []string{`member "vol" has type 'V'`}},
		{name: "gzip", data: func(t *testing.T) []byte { return htGzip(small(t)) }, names: []string{"etc/", "etc/hosts"}},
		{name: "truncated gzip", data: func(t *testing.T) []byte { g := htGzip(small(t)); return g[:len(g)-6] }, reject: []string{"gzip: truncated"}},
		{name: "gzip with a bad CRC", data: func(t *testing.T) []byte {
			g := htGzip(small(t))
			g[len(g)-8] ^= 0xff
			return g
		}, reject: []string{"gzip: corrupt stream"}},
		{name: "zstd", data: func(t *testing.T) []byte { return htZstd(t, small(t)) }, names: []string{"etc/", "etc/hosts"}},
		{name: "truncated zstd", data: func(t *testing.T) []byte { z := htZstd(t, small(t)); return z[:len(z)-5] }, reject: []string{"zstd: truncated"}},
		{name: "zstd with a bad checksum", data: func(t *testing.T) []byte {
			z := htZstd(t, small(t))
			z[len(z)-1] ^= 0xff
			return z
		}, reject: []string{"zstd: corrupt stream"}},
		{name: "zstd with a 512 MiB window", data: func(t *testing.T) []byte { return htZstdWindow(small(t), 29) },
			reject: []string{"zstd: the stream declares a window over the limit", "--zstd-max-window"}},
		{name: "zstd with a 4 MiB window", data: func(t *testing.T) []byte { return htZstdWindow(small(t), 22) }, names: []string{"etc/", "etc/hosts"}},
	}
}

// htCommand is one way of reading a tar input with the img tool.
type htCommand struct {
	name string
	args func(in, out string) []string
}

var htCommands = []htCommand{
	{"layer --import-tar", func(in, out string) []string { return []string{"layer", "--import-tar", in, out} }},
	{"layer --import-tar --estargz", func(in, out string) []string { return []string{"layer", "--estargz", "--import-tar", in, out} }},
	{"compress gzip", func(in, out string) []string { return []string{"compress", "--format", "gzip", in, out} }},
	{"compress zstd", func(in, out string) []string { return []string{"compress", "--format", "zstd", in, out} }},
	{"compress none", func(in, out string) []string { return []string{"compress", "--format", "none", in, out} }},
	{"compress --estargz", func(in, out string) []string { return []string{"compress", "--format", "gzip", "--estargz", in, out} }},
	{"layer-metadata", func(in, out string) []string { return []string{"layer-metadata", in, out} }},
}

func TestHostileTars(t *testing.T) {
	dir := t.TempDir()
	var table strings.Builder
	fmt.Fprintf(&table, "%-36s", "shape")
	for _, c := range htCommands {
		fmt.Fprintf(&table, " | %s", c.name)
	}
	table.WriteString(" | docker-save (zstd)\n")
	for i, sh := range htShapes() {
		in := filepath.Join(dir, fmt.Sprintf("in%02d.tar", i))
		data := sh.data(t)
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&table, "%-36s", sh.name)
		for j, c := range htCommands {
			out := filepath.Join(dir, fmt.Sprintf("out%02d-%d", i, j))
			code, stderr := runImg(t, c.args(in, out)...)
			verdict := "accept"
			if code != 0 {
				verdict = "reject"
			}
			fmt.Fprintf(&table, " | %s", verdict)
			switch {
			case sh.reject == nil && code != 0:
				t.Errorf("%s: %s: exit %d, want success: %s", sh.name, c.name, code, stderr)
			case sh.reject != nil && code == 0:
				t.Errorf("%s: %s: succeeded, want an error naming %q", sh.name, c.name, sh.reject)
			case sh.reject != nil:
				for _, w := range append([]string{in}, sh.reject...) {
					if !strings.Contains(stderr, w) {
						t.Errorf("%s: %s: error does not name %q: %s", sh.name, c.name, w, stderr)
					}
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("%s: %s: output %s left behind after an error", sh.name, c.name, out)
				}
			}
			if code != 0 {
				continue
			}
			switch c.name {
			case "layer --import-tar":
				var got []string
				for _, l := range listing(t, out, metadata.MediaTypeTarGzip) {
					got = append(got, strings.Fields(l)[1])
				}
				if !slices.Equal(got, sh.names) {
					t.Errorf("%s: imported entries %q, want %q", sh.name, got, sh.names)
				}
			case "compress none":
				// A checked copy: the bytes of the uncompressed input, unchanged.
				want := htUncompressed(t, data)
				if got := loReadFile(t, out); !bytes.Equal(got, want) {
					t.Errorf("%s: compress --format none changed the tar (%d bytes, input %d)", sh.name, len(got), len(want))
				}
			}
		}
		table.WriteString(" | " + htDockerSave(t, dir, i, sh, data) + "\n")
	}
	t.Logf("verdicts:\n%s", table.String())
}

func htUncompressed(t *testing.T, data []byte) []byte {
	t.Helper()
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		b, err := zr.DecodeAll(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return data
}

// htDockerSave feeds a zstd input to docker-save, which decompresses zstd
// layers (it does not read other layers); it returns the verdict.
func htDockerSave(t *testing.T, dir string, i int, sh htShape, data []byte) string {
	t.Helper()
	if !bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		return "n/a"
	}
	// The diff_id is that of the tar that the stream was made from.
	plain := htTar(t, htSmall...)
	l := loLayer{
		md:   metadata.Layer{Name: "//:hostile", DiffID: loSum(plain), MediaType: metadata.MediaTypeTarZstd, Digest: loSum(data), Size: int64(len(data))},
		blob: filepath.Join(dir, fmt.Sprintf("in%02d.tar", i)),
		json: filepath.Join(dir, fmt.Sprintf("ds%02d.json", i)),
	}
	if err := metadata.Write(l.json, &l.md); err != nil {
		t.Fatal(err)
	}
	img := loMakeImage(t, dir, fmt.Sprintf("ds%02d", i), "amd64", l)
	out := filepath.Join(dir, fmt.Sprintf("ds%02d.tar", i))
	code, stderr := runImg(t, slices.Concat([]string{"docker-save", "--output", out}, loImage(img), loLayers(l))...)
	switch {
	case sh.reject == nil && code != 0:
		t.Errorf("%s: docker-save: exit %d, want success: %s", sh.name, code, stderr)
	case sh.reject != nil && code == 0:
		t.Errorf("%s: docker-save: succeeded, want an error", sh.name)
	case sh.reject != nil:
		for _, w := range sh.reject {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: docker-save: error does not name %q: %s", sh.name, w, stderr)
			}
		}
	}
	if code != 0 {
		return "reject"
	}
	return "accept"
}

// TestZstdWindowMemory: a 2 KB stream that declares a 512 MiB window is
// rejected by every command that decompresses, without allocating the
// window.
func TestZstdWindowMemory(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "window.tar.zst")
	if err := os.WriteFile(in, htZstdWindow(htTar(t, htSmall...), 29), 0o644); err != nil {
		t.Fatal(err)
	}
	const limit = 150 << 20
	for i, c := range htCommands {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		code, stderr := runImg(t, c.args(in, filepath.Join(dir, fmt.Sprint("out", i)))...)
		runtime.ReadMemStats(&after)
		if code == 0 || !strings.Contains(stderr, "window") {
			t.Errorf("%s: exit %d, want an error about the window: %s", c.name, code, stderr)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d KiB allocated", c.name, alloc>>10)
		if alloc > limit {
			t.Errorf("%s: allocated %d MiB for a %d-byte input, want at most %d MiB", c.name, alloc>>20, 2048, limit>>20)
		}
	}
}

// TestZstdMaxWindowFlag: --zstd-max-window sets the limit on every command
// that decompresses: a stream with a 4 MiB window passes by default and
// fails under a 1 MiB limit.
func TestZstdMaxWindowFlag(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "w.tar.zst")
	if err := os.WriteFile(in, htZstdWindow(htTar(t, htSmall...), 22), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{
		{"layer", "--zstd-max-window", "1M", "--import-tar", in},
		{"compress", "--zstd-max-window", "1M", "--format", "gzip", in},
		{"layer-metadata", "--zstd-max-window", "1048576", in},
	} {
		code, stderr := runImg(t, append(args, filepath.Join(dir, fmt.Sprint("out", i)))...)
		if code == 0 || !strings.Contains(stderr, "over the limit of 1048576 bytes") {
			t.Errorf("%q: exit %d, want an error about the window: %s", args, code, stderr)
		}
	}
	plain := htTar(t, htSmall...)
	data := loReadFile(t, in)
	l := loLayer{
		md:   metadata.Layer{Name: "//:w", DiffID: loSum(plain), MediaType: metadata.MediaTypeTarZstd, Digest: loSum(data), Size: int64(len(data))},
		blob: in,
		json: filepath.Join(dir, "w.json"),
	}
	if err := metadata.Write(l.json, &l.md); err != nil {
		t.Fatal(err)
	}
	img := loMakeImage(t, dir, "w", "amd64", l)
	for _, limit := range []string{"1M", "8M"} {
		args := slices.Concat([]string{"docker-save", "--zstd-max-window", limit, "--output", filepath.Join(dir, "ds"+limit+".tar")}, loImage(img), loLayers(l))
		code, stderr := runImg(t, args...)
		if got, want := code == 0, limit == "8M"; got != want || !want && !strings.Contains(stderr, "over the limit of 1048576 bytes") {
			t.Errorf("docker-save --zstd-max-window %s: exit %d: %s", limit, code, stderr)
		}
	}
	if code, stderr := runImg(t, "layer-metadata", "--zstd-max-window", "0", in, filepath.Join(dir, "x")); code == 0 {
		t.Errorf("--zstd-max-window 0 accepted: %s", stderr)
	}
}
