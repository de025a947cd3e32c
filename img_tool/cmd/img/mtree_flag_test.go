package main

import (
	"bytes"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// --mtree of layer, compress and layer-metadata: the blob and metadata
// are the bytes written without it, the listing is the same from all
// three commands for the same tar, and bsdtar lists the same entries. A
// failure leaves no listing.
func TestMtreeFlag(t *testing.T) {
	f := newFixture(t)
	layerArgs := []string{"--format", "gzip", "--add", "/app/a.txt=" + f.i("a.txt"), "--add", "/app/a2.txt=" + f.i("a-copy.txt"),
		"--add-from-file", f.i("add.params"), "--symlinks-from-file", f.i("symlinks.params"), "--create-parent-directories"}
	mustRun(t, append(append([]string{"layer", "--metadata", f.o("plain.json")}, layerArgs...), f.o("plain.tgz"))...)
	mustRun(t, append(append([]string{"layer", "--metadata", f.o("listed.json"), "--mtree", f.o("layer.mtree")}, layerArgs...), f.o("listed.tgz"))...)
	same := func(a, b string) {
		t.Helper()
		x, _ := os.ReadFile(f.o(a))
		y, _ := os.ReadFile(f.o(b))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s and %s differ", a, b)
		}
	}
	same("plain.tgz", "listed.tgz")
	same("plain.json", "listed.json")
	listing, err := os.ReadFile(f.o("layer.mtree"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#mtree\n", "./app type=dir mode=755 uid=0 gid=0\n", "./app/a2.txt type=file mode=755 uid=0 gid=0 size=6 link=./app/a.txt\n", "./app/sl type=link"} {
		if !strings.Contains(string(listing), want) {
			t.Errorf("listing lacks %q:\n%s", want, listing)
		}
	}
	mustRun(t, "compress", "--format", "zstd", "--metadata", f.o("z.json"), "--mtree", f.o("compress.mtree"), f.o("plain.tgz"), f.o("z.tar.zst"))
	mustRun(t, "compress", "--format", "zstd", "--metadata", f.o("z2.json"), f.o("plain.tgz"), f.o("z2.tar.zst"))
	same("z.tar.zst", "z2.tar.zst")
	mustRun(t, "layer-metadata", "--mtree", f.o("metadata.mtree"), f.o("z.tar.zst"), f.o("zmd.json"))
	same("layer.mtree", "compress.mtree")
	same("layer.mtree", "metadata.mtree")

	if bsdtar, err := exec.LookPath("bsdtar"); err == nil {
		out, err := exec.Command(bsdtar, "-cf", "-", "--format=mtree", "--options=!all,type,mode,uid,gid,size,link", "@"+f.o("plain.tgz")).Output()
		if err != nil {
			t.Fatal(err)
		}
		// Both list the same paths (bsdtar sorts them its own way).
		paths := func(s string) string {
			var p []string
			for _, l := range strings.Split(strings.TrimSpace(s), "\n")[1:] {
				p = append(p, strings.Fields(l)[0])
			}
			sort.Strings(p)
			return strings.Join(p, " ")
		}
		if paths(string(out)) != paths(string(listing)) {
			t.Errorf("paths differ from bsdtar's:\n%s\nbsdtar:\n%s", listing, out)
		}
	}

	// eStargz: the blob holds entries of the format (TOC, landmark); the
	// listing is made from the blob and has them too.
	mustRun(t, "layer", "--format", "gzip", "--estargz", "--add", "/app/a.txt="+f.i("a.txt"), "--mtree", f.o("esgz.mtree"), f.o("esgz.tgz"))
	mustRun(t, "compress", "--format", "gzip", "--estargz", "--mtree", f.o("esgz2.mtree"), f.o("plain.tgz"), f.o("esgz2.tgz"))
	for _, l := range []string{"esgz.mtree", "esgz2.mtree"} {
		got, _ := os.ReadFile(f.o(l))
		if !strings.Contains(string(got), "./stargz.index.json type=file") {
			t.Errorf("%s lacks the eStargz TOC entry:\n%s", l, got)
		}
	}

	// A corrupt tar: the command fails and leaves no listing.
	if code, stderr := runImg(t, "compress", "--format", "gzip", "--mtree", f.o("bad.mtree"), f.i("corrupt.tar"), f.o("bad.tgz")); code == 0 {
		t.Fatal("compress of a corrupt tar succeeded")
	} else if _, err := os.Stat(f.o("bad.mtree")); err == nil {
		t.Errorf("a failed compress left its listing (%s)", stderr)
	}
	if code, _ := runImg(t, "layer-metadata", "--mtree", f.o("bad2.mtree"), f.i("corrupt.tar"), f.o("bad2.json")); code == 0 {
		t.Fatal("layer-metadata of a corrupt tar succeeded")
	} else if _, err := os.Stat(f.o("bad2.mtree")); err == nil {
		t.Error("a failed layer-metadata left its listing")
	}
}
