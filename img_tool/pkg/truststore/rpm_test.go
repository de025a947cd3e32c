package truststore

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cpioNewc writes a newc archive of files (name -> content), in order.
func cpioNewc(names []string, files map[string][]byte) []byte {
	var b bytes.Buffer
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	entry := func(name string, mode int, body []byte) {
		fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			1, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
		b.WriteString(name)
		b.WriteByte(0)
		pad()
		b.Write(body)
		pad()
	}
	for _, n := range names {
		entry(n, 0o100644, files[n])
	}
	entry("TRAILER!!!", 0, nil)
	return b.Bytes()
}

// rpmHeader is an RPM header structure with one string entry.
func rpmHeader(tag uint32, value string) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0})
	store := append([]byte(value), 0)
	binary.Write(&b, binary.BigEndian, []uint32{1, uint32(len(store)), tag, 6, 0, 1})
	b.Write(store)
	return b.Bytes()
}

// rpm builds an RPM package whose payload is cpio compressed by compress.
func rpm(t *testing.T, payload []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	lead := make([]byte, 96)
	copy(lead, []byte{0xed, 0xab, 0xee, 0xdb, 3, 0})
	copy(lead[10:], "ca-test-1-1")
	binary.BigEndian.PutUint16(lead[78:], 5) // signature type: header
	b.Write(lead)
	b.Write(rpmHeader(1000, "x")) // signature header, padded to 8 bytes
	for b.Len()%8 != 0 {
		b.WriteByte(0)
	}
	b.Write(rpmHeader(1125, "gzip")) // PAYLOADCOMPRESSOR
	b.Write(payload)
	return b.Bytes()
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestAddRPM(t *testing.T) {
	ca, server := read(t, "ca.pem"), read(t, "server.pem")
	names := []string{"./usr/share/doc/ca/README", "./usr/share/pki/ca-trust-source/anchors/ca.pem", "./etc/pki/ca-trust/source/anchors/server.crt", "./etc/other/x.pem"}
	files := map[string][]byte{names[0]: []byte("docs"), names[1]: ca, names[2]: server, names[3]: []byte("not read")}
	pkg := rpm(t, gz(cpioNewc(names, files)))

	// bsdtar (libarchive) reads the package as an RPM: the fixture is real.
	if bsdtar, err := exec.LookPath("bsdtar"); err == nil {
		p := filepath.Join(t.TempDir(), "ca.rpm")
		os.WriteFile(p, pkg, 0o644)
		out, err := exec.Command(bsdtar, "-tf", p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "usr/share/pki/ca-trust-source/anchors/ca.pem") {
			t.Fatalf("bsdtar -tf of the test RPM: %v: %s", err, out)
		}
	}

	var s Store
	if err := s.AddRPM("ca.rpm", bytes.NewReader(pkg)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.Certs() {
		got = append(got, c.Subject.CommonName)
	}
	if fmt.Sprint(got) != "[rules_img e2e test CA localhost]" {
		t.Errorf("certificates %v", got)
	}

	var xz bytes.Buffer
	xz.Write([]byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2, 3})
	for _, tc := range []struct {
		name, wantErr string
		data          []byte
	}{
		{"xz payload", "only gzip- or zstd-compressed payloads", rpm(t, xz.Bytes())},
		{"no certificates", "no certificate files below", rpm(t, gz(cpioNewc(names[:1], files)))},
		{"bad certificate", "/etc/pki/ca-trust/source/anchors/server.crt", rpm(t, gz(cpioNewc(names[2:3], map[string][]byte{names[2]: []byte("-----BEGIN CERTIFICATE-----\n!\n-----END CERTIFICATE-----\n")})))},
		{"not an rpm", "not an RPM package", []byte("!<arch>\n")},
		{"truncated payload", "payload", rpm(t, gz(cpioNewc(names, files))[:40])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Store{}).AddRPM("x.rpm", bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "x.rpm: ") {
				t.Errorf("AddRPM() = %v, want an error naming x.rpm with %q", err, tc.wantErr)
			}
		})
	}
}
