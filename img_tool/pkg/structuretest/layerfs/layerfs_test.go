package layerfs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
	"github.com/rules-img/rules_img/img_tool/pkg/structuretest/layerfs"
)

const lower = `#mtree
./bin type=dir mode=755 uid=0 gid=0
./bin/sh type=file mode=755 uid=0 gid=0 size=10
./etc/passwd type=file mode=644 uid=0 gid=0 size=10
./var/cache/a type=file mode=644 uid=0 gid=0 size=1
./usr/share/doc/pkg1/copyright type=file mode=644 uid=0 gid=0 size=1
./usr/share/doc/pkg2 type=dir mode=755 uid=0 gid=0
`

const upper = `#mtree
./bin/.wh.sh type=file mode=644 uid=0 gid=0 size=0
./var/cache/.wh..wh..opq type=file mode=644 uid=0 gid=0 size=0
./var/cache/b type=file mode=644 uid=0 gid=0 size=1
./app/etc type=link mode=644 uid=0 gid=0 link=../etc
./app/suid type=file mode=4755 uid=0 gid=0 size=1
./usr/share/doc/pkg3/copyright type=file mode=644 uid=0 gid=0 size=1
`

func newLayer(t *testing.T, name, listing string) *layerfs.Layer {
	t.Helper()
	l, err := layerfs.NewLayer(name, strings.NewReader(listing))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReadDir(t *testing.T) {
	fs := layerfs.NewFS([]*layerfs.Layer{newLayer(t, "0", lower), newLayer(t, "1", upper)})
	for dir, want := range map[string]string{
		"var/cache":     "b", // opaque
		"bin":           "",  // whiteout
		"usr/share/doc": "pkg1,pkg2,pkg3",
		".":             "app,bin,etc,usr,var",
	} {
		got, err := fs.ReadDir(dir)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("ReadDir(%s) = %v, %v; want [%s]", dir, got, err, want)
		}
	}
}

func TestLstat(t *testing.T) {
	fs := layerfs.NewFS([]*layerfs.Layer{newLayer(t, "0", lower), newLayer(t, "1", upper)})
	for p, want := range map[string]string{
		"/app/etc/passwd": "-rw-r--r--", // through a relative symlink
		"app/etc":         "Lrwxrwxrwx", // not followed; symlinks show 0777
		"/app/suid":       "urwxr-xr-x",
		"/etc":            "drwxr-xr-x", // implied by etc/passwd
		"/bin/sh":         "",           // whiteout
		"/var/cache/a":    "",           // hidden by the opaque marker
	} {
		e, ok, err := fs.Lstat(p)
		got := ""
		if ok {
			got = layerfs.FileMode(e).String()
		}
		if err != nil || got != want {
			t.Errorf("Lstat(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
}

// A layer without a listing leaves the paths below it unknown, not absent.
func TestUnlistedLayer(t *testing.T) {
	fs := layerfs.NewFS([]*layerfs.Layer{newLayer(t, "0", lower), layerfs.UnlistedLayer("layer 1 (sha256:ab)")})
	var unknown *layerfs.UnknownError
	if _, _, err := fs.Lstat("/bin/sh"); !errors.As(err, &unknown) || unknown.Layer != "layer 1 (sha256:ab)" {
		t.Errorf("Lstat over an unlisted layer: %v", err)
	}
	if _, err := fs.ReadDir("bin"); !errors.As(err, &unknown) {
		t.Errorf("ReadDir over an unlisted layer: %v", err)
	}
	if _, err := layerfs.NewLayer("bad", strings.NewReader("#mtree\n./x type=file size=-1\n"), mtree.WithMaxEntries(10)); err == nil {
		t.Error("NewLayer accepted a malformed listing")
	}
}
