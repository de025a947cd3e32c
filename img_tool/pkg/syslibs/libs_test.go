package syslibs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
)

func modes(es []baseimage.Entry) map[string]string {
	m := map[string]string{}
	for _, e := range es {
		v := fmt.Sprintf("%s %o", e.Type, e.Mode)
		if e.Type == baseimage.TypeSymlink {
			v = "-> " + e.Link
		}
		m[e.Path] = v
	}
	return m
}

func TestLibraries(t *testing.T) {
	libc, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/libc.so.6")
	if len(libc) == 0 {
		libc, _ = filepath.Glob("/lib/*/libc.so.6")
	}
	if len(libc) == 0 {
		t.Skip("no libc.so.6 on this host")
	}
	es, err := Libraries(LibrariesOptions{LibDir: "/usr/lib/x86_64-linux-gnu", LdSoConf: true, Mode: 0o755, Libraries: []Library{{Name: "libc-2.36.so", Source: libc[0]}}})
	if err != nil {
		t.Fatal(err)
	}
	m := modes(es)
	if m["usr/lib/x86_64-linux-gnu/libc-2.36.so"] != "file 755" || m["usr/lib/x86_64-linux-gnu/libc.so.6"] != "-> libc-2.36.so" || m["etc/ld.so.conf.d/rules_img.conf"] != "file 644" {
		t.Errorf("entries %v", m)
	}
	notELF := filepath.Join(t.TempDir(), "libx.so")
	os.WriteFile(notELF, []byte("text"), 0o644)
	if _, err := Libraries(LibrariesOptions{LibDir: "/usr/lib", Libraries: []Library{{Name: "libx.so", Source: notELF}}}); err == nil || !strings.Contains(err.Error(), "is not an ELF file") {
		t.Errorf("non-ELF: %v", err)
	}
	exe, _ := os.Executable() // the test binary: an ELF executable, not a shared object
	if _, err := Libraries(LibrariesOptions{LibDir: "/usr/lib", Libraries: []Library{{Name: "liby.so", Source: exe}}}); err == nil || !strings.Contains(err.Error(), "not a shared object") {
		t.Errorf("the test binary as a library: %v, want an error", err)
	}
}
