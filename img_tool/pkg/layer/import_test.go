package layer_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

var tarTime = time.Date(2023, 3, 4, 5, 6, 7, 0, time.UTC)

type tarEnt struct {
	h    tar.Header
	data string
}

// file is a regular tar entry with owner and mtime set, as tools write them.
func file(name, data string) tarEnt {
	return tarEnt{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1, Gid: 2, Uname: "u", Gname: "g", ModTime: tarTime, Size: int64(len(data))}, data}
}

// plainFile is a regular tar entry whose header equals what AddFile writes.
func plainFile(name, data string) tarEnt {
	return tarEnt{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, ModTime: epoch, Size: int64(len(data))}, data}
}

func tarOf(t *testing.T, ents ...tarEnt) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		h := e.h
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zstdOf(t *testing.T, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// inputTar has every entry type the importer handles, with names as tar
// tools write them ("./etc/").
func inputTar(t *testing.T) []byte {
	t.Helper()
	return tarOf(t,
		tarEnt{h: tar.Header{Name: "./etc/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 3, ModTime: tarTime}},
		file("./etc/hosts", "127.0.0.1 localhost\n"),
		tarEnt{h: tar.Header{Name: "./etc/hosts.hard", Typeflag: tar.TypeLink, Linkname: "./etc/hosts", Mode: 0o640, Uid: 1, Gid: 2, Uname: "u", Gname: "g", ModTime: tarTime}},
		tarEnt{h: tar.Header{Name: "etc/sym", Typeflag: tar.TypeSymlink, Linkname: "hosts", Mode: 0o777, ModTime: tarTime}},
		file("etc/dup", "127.0.0.1 localhost\n"),
		tarEnt{h: tar.Header{Name: "etc/other-mtime", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1, Gid: 2, Uname: "u", Gname: "g", ModTime: tarTime.Add(time.Second), Size: 20}, data: "127.0.0.1 localhost\n"},
	)
}

// importHdr is the part of an imported header the tests compare.
type importHdr struct {
	name, link   string
	typ          byte
	mode         int64
	uid, gid     int
	uname, gname string
	mtime        time.Time
	data         string
}

// gnuEmptyTar is what GNU tar writes for an archive of no entries
// (tar -cf x.tar -T /dev/null): one 10240-byte record of zero bytes.
var gnuEmptyTar = make([]byte, 10240)

var inputTarWant = []importHdr{
	{"etc/", "", tar.TypeDir, 0o750, 3, 0, "", "", tarTime, ""},
	{"etc/hosts", "", tar.TypeReg, 0o640, 1, 2, "u", "g", tarTime, "127.0.0.1 localhost\n"},
	{"etc/hosts.hard", "etc/hosts", tar.TypeLink, 0o640, 1, 2, "u", "g", tarTime, ""},
	{"etc/sym", "hosts", tar.TypeSymlink, 0o777, 0, 0, "", "", tarTime, ""},
	{"etc/dup", "etc/hosts", tar.TypeLink, 0o640, 1, 2, "u", "g", tarTime, ""},
	{"etc/other-mtime", "", tar.TypeReg, 0o640, 1, 2, "u", "g", tarTime.Add(time.Second), "127.0.0.1 localhost\n"},
}

type importStep struct {
	name string // file name of the input, for errors
	data []byte // tar input; nil with file set
	file string // a host file for AddFile instead
	path string // where AddFile puts file
}

func TestImportTar(t *testing.T) {
	in := inputTar(t)
	big1Tar := tarOf(t, plainFile("big/1", big1), plainFile("big/2", big2), plainFile("big/3", big1))
	for _, tc := range []struct {
		name    string
		steps   func(t *testing.T) []importStep
		want    []importHdr
		wantErr error
		wantMsg []string
	}{
		{
			name:  "plain tar",
			steps: func(t *testing.T) []importStep { return []importStep{{name: "in.tar", data: in}} },
			want:  inputTarWant,
		},
		{
			name:  "gzip tar",
			steps: func(t *testing.T) []importStep { return []importStep{{name: "in.tar.gz", data: gzipOf(t, in)}} },
			want:  inputTarWant,
		},
		{
			name:  "zstd tar",
			steps: func(t *testing.T) []importStep { return []importStep{{name: "in.tar.zst", data: zstdOf(t, in)}} },
			want:  inputTarWant,
		},
		{
			name: "padded to a whole record",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "in.tar", data: append(bytes.Clone(in), make([]byte, 10240)...)}}
			},
			want: inputTarWant,
		},
		{
			name: "dedup across tars",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{name: "one.tar", data: tarOf(t, file("x/a", "same\n"))},
					{name: "two.tar.gz", data: gzipOf(t, tarOf(t, file("y/b", "same\n"), file("y/c", "other\n")))},
				}
			},
			want: []importHdr{
				{"x/a", "", tar.TypeReg, 0o640, 1, 2, "u", "g", tarTime, "same\n"},
				{"y/b", "x/a", tar.TypeLink, 0o640, 1, 2, "u", "g", tarTime, ""},
				{"y/c", "", tar.TypeReg, 0o640, 1, 2, "u", "g", tarTime, "other\n"},
			},
		},
		{
			name: "dedup of large entries",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "big.tar", data: big1Tar}}
			},
			want: []importHdr{
				{"big/1", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, big1},
				{"big/2", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, big2},
				{"big/3", "big/1", tar.TypeLink, 0o755, 0, 0, "", "", epoch, ""},
			},
		},
		{
			name: "added file equal to an imported entry",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{name: "in.tar", data: tarOf(t, plainFile("x/a", "alpha\n"), plainFile("big/1", big1))},
					{file: "a.txt", path: "/y/a"},
					{file: "big1-copy", path: "/y/big"},
				}
			},
			want: []importHdr{
				{"x/a", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, "alpha\n"},
				{"big/1", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, big1},
				{"y/a", "x/a", tar.TypeLink, 0o755, 0, 0, "", "", epoch, ""},
				{"y/big", "big/1", tar.TypeLink, 0o755, 0, 0, "", "", epoch, ""},
			},
		},
		{
			name: "imported entry equal to an added file",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{file: "a.txt", path: "/y/a"},
					{file: "big1", path: "/y/big"},
					{name: "in.tar", data: tarOf(t, plainFile("x/a", "alpha\n"), plainFile("x/big", big1), plainFile("x/big2", big2))},
				}
			},
			want: []importHdr{
				{"y/a", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, "alpha\n"},
				{"y/big", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, big1},
				{"x/a", "y/a", tar.TypeLink, 0o755, 0, 0, "", "", epoch, ""},
				{"x/big", "y/big", tar.TypeLink, 0o755, 0, 0, "", "", epoch, ""},
				{"x/big2", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, big2},
			},
		},
		{
			name: "same path, identical content",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{name: "one.tar", data: tarOf(t, file("x/a", "same\n"))},
					{name: "two.tar", data: tarOf(t, file("x/a", "same\n"))},
				}
			},
			want: []importHdr{{"x/a", "", tar.TypeReg, 0o640, 1, 2, "u", "g", tarTime, "same\n"}},
		},
		{
			name: "same path, different content",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{name: "one.tar", data: tarOf(t, file("x/a", "one\n"))},
					{name: "two.tar", data: tarOf(t, file("x/a", "two\n"))},
				}
			},
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"two.tar", "/x/a"},
		},
		{
			name: "same path, different content, in one tar",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "one.tar", data: tarOf(t, file("x/a", "one\n"), file("x/a", "two\n"))}}
			},
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"one.tar", "/x/a"},
		},
		{
			name: "same path as an added file, different content",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{file: "a.txt", path: "/x/a"},
					{name: "one.tar", data: tarOf(t, file("x/a", "other\n"))},
				}
			},
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"one.tar", "/x/a", "a.txt"},
		},
		{
			name: "same path as an added file, identical content",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{file: "a.txt", path: "/x/a"},
					{name: "one.tar", data: tarOf(t, file("x/a", "alpha\n"))},
				}
			},
			want: []importHdr{{"x/a", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, "alpha\n"}},
		},
		{
			name: "same path as a symlink",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "one.tar", data: tarOf(t,
					tarEnt{h: tar.Header{Name: "x/a", Typeflag: tar.TypeSymlink, Linkname: "b", ModTime: tarTime}},
					file("x/a", "alpha\n"))}}
			},
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"one.tar", "/x/a", "a symlink to b"},
		},
		{
			name: "hardlink to a missing target",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "links.tar", data: tarOf(t,
					tarEnt{h: tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a", ModTime: tarTime}})}}
			},
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"links.tar", "/b", "/a"},
		},
		{
			name: "entry escapes the root",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "evil.tar", data: tarOf(t, file("../etc/passwd", "x"))}}
			},
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"evil.tar", "../etc/passwd"},
		},
		{
			name:    "empty file",
			steps:   func(t *testing.T) []importStep { return []importStep{{name: "empty.tar", data: []byte{}}} },
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"empty.tar"},
		},
		{
			name:    "empty gzip stream",
			steps:   func(t *testing.T) []importStep { return []importStep{{name: "empty.tar.gz", data: gzipOf(t, nil)}} },
			wantErr: layer.ErrInvalidArgument,
			wantMsg: []string{"empty.tar.gz"},
		},
		{
			name:  "empty archive",
			steps: func(t *testing.T) []importStep { return []importStep{{name: "empty.tar", data: gnuEmptyTar}} },
			want:  []importHdr{},
		},
		{
			name: "empty archive, gzip",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "empty.tar.gz", data: gzipOf(t, gnuEmptyTar)}}
			},
			want: []importHdr{},
		},
		{
			name: "empty archive, zstd",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "empty.tar.zst", data: zstdOf(t, gnuEmptyTar)}}
			},
			want: []importHdr{},
		},
		{
			name: "empty archive of two zero blocks between two tars",
			steps: func(t *testing.T) []importStep {
				return []importStep{
					{name: "one.tar", data: tarOf(t, plainFile("x/a", "one\n"))},
					{name: "empty.tar", data: make([]byte, 1024)},
					{name: "two.tar", data: tarOf(t, plainFile("x/b", "two\n"))},
				}
			},
			want: []importHdr{
				{"x/a", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, "one\n"},
				{"x/b", "", tar.TypeReg, 0o755, 0, 0, "", "", epoch, "two\n"},
			},
		},
		{
			name:    "part of a zero block",
			steps:   func(t *testing.T) []importStep { return []importStep{{name: "short.tar", data: make([]byte, 100)}} },
			wantErr: io.ErrUnexpectedEOF,
			wantMsg: []string{"short.tar"},
		},
		{
			name: "not a tar",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "notes.txt", data: []byte(strings.Repeat("just some text\n", 60))}}
			},
			wantMsg: []string{"notes.txt"},
		},
		{
			name: "short non-tar file",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "short.txt", data: []byte("hello\n")}}
			},
			wantMsg: []string{"short.txt"},
		},
		{
			name: "truncated tar",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "cut.tar", data: big1Tar[:700<<10]}}
			},
			wantErr: io.ErrUnexpectedEOF,
			wantMsg: []string{"cut.tar"},
		},
		{
			name: "truncated tar in a header",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "cut.tar", data: in[:3*512+100]}}
			},
			wantErr: io.ErrUnexpectedEOF,
			wantMsg: []string{"cut.tar"},
		},
		{
			name: "cut at an entry boundary",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "cut.tar", data: in[:3*512]}}
			},
			wantErr: io.ErrUnexpectedEOF,
			wantMsg: []string{"cut.tar"},
		},
		{
			name: "cut in the padding after an entry",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "cut.tar", data: in[:2*512+100]}}
			},
			wantErr: io.ErrUnexpectedEOF,
			wantMsg: []string{"cut.tar"},
		},
		{
			name: "end marker of one zero block",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "in.tar", data: in[:len(in)-512]}}
			},
			want: inputTarWant,
		},
		{
			name: "truncated gzip",
			steps: func(t *testing.T) []importStep {
				gz := gzipOf(t, big1Tar)
				return []importStep{{name: "cut.tar.gz", data: gz[:len(gz)/2]}}
			},
			wantMsg: []string{"cut.tar.gz"},
		},
		{
			name: "corrupt gzip",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "bad.tar.gz", data: append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{0xff}, 100)...)}}
			},
			wantMsg: []string{"bad.tar.gz"},
		},
		{
			name: "corrupt zstd",
			steps: func(t *testing.T) []importStep {
				return []importStep{{name: "bad.tar.zst", data: append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xff}, 100)...)}}
			},
			wantMsg: []string{"bad.tar.zst"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := sources(t)
			steps := tc.steps(t)
			ents, _, err := writeLayer(t, nil, func(w *layer.Writer) error {
				for _, s := range steps {
					var err error
					if s.file != "" {
						err = w.AddFile(s.path, src(s.file))
					} else {
						err = w.ImportTar(s.name, bytes.NewReader(s.data))
					}
					if err != nil {
						return err
					}
				}
				return nil
			})
			if tc.want == nil {
				if err == nil {
					t.Fatal("write layer succeeded, want an error")
				}
			} else if err != nil {
				t.Fatalf("write layer: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("write layer: %v, want %v", err, tc.wantErr)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %q", err, m)
				}
			}
			if err != nil {
				return
			}
			var got []importHdr
			for _, e := range ents {
				h := e.Header
				got = append(got, importHdr{h.Name, h.Linkname, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime.UTC(), string(e.Data)})
			}
			if (len(got) != 0 || len(tc.want) != 0) && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entries:\n got %+v\nwant %+v", trimData(got), trimData(tc.want))
			}
		})
	}
}

func trimData(hs []importHdr) []importHdr {
	out := slicesClone(hs)
	for i := range out {
		if len(out[i].data) > 40 {
			out[i].data = out[i].data[:40] + "..."
		}
	}
	return out
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// Imported entries get the layer's metadata too; an override that names an
// imported path counts as used.
func TestImportTarMetadata(t *testing.T) {
	md, err := layer.ParseMetadata(`{"uid":9}`, map[string]string{"/etc/hosts": `{"mode":"0600"}`})
	if err != nil {
		t.Fatal(err)
	}
	ents, _, err := writeLayer(t, md, func(w *layer.Writer) error {
		return w.ImportTar("in.tar", bytes.NewReader(inputTar(t)))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Header.Uid != 9 {
			t.Errorf("%s: uid %d, want 9 from the defaults", e.Header.Name, e.Header.Uid)
		}
		if e.Header.Name == "etc/hosts" && e.Header.Mode != 0o600 {
			t.Errorf("etc/hosts: mode %o, want 0600 from the override", e.Header.Mode)
		}
	}
}

func TestOpenUncompressed(t *testing.T) {
	in := inputTar(t)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"plain", in},
		{"gzip", gzipOf(t, in)},
		{"zstd", zstdOf(t, in)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, done, err := layer.OpenUncompressed(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, in) {
				t.Errorf("OpenUncompressed yields %d bytes that differ from the %d input bytes", len(got), len(in))
			}
		})
	}
}

func TestCopyChecked(t *testing.T) {
	in := inputTar(t)
	for _, tc := range []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"tar", in, nil},
		{"padded tar", append(bytes.Clone(in), make([]byte, 8192)...), nil},
		{"empty", nil, layer.ErrInvalidArgument},
		{"only an end marker", make([]byte, 1024), nil},
		{"empty archive from GNU tar", gnuEmptyTar, nil},
		{"empty archive of one zero block", make([]byte, 512), nil},
		{"part of a zero block", make([]byte, 100), io.ErrUnexpectedEOF},
		{"cut in the padding", in[:len(in)-1024-100], io.ErrUnexpectedEOF},
		{"cut at an entry boundary", in[:3*512], io.ErrUnexpectedEOF},
		{"cut in a header", in[:3*512+100], io.ErrUnexpectedEOF},
		{"end marker of one zero block", in[:len(in)-512], nil},
		{"not a tar", bytes.Repeat([]byte("text "), 200), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := layer.CopyChecked(&out, bytes.NewReader(tc.data))
			if tc.name == "not a tar" {
				if err == nil {
					t.Fatal("CopyChecked() succeeded on text")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CopyChecked() = %v, want %v", err, tc.wantErr)
			}
			if err == nil && !bytes.Equal(out.Bytes(), tc.data) {
				t.Errorf("CopyChecked() copied %d bytes that differ from the %d input bytes", out.Len(), len(tc.data))
			}
		})
	}
}

// ImportTar names the input in errors; a missing file is the CLI's
// business, but a reader that fails must still be reported with the name.
func TestImportTarReadError(t *testing.T) {
	errRead := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(inputTar(t)[:1536]), iotestErrReader{errRead})
	_, _, err := writeLayer(t, nil, func(w *layer.Writer) error { return w.ImportTar("/in/fire.tar", r) })
	if !errors.Is(err, errRead) {
		t.Fatalf("write layer: %v, want %v", err, errRead)
	}
	if !strings.Contains(err.Error(), "/in/fire.tar") {
		t.Errorf("error %q does not name /in/fire.tar", err)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }
