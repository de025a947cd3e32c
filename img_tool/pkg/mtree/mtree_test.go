package mtree_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
)

// sampleTar is a tar with every listed type, a hardlink, a PAX global
// header and names that need escaping.
func sampleTar(t *testing.T) []byte { return sampleTarGlobal(t, true) }

// sampleTarGlobal is sampleTar, with or without the PAX global header
// (which the tar policy of layers refuses).
func sampleTarGlobal(t *testing.T, global bool) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range []tar.Header{
		{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "x"}},
		{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755},
		{Typeflag: tar.TypeDir, Name: "./app/", Mode: 0o755, Uid: 1000, Gid: 1001},
		{Typeflag: tar.TypeReg, Name: "./app/hello", Mode: 0o4755, Size: 5},
		{Typeflag: tar.TypeLink, Name: "./app/again", Linkname: "./app/hello", Mode: 0o4755},
		{Typeflag: tar.TypeSymlink, Name: "app/sh", Linkname: "../bin/s h", Mode: 0o777},
		{Typeflag: tar.TypeReg, Name: "app/we=ird #name\\\n\u00fc", Mode: 0o600, Size: 0},
		{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o644},
		{Typeflag: tar.TypeReg, Name: "app/.wh.gone", Mode: 0o644},
	} {
		if h.Typeflag == tar.TypeXGlobalHeader && !global {
			continue
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const sampleListing = `#mtree
. type=dir mode=755 uid=0 gid=0
./app type=dir mode=755 uid=1000 gid=1001
./app/hello type=file mode=4755 uid=0 gid=0 size=5
./app/again type=file mode=4755 uid=0 gid=0 size=5 link=./app/hello
./app/sh type=link mode=777 uid=0 gid=0 link=../bin/s\040h
./app/we\075ird\040\043name\134\012\303\274 type=file mode=600 uid=0 gid=0 size=0
./dev/null type=char mode=666 uid=0 gid=0
./run/fifo type=fifo mode=644 uid=0 gid=0
./app/.wh.gone type=file mode=644 uid=0 gid=0 size=0
`

func listTar(t *testing.T, data []byte) string {
	t.Helper()
	var out bytes.Buffer
	w := mtree.NewWriter(&out)
	tee := mtree.NewTarTee(w)
	if _, err := tee.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tee.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestTarTee(t *testing.T) {
	if got := listTar(t, sampleTar(t)); got != sampleListing {
		t.Errorf("listing:\n%s\nwant:\n%s", got, sampleListing)
	}
}

func TestTarTeeCorrupt(t *testing.T) {
	data := sampleTar(t)
	data[1024+5] ^= 0xff // the second header (after the global one) no longer fits its checksum
	var out bytes.Buffer
	w := mtree.NewWriter(&out)
	tee := mtree.NewTarTee(w)
	// Writes go on after the parse failed, and do not block.
	for i := 0; i < 3; i++ {
		if _, err := tee.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tee.Close(); err == nil || !strings.Contains(err.Error(), "entry 2") {
		t.Errorf("Close() = %v, want an error naming entry 2", err)
	}
}

func TestRoundTrip(t *testing.T) {
	entries, err := mtree.ReadAll(strings.NewReader(sampleListing))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 9 {
		t.Fatalf("%d entries, want 9", len(entries))
	}
	if e := entries[5]; e.Path != "app/we=ird #name\\\n\u00fc" || e.Mode != 0o600 {
		t.Errorf("escaped entry read as %+v", e)
	}
	if e := entries[3]; !e.Hardlink || e.Link != "app/hello" || e.Size != 5 {
		t.Errorf("hardlink read as %+v", e)
	}
	if e := entries[4]; e.Hardlink || e.Link != "../bin/s h" || e.Type != mtree.Link {
		t.Errorf("symlink read as %+v", e)
	}
	var b bytes.Buffer
	w := mtree.NewWriter(&b)
	for _, e := range entries {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b.String() != sampleListing {
		t.Errorf("rewritten:\n%s\nwant:\n%s", b.String(), sampleListing)
	}
}

// The longest names a layer holds, escaped, still read back.
func TestLongNames(t *testing.T) {
	name := strings.Repeat("\u00fc", (32<<10)/2)
	var b bytes.Buffer
	w := mtree.NewWriter(&b)
	w.Add(mtree.Entry{Path: name, Type: mtree.Link, Link: name})
	w.Close()
	got, err := mtree.ReadAll(&b)
	if err != nil || len(got) != 1 || got[0].Path != name || got[0].Link != name {
		t.Fatalf("ReadAll of a %d-byte line: %v", b.Len(), err)
	}
}

func TestReadErrors(t *testing.T) {
	long := "#mtree\n./" + strings.Repeat("a", mtree.MaxLineBytes) + " type=file\n"
	for _, tc := range []struct {
		name, in, want string
		opts           []mtree.ReadOption
	}{
		{"long line", long, "longer than", nil},
		{"too many", "./a type=file\n./b type=file\n./c type=file\n", "more than 2 entries", []mtree.ReadOption{mtree.WithMaxEntries(2)}},
		{"no type", "./a mode=644\n", `line 1: entry ./a: type ""`, nil},
		{"bad type", "#mtree\n./a type=door\n", `line 2: entry ./a: type "door"`, nil},
		{"symbolic mode", "./a type=file mode=u+rw\n", `mode="u+rw"`, nil},
		{"mode too wide", "./a type=file mode=170000\n", `mode="170000"`, nil},
		{"negative uid", "./a type=file uid=-1\n", `uid="-1"`, nil},
		{"relative form", "bin type=dir\n", "relative mtree form", nil},
		{"escape", "./a\\q type=file\n", "bad escape", nil},
		{"trailing backslash", "./a\\ type=file\n", "backslash", nil},
		{"escapes root", "./../etc type=file\n", "leaves the root", nil},
		{"hardlink escapes", "./a type=file link=../x\n", "hardlink", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mtree.ReadAll(strings.NewReader(tc.in), tc.opts...)
			if !errors.Is(err, mtree.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadAll() = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

// normalize makes listings of different writers comparable: the root and
// comment lines dropped, keywords sorted, modes as numbers, the size and
// link of hardlinks dropped (libarchive lists a hardlink with its header's
// size 0 and without its target), lines sorted.
func normalize(t *testing.T, listing string) []string {
	t.Helper()
	entries, err := mtree.ReadAll(strings.NewReader(listing))
	if err != nil {
		t.Fatalf("%v\n%s", err, listing)
	}
	var out []string
	for _, e := range entries {
		if e.Path == "." {
			continue
		}
		if e.Hardlink {
			e.Size, e.Link, e.Hardlink = 0, "", false
		}
		out = append(out, fmt.Sprintf("%q %s %o %d %d %d %q", e.Path, e.Type, e.Mode, e.UID, e.GID, e.Size, e.Link))
	}
	sort.Strings(out)
	return out
}

// TestAgainstBsdtar compares the listing of GNU tar archives and of
// sampleTar with libarchive's own mtree writer.
func TestAgainstBsdtar(t *testing.T) {
	bsdtar, err := exec.LookPath("bsdtar")
	if err != nil {
		t.Skip("bsdtar is not installed")
	}
	dir := t.TempDir()
	archives := map[string][]byte{"archive/tar": sampleTar(t)}
	if gnutar, err := exec.LookPath("tar"); err == nil {
		src := filepath.Join(dir, "src")
		for _, f := range []string{"d/a", "d/sp ace", "d/x=y", "d/\u00fc", "e/.wh..wh..opq"} {
			os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
			if err := os.WriteFile(filepath.Join(src, f), []byte("hello"), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		os.Link(filepath.Join(src, "d/a"), filepath.Join(src, "d/b"))
		os.Symlink("a", filepath.Join(src, "d/s"))
		out, err := exec.Command(gnutar, "--sort=name", "--owner=7", "--group=8", "-cf", "-", "-C", src, ".").Output()
		if err != nil {
			t.Fatal(err)
		}
		archives["GNU tar"] = out
	}
	for name, data := range archives {
		cmd := exec.Command(bsdtar, "-cf", "-", "--format=mtree", "--options=!all,type,mode,uid,gid,size,link", "@-")
		cmd.Stdin = bytes.NewReader(data)
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: bsdtar: %v", name, err)
		}
		got, wantN := normalize(t, listTar(t, data)), normalize(t, string(want))
		if strings.Join(got, "\n") != strings.Join(wantN, "\n") {
			t.Errorf("%s: listing differs from bsdtar's:\n%s\nbsdtar:\n%s", name, strings.Join(got, "\n"), strings.Join(wantN, "\n"))
		}
	}
}

// CopyChecked copies the tar unchanged and lists it as TarTee does; a
// tar that the policy refuses fails.
func TestCopyChecked(t *testing.T) {
	data := sampleTarGlobal(t, false)
	var out, listing bytes.Buffer
	w := mtree.NewWriter(&listing)
	if err := mtree.CopyChecked(&out, bytes.NewReader(data), w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if !bytes.Equal(out.Bytes(), data) {
		t.Error("the copy differs from the input")
	}
	if listing.String() != sampleListing {
		t.Errorf("listing:\n%s\nwant:\n%s", listing.String(), sampleListing)
	}
	bad := append([]byte{}, data...)
	bad[5] ^= 0xff
	if err := mtree.CopyChecked(io.Discard, bytes.NewReader(bad), mtree.NewWriter(io.Discard)); err == nil {
		t.Error("CopyChecked of a corrupt tar succeeded")
	}
	if err := mtree.CopyChecked(io.Discard, bytes.NewReader(data[:1500]), mtree.NewWriter(io.Discard)); err == nil {
		t.Error("CopyChecked of a truncated tar succeeded")
	}
}
