package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/rules-img/rules_img/img_tool/internal/blobcheck"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// fixture holds the inputs of the tests; out is an empty directory for
// outputs, so that tests can see leftovers.
type fixture struct {
	in, out string
}

func (f fixture) i(name string) string { return filepath.Join(f.in, filepath.FromSlash(name)) }
func (f fixture) o(name string) string { return filepath.Join(f.out, name) }

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{in: t.TempDir(), out: t.TempDir()}
	files := []struct {
		name, data string
		perm       os.FileMode
	}{
		{"a.txt", "alpha\n", 0o644},
		{"a-copy.txt", "alpha\n", 0o644},
		{"b.txt", "bravo\n", 0o644},
		{"tool.sh", "#!/bin/sh\necho hi\n", 0o755},
		{"rdata.txt", "runfile\n", 0o644},
		{"tree/x.txt", "x\n", 0o644},
		{"tree/sub/y.txt", "y\n", 0o644},
		{"rtree/f.txt", "f\n", 0o644},
		{"corrupt.tar", strings.Repeat("this is not a tar file\n", 40), 0o644},
	}
	for _, x := range files {
		p := f.i(x.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(x.data), x.perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, x.perm); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("x.txt", f.i("tree/link")); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{
		"add.params": "/app/from-param\x00f" + f.i("b.txt") + "\n" +
			"/app/copy2.txt\x00f" + f.i("a-copy.txt") + "\n" +
			"/app/tree\x00d" + f.i("tree") + "\n",
		"symlinks.params": "/app/sl\x00a.txt\n",
		"runfiles.params": "_main/data.txt\x00f" + f.i("rdata.txt") + "\n" +
			"_main/rtree\x00d" + f.i("rtree") + "\n",
	}
	for name, content := range params {
		if err := os.WriteFile(f.i(name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// vendor.tar.gz: one file whose header equals what `img layer` writes.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "vendor/a.txt", Typeflag: tar.TypeReg, Mode: 0o755, Size: 6})
	tw.Write([]byte("alpha\n"))
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tb.Bytes())
	zw.Close()
	if err := os.WriteFile(f.i("vendor.tar.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func runImg(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	var so, se bytes.Buffer
	code = run(context.Background(), args, &so, &se)
	return code, se.String()
}

func mustRun(t *testing.T, args ...string) {
	t.Helper()
	if code, stderr := runImg(t, args...); code != 0 {
		t.Fatalf("img %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
}

// checkMetadata reads the metadata JSON strictly (exactly the six keys),
// checks name, mediaType and annotations, and runs the blob checker (and
// for gzip blobs the check that no header carries a time stamp).
func checkMetadata(t *testing.T, blob, mdPath, wantName, wantMediaType string, wantAnnotations map[string]string, estargz bool) *metadata.Layer {
	t.Helper()
	raw, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("%s: %v", mdPath, err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"annotations", "diff_id", "digest", "mediaType", "name", "size"}; !slices.Equal(keys, want) {
		t.Errorf("metadata keys = %q, want %q", keys, want)
	}
	md, err := metadata.Read(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	if wantName == "" {
		wantName = md.Digest
	}
	if md.Name != wantName {
		t.Errorf("name = %q, want %q", md.Name, wantName)
	}
	if md.MediaType != wantMediaType {
		t.Errorf("mediaType = %q, want %q", md.MediaType, wantMediaType)
	}
	gotAnn := maps(md.Annotations)
	if estargz {
		for _, k := range []string{metadata.AnnotationTOCDigest, metadata.AnnotationUncompressedSize} {
			if gotAnn[k] == "" {
				t.Errorf("eStargz layer lacks annotation %s", k)
			}
			delete(gotAnn, k)
		}
	}
	if !reflect.DeepEqual(gotAnn, maps(wantAnnotations)) {
		t.Errorf("annotations = %v, want %v", md.Annotations, wantAnnotations)
	}
	if err := blobcheck.Check(blob, *md); err != nil {
		t.Error(err)
	}
	if md.MediaType == metadata.MediaTypeTarGzip {
		if err := blobcheck.CheckGzipHeaders(blob); err != nil {
			t.Error(err)
		}
	}
	return md
}

func maps(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// listing describes the entries of a blob, one string each, without the
// eStargz TOC entry.
func listing(t *testing.T, blob, mediaType string) []string {
	t.Helper()
	ents, err := blobcheck.ReadTar(blob, mediaType)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		h := e.Header
		if h.Name == "stargz.index.json" {
			continue
		}
		s := fmt.Sprintf("%c %s %04o %d:%d", h.Typeflag, h.Name, h.Mode, h.Uid, h.Gid)
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		if len(e.Data) > 0 {
			s += fmt.Sprintf(" %q", e.Data)
		}
		out = append(out, s)
	}
	return out
}

func TestLayer(t *testing.T) {
	// Every kind of input; defaults give uid 1000, the override mode 0600.
	allInputs := func(f fixture) []string {
		return []string{
			"--add", "/app/a.txt=" + f.i("a.txt"),
			"--add", "/app/copy.txt=" + f.i("a-copy.txt"),
			"--add-from-file", f.i("add.params"),
			"--symlink", "/app/link=a.txt",
			"--symlinks-from-file", f.i("symlinks.params"),
			"--executable", "/bin/tool=" + f.i("tool.sh"),
			"--runfiles", f.i("tool.sh") + "=" + f.i("runfiles.params"),
			"--file-metadata", `/app/a.txt={"mode":"0600"}`,
			"--default-metadata", `{"uid":1000,"gid":1000}`,
			"--annotation", "org.example.k=v",
			"--annotation", "z=1",
		}
	}
	allEntries := []string{
		`0 app/a.txt 0600 1000:1000 "alpha\n"`,
		`0 app/copy.txt 0755 1000:1000 "alpha\n"`,
		`0 app/from-param 0755 1000:1000 "bravo\n"`,
		`1 app/copy2.txt 0755 1000:1000 -> app/copy.txt`,
		`5 app/tree/ 0755 1000:1000`,
		`2 app/tree/link 0000 1000:1000 -> x.txt`,
		`5 app/tree/sub/ 0755 1000:1000`,
		`0 app/tree/sub/y.txt 0755 1000:1000 "y\n"`,
		`0 app/tree/x.txt 0755 1000:1000 "x\n"`,
		`0 bin/tool 0755 1000:1000 "#!/bin/sh\necho hi\n"`,
		`0 bin/tool.runfiles/_main/data.txt 0755 1000:1000 "runfile\n"`,
		`5 bin/tool.runfiles/_main/rtree/ 0755 1000:1000`,
		`0 bin/tool.runfiles/_main/rtree/f.txt 0755 1000:1000 "f\n"`,
		`2 app/link 0000 1000:1000 -> a.txt`,
		`2 app/sl 0000 1000:1000 -> a.txt`,
	}
	allAnnotations := map[string]string{"org.example.k": "v", "z": "1"}
	for _, tc := range []struct {
		name          string
		args          func(f fixture) []string
		wantName      string
		wantMediaType string
		wantEntries   []string
		wantAnn       map[string]string
		estargz       bool
	}{
		{"gzip", func(f fixture) []string { return append(allInputs(f), "--format", "gzip") },
			"//app:layer", metadata.MediaTypeTarGzip, allEntries, allAnnotations, false},
		{"gzip by default", allInputs,
			"//app:layer", metadata.MediaTypeTarGzip, allEntries, allAnnotations, false},
		{"gzip, nproc jobs, level 1", func(f fixture) []string {
			return append(allInputs(f), "--compressor-jobs", "nproc", "--compression-level", "1")
		}, "//app:layer", metadata.MediaTypeTarGzip, allEntries, allAnnotations, false},
		{"zstd", func(f fixture) []string { return append(allInputs(f), "--format", "zstd") },
			"//app:layer", metadata.MediaTypeTarZstd, allEntries, allAnnotations, false},
		{"zstd, 2 jobs", func(f fixture) []string { return append(allInputs(f), "--format", "zstd", "--compressor-jobs", "2") },
			"//app:layer", metadata.MediaTypeTarZstd, allEntries, allAnnotations, false},
		{"none", func(f fixture) []string { return append(allInputs(f), "--format", "none") },
			"//app:layer", metadata.MediaTypeTar, allEntries, allAnnotations, false},
		{"estargz", func(f fixture) []string { return append(allInputs(f), "--estargz") },
			"//app:layer", metadata.MediaTypeTarGzip, allEntries, allAnnotations, true},
		{"estargz, 2 jobs", func(f fixture) []string {
			return append(allInputs(f), "--estargz", "--format", "gzip", "--compressor-jobs", "2")
		},
			"//app:layer", metadata.MediaTypeTarGzip, allEntries, allAnnotations, true},
		{"name defaults to the digest", func(f fixture) []string { return []string{"--add", "/a=" + f.i("a.txt")} },
			"", metadata.MediaTypeTarGzip, []string{`0 a 0755 0:0 "alpha\n"`}, nil, false},
		{"import-tar first, then dedup", func(f fixture) []string {
			return []string{"--add", "/app/a.txt=" + f.i("a.txt"), "--import-tar", f.i("vendor.tar.gz"), "--format", "zstd"}
		}, "//app:layer", metadata.MediaTypeTarZstd, []string{
			`0 vendor/a.txt 0755 0:0 "alpha\n"`,
			`1 app/a.txt 0755 0:0 -> vendor/a.txt`,
		}, nil, false},
		{"files sharing a path go below it", func(f fixture) []string {
			return []string{"--add", "/dir=" + f.i("a.txt"), "--add", "/dir=" + f.i("b.txt"), "--format", "none"}
		}, "//app:layer", metadata.MediaTypeTar, []string{
			`0 dir/a.txt 0755 0:0 "alpha\n"`,
			`0 dir/b.txt 0755 0:0 "bravo\n"`,
		}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			blob, md := f.o("layer.blob"), f.o("layer.json")
			args := append([]string{"layer", "--metadata", md}, tc.args(f)...)
			if tc.wantName != "" {
				args = append(args, "--name", tc.wantName)
			}
			mustRun(t, append(args, blob)...)
			checkMetadata(t, blob, md, tc.wantName, tc.wantMediaType, tc.wantAnn, tc.estargz)
			if got := listing(t, blob, tc.wantMediaType); !slices.Equal(got, tc.wantEntries) {
				t.Errorf("entries:\n got %q\nwant %q", got, tc.wantEntries)
			}
		})
	}
}

// The same layer with any number of compressor jobs has the same bytes.
func TestLayerJobs(t *testing.T) {
	f := newFixture(t)
	for _, format := range []string{"gzip", "zstd"} {
		t.Run(format, func(t *testing.T) {
			var digests []string
			for _, jobs := range []string{"1", "2", "nproc"} {
				blob, md := f.o(format+jobs+".blob"), f.o(format+jobs+".json")
				mustRun(t, "layer", "--format", format, "--compressor-jobs", jobs, "--metadata", md,
					"--add", "/a="+f.i("a.txt"), "--add", "/t="+f.i("tree"), blob)
				l := checkMetadata(t, blob, md, "", "application/vnd.oci.image.layer.v1.tar+"+format, nil, false)
				digests = append(digests, l.Digest)
			}
			if digests[0] != digests[1] || digests[0] != digests[2] {
				t.Errorf("digests for jobs 1, 2, nproc = %q; want equal", digests)
			}
		})
	}
}

func TestCompressRoundTrip(t *testing.T) {
	f := newFixture(t)
	inputs := []string{"--add", "/app/a.txt=" + f.i("a.txt"), "--add", "/app/t=" + f.i("tree"), "--symlink", "/l=a"}
	mustRun(t, append(append([]string{"layer", "--format", "gzip", "--metadata", f.o("gz.json")}, inputs...), f.o("layer.tgz"))...)
	mustRun(t, append(append([]string{"layer", "--format", "none", "--metadata", f.o("plain.json")}, inputs...), f.o("layer.tar"))...)
	gz := checkMetadata(t, f.o("layer.tgz"), f.o("gz.json"), "", metadata.MediaTypeTarGzip, nil, false)
	plain := checkMetadata(t, f.o("layer.tar"), f.o("plain.json"), "", metadata.MediaTypeTar, nil, false)

	steps := []struct {
		in, out, format, mediaType string
		extra                      []string
	}{
		{"layer.tgz", "layer.tzst", "zstd", metadata.MediaTypeTarZstd, []string{"--annotation", "k=v", "--name", "zstd layer"}},
		{"layer.tzst", "again.tar", "none", metadata.MediaTypeTar, []string{"--source-format", "zstd"}},
		{"again.tar", "again.tgz", "gzip", metadata.MediaTypeTarGzip, nil},
		{"again.tar", "stargz.tgz", "gzip", metadata.MediaTypeTarGzip, []string{"--estargz"}},
	}
	mds := map[string]*metadata.Layer{}
	for _, s := range steps {
		md := f.o(s.out + ".json")
		mustRun(t, append(append([]string{"compress", "--format", s.format, "--metadata", md}, s.extra...), f.o(s.in), f.o(s.out))...)
		name, ann, estargz := "", map[string]string(nil), strings.Contains(s.out, "stargz")
		if slices.Contains(s.extra, "--name") {
			name, ann = "zstd layer", map[string]string{"k": "v"}
		}
		l := checkMetadata(t, f.o(s.out), md, name, s.mediaType, ann, estargz)
		if !estargz && l.DiffID != gz.DiffID {
			t.Errorf("%s -> %s: diff_id %s, want %s as before", s.in, s.out, l.DiffID, gz.DiffID)
		}
		mds[s.out] = l
	}
	// Decompressing gives the very tar that `layer --format none` writes, and
	// compressing it again the very blob that `layer --format gzip` writes.
	if mds["again.tar"].Digest != plain.Digest {
		t.Errorf("gzip -> zstd -> none gives %s, layer --format none gives %s", mds["again.tar"].Digest, plain.Digest)
	}
	if mds["again.tgz"].Digest != gz.Digest {
		t.Errorf("none -> gzip gives %s, layer --format gzip gives %s", mds["again.tgz"].Digest, gz.Digest)
	}
}

func TestLayerMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"gzip", []string{"--format", "gzip"}},
		{"zstd", []string{"--format", "zstd"}},
		{"none", []string{"--format", "none"}},
		{"estargz", []string{"--estargz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			blob := f.o("layer.blob")
			mustRun(t, append(append([]string{"layer", "--name", "//x:y", "--annotation", "a=b", "--metadata", f.o("want.json"),
				"--add", "/a=" + f.i("a.txt"), "--add", "/t=" + f.i("tree")}, tc.args...), blob)...)
			want, err := metadata.Read(f.o("want.json"))
			if err != nil {
				t.Fatal(err)
			}
			// layer-metadata does not parse eStargz: the annotations come in.
			var ann []string
			for k, v := range want.Annotations {
				ann = append(ann, "--annotation", k+"="+v)
			}
			mustRun(t, append(append([]string{"layer-metadata", "--name", "//x:y"}, ann...), blob, f.o("got.json"))...)
			wantBytes, _ := os.ReadFile(f.o("want.json"))
			gotBytes, err := os.ReadFile(f.o("got.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotBytes, wantBytes) {
				t.Errorf("layer-metadata wrote\n%s\nlayer wrote\n%s", gotBytes, wantBytes)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     func(f fixture) []string
		wantCode int
		wantMsg  func(f fixture) []string
	}{
		{"no command", func(fixture) []string { return nil }, 2, nil},
		{"unknown command", func(fixture) []string { return []string{"squash"} }, 2,
			func(fixture) []string { return []string{`"squash"`} }},
		{"layer: missing input file", func(f fixture) []string {
			return []string{"layer", "--metadata", f.o("l.json"), "--add", "/a=" + f.i("missing.txt"), f.o("l.tgz")}
		}, 1, func(f fixture) []string { return []string{f.i("missing.txt"), f.o("l.tgz")} }},
		{"layer: missing input file, zstd", func(f fixture) []string {
			return []string{"layer", "--format", "zstd", "--add", "/a=" + f.i("a.txt"), "--add", "/b=" + f.i("missing.txt"), f.o("l.tzst")}
		}, 1, func(f fixture) []string { return []string{f.i("missing.txt")} }},
		{"layer: unknown format", func(f fixture) []string {
			return []string{"layer", "--format", "lz4", "--add", "/a=" + f.i("a.txt"), f.o("l.tgz")}
		}, 1, func(fixture) []string { return []string{"lz4"} }},
		{"layer: estargz with zstd", func(f fixture) []string {
			return []string{"layer", "--format", "zstd", "--estargz", "--add", "/a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(fixture) []string { return []string{"estargz"} }},
		{"layer: bad level", func(f fixture) []string {
			return []string{"layer", "--compression-level", "10", "--add", "/a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(fixture) []string { return []string{"10"} }},
		{"layer: bad jobs", func(f fixture) []string {
			return []string{"layer", "--compressor-jobs", "0", "--add", "/a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(fixture) []string { return []string{"--compressor-jobs"} }},
		{"layer: unused file metadata", func(f fixture) []string {
			return []string{"layer", "--file-metadata", `/the/path={"uid":1}`, "--add", "/a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(fixture) []string { return []string{"/the/path"} }},
		{"layer: bad mode", func(f fixture) []string {
			return []string{"layer", "--file-metadata", `/a={"mode":"rwx"}`, "--add", "/a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(fixture) []string { return []string{"rwx"} }},
		{"layer: bad mtime", func(f fixture) []string {
			return []string{"layer", "--default-metadata", `{"mtime":"yesterday"}`, "--add", "/a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(fixture) []string { return []string{"yesterday"} }},
		{"layer: path escapes", func(f fixture) []string {
			return []string{"layer", "--add", "../a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(fixture) []string { return []string{"../a"} }},
		{"layer: conflicting paths", func(f fixture) []string {
			return []string{"layer", "--add", "/a=" + f.i("a.txt"), "--symlink", "/a=b", f.o("l")}
		}, 1, func(f fixture) []string { return []string{"/a", f.i("a.txt"), "a symlink to b"} }},
		{"layer: missing param file", func(f fixture) []string {
			return []string{"layer", "--add-from-file", f.i("missing.params"), f.o("l")}
		}, 1, func(f fixture) []string { return []string{f.i("missing.params")} }},
		{"layer: corrupt import", func(f fixture) []string {
			return []string{"layer", "--import-tar", f.i("corrupt.tar"), f.o("l")}
		}, 1, func(f fixture) []string { return []string{f.i("corrupt.tar")} }},
		{"layer: missing import", func(f fixture) []string {
			return []string{"layer", "--import-tar", f.i("missing.tar"), f.o("l")}
		}, 1, func(f fixture) []string { return []string{f.i("missing.tar")} }},
		{"layer: metadata not writable", func(f fixture) []string {
			return []string{"layer", "--metadata", f.o("no/such/dir/l.json"), "--add", "/a=" + f.i("a.txt"), f.o("l")}
		}, 1, func(f fixture) []string { return []string{"l.json"} }},
		{"layer: no output", func(f fixture) []string { return []string{"layer", "--add", "/a=" + f.i("a.txt")} }, 1, nil},
		{"layer: --add without an equals sign", func(f fixture) []string { return []string{"layer", "--add", f.i("a.txt"), f.o("l")} }, 1,
			func(f fixture) []string { return []string{f.i("a.txt")} }},
		{"layer: unknown flag", func(f fixture) []string { return []string{"layer", "--squash", f.o("l")} }, 1, nil},
		{"compress: corrupt input", func(f fixture) []string {
			return []string{"compress", "--format", "zstd", "--metadata", f.o("c.json"), f.i("corrupt.tar"), f.o("c.tzst")}
		}, 1, func(f fixture) []string { return []string{f.i("corrupt.tar")} }},
		{"compress: corrupt input, estargz", func(f fixture) []string {
			return []string{"compress", "--format", "gzip", "--estargz", f.i("corrupt.tar"), f.o("c.tgz")}
		}, 1, nil},
		{"compress: corrupt gzip input", func(f fixture) []string {
			gz, _ := os.ReadFile(f.i("vendor.tar.gz"))
			os.WriteFile(f.i("cut.tar.gz"), gz[:len(gz)-10], 0o644)
			return []string{"compress", "--format", "none", f.i("cut.tar.gz"), f.o("c.tar")}
		}, 1, func(f fixture) []string { return []string{f.i("cut.tar.gz")} }},
		{"compress: missing input", func(f fixture) []string {
			return []string{"compress", "--format", "gzip", f.i("missing.tar"), f.o("c.tgz")}
		}, 1, func(f fixture) []string { return []string{f.i("missing.tar")} }},
		{"compress: unknown format", func(f fixture) []string {
			return []string{"compress", "--format", "lz4", f.i("vendor.tar.gz"), f.o("c")}
		}, 1, func(fixture) []string { return []string{"lz4"} }},
		{"compress: no format", func(f fixture) []string {
			return []string{"compress", f.i("vendor.tar.gz"), f.o("c")}
		}, 1, func(fixture) []string { return []string{"--format"} }},
		{"compress: unknown source format", func(f fixture) []string {
			return []string{"compress", "--format", "gzip", "--source-format", "lz4", f.i("vendor.tar.gz"), f.o("c")}
		}, 1, func(fixture) []string { return []string{"lz4"} }},
		{"compress: one argument", func(f fixture) []string {
			return []string{"compress", "--format", "gzip", f.i("vendor.tar.gz")}
		}, 1, nil},
		{"layer-metadata: corrupt blob", func(f fixture) []string {
			return []string{"layer-metadata", f.i("corrupt.tar"), f.o("m.json")}
		}, 1, func(f fixture) []string { return []string{f.i("corrupt.tar")} }},
		{"layer-metadata: missing blob", func(f fixture) []string {
			return []string{"layer-metadata", f.i("missing.tgz"), f.o("m.json")}
		}, 1, func(f fixture) []string { return []string{f.i("missing.tgz")} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			code, stderr := runImg(t, tc.args(f)...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tc.wantCode, stderr)
			}
			if tc.wantMsg != nil {
				for _, m := range tc.wantMsg(f) {
					if !strings.Contains(stderr, m) {
						t.Errorf("stderr %q does not name %q", stderr, m)
					}
				}
			}
			ents, err := os.ReadDir(f.out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				t.Errorf("failed command left %s in the output directory", e.Name())
			}
		})
	}
}

// gnuEmptyTar is an archive of no entries as GNU tar writes it (tar -cf
// x.tar -T /dev/null: one 10240-byte record of zeros). Without GNU tar the
// test uses those bytes as such.
func gnuEmptyTar(t *testing.T) []byte {
	t.Helper()
	if v, err := exec.Command("tar", "--version").Output(); err != nil || !strings.Contains(string(v), "GNU tar") {
		t.Log("no GNU tar on PATH: using the 10240 zero bytes it writes")
		return make([]byte, 10240)
	}
	p := filepath.Join(t.TempDir(), "empty.tar")
	if out, err := exec.Command("tar", "-cf", p, "-T", os.DevNull).CombinedOutput(); err != nil {
		t.Fatalf("tar -cf %s -T %s: %v: %s", p, os.DevNull, err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// emptyLayerDiffID is the diff_id of a tar of two zero blocks, the layer
// that Go's archive/tar (and Docker) write for no entries.
const emptyLayerDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// An archive of no entries is a valid, empty layer wherever a tar is read:
// `layer --import-tar`, `compress` and `layer-metadata`, plain, gzip or zstd.
func TestEmptyArchives(t *testing.T) {
	empty := gnuEmptyTar(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(empty)
	zw.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zst := enc.EncodeAll(empty, nil)
	enc.Close()
	inputs := []struct {
		name      string
		data      []byte
		mediaType string
	}{
		{"empty.tar", empty, metadata.MediaTypeTar},
		{"empty.tar.gz", gz.Bytes(), metadata.MediaTypeTarGzip},
		{"empty.tar.zst", zst, metadata.MediaTypeTarZstd},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			f := newFixture(t)
			src := f.i(in.name)
			if err := os.WriteFile(src, in.data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name          string
				args          []string
				wantMediaType string
				wantDiffID    string
				estargz       bool
			}{
				{"layer --import-tar", []string{"layer", "--import-tar", src}, metadata.MediaTypeTarGzip, emptyLayerDiffID, false},
				{"layer --import-tar, zstd", []string{"layer", "--format", "zstd", "--import-tar", src}, metadata.MediaTypeTarZstd, emptyLayerDiffID, false},
				{"layer --import-tar twice, with a file", []string{"layer", "--import-tar", src, "--add", "/a.txt=" + f.i("a.txt"), "--import-tar", src},
					metadata.MediaTypeTarGzip, "", false},
				{"compress to gzip", []string{"compress", "--format", "gzip", src}, metadata.MediaTypeTarGzip, sha(empty), false},
				{"compress to zstd", []string{"compress", "--format", "zstd", src}, metadata.MediaTypeTarZstd, sha(empty), false},
				{"compress to none", []string{"compress", "--format", "none", src}, metadata.MediaTypeTar, sha(empty), false},
				{"compress to eStargz", []string{"compress", "--format", "gzip", "--estargz", src}, metadata.MediaTypeTarGzip, "", true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					out, md := f.o(strings.ReplaceAll(tc.name, " ", "_")), f.o(strings.ReplaceAll(tc.name, " ", "_")+".json")
					args := append(append([]string{tc.args[0], "--metadata", md}, tc.args[1:]...), out)
					mustRun(t, args...)
					l := checkMetadata(t, out, md, "", tc.wantMediaType, nil, tc.estargz)
					if tc.wantDiffID != "" && l.DiffID != tc.wantDiffID {
						t.Errorf("diff_id = %s, want %s", l.DiffID, tc.wantDiffID)
					}
					want := []string(nil)
					if strings.Contains(tc.name, "with a file") {
						want = []string{`0 a.txt 0755 0:0 "alpha\n"`}
					}
					if got := listing(t, out, tc.wantMediaType); !slices.Equal(got, want) {
						t.Errorf("entries = %q, want %q", got, want)
					}
				})
			}
			t.Run("layer-metadata", func(t *testing.T) {
				md := f.o("described.json")
				mustRun(t, "layer-metadata", src, md)
				l, err := metadata.Read(md)
				if err != nil {
					t.Fatal(err)
				}
				if l.Digest != sha(in.data) || l.Size != int64(len(in.data)) || l.DiffID != sha(empty) || l.MediaType != in.mediaType {
					t.Errorf("layer-metadata = digest %s size %d diff_id %s mediaType %s; want %s %d %s %s",
						l.Digest, l.Size, l.DiffID, l.MediaType, sha(in.data), len(in.data), sha(empty), in.mediaType)
				}
				if err := blobcheck.Check(src, *l); err != nil {
					t.Error(err)
				}
			})
		})
	}
	// No bytes at all are no archive: GNU tar says so too.
	for _, name := range []string{"zero.tar", "zero.tar.gz"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			data := []byte{}
			if strings.HasSuffix(name, ".gz") {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Close()
				data = b.Bytes()
			}
			src := f.i(name)
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"layer", "--import-tar", src, f.o("l")},
				{"compress", "--format", "gzip", src, f.o("c")},
				{"layer-metadata", src, f.o("m.json")},
			} {
				code, stderr := runImg(t, args...)
				if code != 1 || !strings.Contains(stderr, src) || !strings.Contains(stderr, "no tar entries") {
					t.Errorf("img %s: exit %d, stderr %q; want exit 1 naming %s and the missing entries", args[0], code, stderr, src)
				}
			}
			if ents, _ := os.ReadDir(f.out); len(ents) != 0 {
				t.Errorf("failed commands left %d files", len(ents))
			}
		})
	}
}

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
