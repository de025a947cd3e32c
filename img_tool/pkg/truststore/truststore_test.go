package truststore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// selfSigned makes a CA certificate with the given subject.
func selfSigned(t *testing.T, subject pkix.Name) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: subject, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func TestParse(t *testing.T) {
	ca, server := read(t, "ca.pem"), read(t, "server.pem")
	key := []byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n")
	for _, tc := range []struct {
		name    string
		data    []byte
		want    []string // common names
		wantErr string
	}{
		{"pem", ca, []string{"rules_img e2e test CA"}, ""},
		{"two pem blocks and a key", append(append(append([]byte{}, ca...), key...), server...), []string{"rules_img e2e test CA", "localhost"}, ""},
		{"der", read(t, "ca.der"), []string{"rules_img e2e test CA"}, ""},
		{"pkcs7 der", read(t, "chain.p7b"), []string{"rules_img e2e test CA", "localhost"}, ""},
		{"pkcs7 pem", pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: read(t, "chain.p7b")}), []string{"rules_img e2e test CA", "localhost"}, ""},
		{"only a key", key, nil, "no certificate among 1 PEM blocks"},
		{"bad base64", []byte("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"), nil, "PEM block 1 does not decode"},
		{"certificate block of garbage", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}), nil, "PEM block 1 (CERTIFICATE)"},
		{"garbage", []byte("hello"), nil, "not a PEM, DER or PKCS#7"},
		{"empty", nil, nil, "not a PEM, DER or PKCS#7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := Parse(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("Parse() = %v, want an ErrInvalidArgument containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range certs {
				got = append(got, c.Subject.CommonName)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStoreDeduplicatesAndNamesTheFile(t *testing.T) {
	var s Store
	ca := read(t, "ca.pem")
	if err := s.Add("a.pem", ca); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("chain.p7b", read(t, "chain.p7b")); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Certs()); n != 2 {
		t.Errorf("%d certificates, want 2 (the CA once)", n)
	}
	err := s.Add("broken.pem", []byte("x"))
	if err == nil || !strings.HasPrefix(err.Error(), "broken.pem: ") {
		t.Errorf("Add() = %v, want an error naming broken.pem", err)
	}
}

func TestSubjectHash(t *testing.T) {
	// Values of `openssl x509 -hash`.
	for file, want := range map[string]uint32{"ca.pem": 0xab3e8be6, "server.pem": 0xce275665} {
		certs, err := Parse(read(t, file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := SubjectHash(certs[0])
		if err != nil || got != want {
			t.Errorf("%s: SubjectHash() = %08x, %v, want %08x", file, got, err, want)
		}
	}
	// Case and whitespace do not change the hash (OpenSSL canonicalizes).
	a := selfSigned(t, pkix.Name{CommonName: "Example  CA ", Organization: []string{"ACME"}})
	b := selfSigned(t, pkix.Name{CommonName: "example ca", Organization: []string{"acme"}})
	c := selfSigned(t, pkix.Name{CommonName: "example ca2", Organization: []string{"acme"}})
	ha, _ := SubjectHash(a)
	hb, _ := SubjectHash(b)
	hc, _ := SubjectHash(c)
	if ha != hb || ha == hc {
		t.Errorf("hashes %08x %08x %08x: want the first two equal, the third different", ha, hb, hc)
	}
}

// TestSubjectHashSystemStore compares with the links `update-ca-certificates`
// made in /etc/ssl/certs, when the host has them.
func TestSubjectHashSystemStore(t *testing.T) {
	links, _ := filepath.Glob("/etc/ssl/certs/*.0")
	if len(links) == 0 {
		t.Skip("no /etc/ssl/certs/*.0 on this host")
	}
	for _, l := range links {
		data, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		certs, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", l, err)
			continue
		}
		h, err := SubjectHash(certs[0])
		if got := fmt.Sprintf("%08x.0", h); err != nil || got != filepath.Base(l) {
			t.Errorf("%s: SubjectHash gives %s, %v", l, got, err)
		}
	}
}

func TestEntries(t *testing.T) {
	var s Store
	a := selfSigned(t, pkix.Name{CommonName: "Same Name"})
	b := selfSigned(t, pkix.Name{CommonName: "Same Name"})
	for i, c := range []*x509.Certificate{a, b, a} {
		if err := s.Add(fmt.Sprint(i), pemOf(c)); err != nil {
			t.Fatal(err)
		}
	}
	l := Layout{Bundle: true, BundlePath: "/etc/ssl/certs/ca-certificates.crt", Exploded: true, ExplodedDir: "/etc/ssl/certs", JavaKeystore: true, JavaKeystorePath: "/etc/ssl/certs/java/cacerts", JavaKeystorePassword: "changeit", Mode: 0o644}
	es, err := Entries(&s, l)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := SubjectHash(a)
	byPath := map[string]baseimage.Entry{}
	var paths []string
	for _, e := range es {
		byPath[e.Path] = e
		paths = append(paths, e.Path)
	}
	want := []string{
		"etc/ssl/certs/ca-certificates.crt",
		"etc/ssl/certs/Same_Name.pem", fmt.Sprintf("etc/ssl/certs/%08x.0", h),
		"etc/ssl/certs/Same_Name_2.pem", fmt.Sprintf("etc/ssl/certs/%08x.1", h),
		"etc/ssl/certs/java/cacerts",
	}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	if got := string(byPath[want[0]].Content); got != string(pemOf(a))+string(pemOf(b)) {
		t.Errorf("bundle: %q", got)
	}
	if e := byPath[want[4]]; e.Type != baseimage.TypeSymlink || e.Link != "Same_Name_2.pem" {
		t.Errorf(".1 link: %+v", e)
	}
	ks := byPath[want[5]].Content
	certs, err := pkcs12.DecodeTrustStore(ks, "changeit")
	if err != nil || len(certs) != 2 || !certs[0].Equal(a) || !certs[1].Equal(b) {
		t.Errorf("DecodeTrustStore: %d certs, %v", len(certs), err)
	}
	again, err := Entries(&s, l)
	if err != nil || !bytes.Equal(again[len(again)-1].Content, ks) {
		t.Errorf("the Java truststore differs between two runs: %v", err)
	}
	if _, err := Entries(&Store{}, l); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Entries(empty) = %v, want ErrInvalidArgument", err)
	}
}

// deb builds a Debian package whose data tar (named member) holds files.
func deb(t *testing.T, member string, files map[string][]byte) []byte {
	t.Helper()
	var data bytes.Buffer
	gz := gzip.NewWriter(&data)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"./usr/share/ca-certificates/mozilla/A.crt", "./usr/share/doc/ca-certificates/README", "./etc/x.crt"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.Close()
	gz.Close()
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	add := func(name string, body []byte) {
		fmt.Fprintf(&out, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", name, "0", "0", "0", "100644", len(body))
		out.Write(body)
		if len(body)%2 == 1 {
			out.WriteByte('\n')
		}
	}
	add("debian-binary", []byte("2.0\n"))
	add("control.tar.gz", []byte("x"))
	add(member, data.Bytes())
	return out.Bytes()
}

func TestAddDeb(t *testing.T) {
	ca := read(t, "ca.pem")
	files := map[string][]byte{
		"./usr/share/ca-certificates/mozilla/A.crt": ca,
		"./usr/share/doc/ca-certificates/README":    []byte("not a certificate"),
		"./etc/x.crt":                               []byte("outside the certificate directories"),
	}
	var s Store
	if err := s.AddDeb("ca.deb", bytes.NewReader(deb(t, "data.tar.gz", files))); err != nil {
		t.Fatal(err)
	}
	if len(s.Certs()) != 1 || s.Certs()[0].Subject.CommonName != "rules_img e2e test CA" {
		t.Errorf("certs %v", s.Certs())
	}
	for _, tc := range []struct {
		name, wantErr string
		data          []byte
	}{
		{"xz", "only gzip, zstd or uncompressed data tars", deb(t, "data.tar.xz", files)},
		{"not a deb", "not a Debian package", []byte("hello world")},
		{"no certificates", "no certificate files below", deb(t, "data.tar.gz", map[string][]byte{"./usr/share/doc/ca-certificates/README": []byte("x")})},
		{"bad certificate", "/usr/share/ca-certificates/mozilla/A.crt", deb(t, "data.tar.gz", map[string][]byte{"./usr/share/ca-certificates/mozilla/A.crt": []byte("-----BEGIN CERTIFICATE-----\n!\n")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Store{}).AddDeb("x.deb", bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "x.deb: ") {
				t.Errorf("AddDeb() = %v, want an error naming x.deb with %q", err, tc.wantErr)
			}
		})
	}
}
