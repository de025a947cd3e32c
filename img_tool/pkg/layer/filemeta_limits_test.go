package layer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFileMetadataLimits(t *testing.T) {
	for _, tc := range []struct {
		json string
		want string // "" when accepted
	}{
		{`{"uid": 2147483647, "gid": 0}`, ""},
		{`{"uid": 2147483648}`, "uid 2147483648 is out of range, want 0 to 2147483647"},
		{`{"gid": -1}`, "gid -1 is out of range"},
		{`{"uname": "app", "gname": "staff"}`, ""},
		{`{"uname": "a\nb"}`, `uname "a\nb": at most 256 bytes, without NUL or newline`},
		{`{"gname": "` + strings.Repeat("g", 257) + `"}`, "gname"},
		{`{"pax_records": {"SCHILY.xattr.user.k": "v"}}`, ""},
		{`{"pax_records": {"": "v"}}`, `pax_records: key "": want 1 to 256 bytes without NUL, newline or '='`},
		{`{"pax_records": {"a\nb": "v"}}`, `pax_records: key "a\nb"`},
		{`{"pax_records": {"a=b": "v"}}`, `pax_records: key "a=b"`},
		{`{"pax_records": {"path": "/etc/shadow"}}`, `pax_records: key "path" is set from the entry itself`},
		{`{"pax_records": {"uid": "0"}}`, `pax_records: key "uid" is set from the entry itself`},
		{`{"pax_records": {"k": "a\u0000b"}}`, `pax_records: value of "k": at most 65536 bytes, without NUL`},
		{`{"pax_records": {"k": "` + strings.Repeat("v", 65537) + `"}}`, `pax_records: value of "k"`},
	} {
		_, err := ParseFileMetadata(tc.json)
		short := tc.json
		if len(short) > 60 {
			short = short[:60] + "..."
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", short, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: accepted, want %q", short, tc.want)
		case tc.want != "" && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidArgument)):
			t.Errorf("%s: %v, want %q (ErrInvalidArgument)", short, err, tc.want)
		}
	}
}

func TestPAXRecordCount(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"pax_records": {`)
	for i := 0; i < 257; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `": "v"`)
	}
	b.WriteString("}}")
	if _, err := ParseFileMetadata(b.String()); err == nil || !strings.Contains(err.Error(), "257 records, more than the limit of 256") {
		t.Fatalf("257 records: %v", err)
	}
}

// sparseTar is GNU tar's PAX sparse archive of a file of size real that is
// all hole: a few KiB of tar.
func sparseTar(t *testing.T, real int64) []byte {
	t.Helper()
	gnutar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no GNU tar")
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Truncate(f.Name(), real); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gnutar, "--sparse", "--format=posix", "-C", dir, "-cf", "-", "big").Output()
	if err != nil {
		t.Skipf("GNU tar --sparse: %v", err)
	}
	return out
}

func TestImportSparseBound(t *testing.T) {
	for _, tc := range []struct {
		size int64
		want string
	}{
		{1 << 20, ""},
		{2 << 30, "import /big: sparse file of 2147483648 bytes: layers store sparse files whole, and at most 1073741824 bytes of one"},
	} {
		w := NewWriter(io.Discard, nil)
		err := w.ImportTar("sparse.tar", bytes.NewReader(sparseTar(t, tc.size)))
		if tc.want == "" && err != nil {
			t.Errorf("%d bytes: %v", tc.size, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%d bytes: %v, want %q", tc.size, err, tc.want)
		}
	}
}
