// Package truststore reads CA certificates (PEM, DER, PKCS#7 and Debian
// packages of them) and lays them out as a system trust store: one PEM
// bundle, OpenSSL's hashed certificate directory and a PKCS#12 Java
// truststore.
package truststore

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrInvalidArgument marks input that is not what it should be: a file
// that is not a certificate, a broken package.
var ErrInvalidArgument = errors.New("invalid argument")

// maxInput bounds one certificate file or package member read into memory.
const maxInput = 64 << 20

// Store is an ordered set of certificates: the first occurrence of each
// (by the SHA-256 of its DER) keeps its place.
type Store struct {
	certs []*x509.Certificate
	seen  map[[sha256.Size]byte]bool
}

// Certs returns the certificates in the order first added.
func (s *Store) Certs() []*x509.Certificate { return s.certs }

func (s *Store) add(c *x509.Certificate) {
	if s.seen == nil {
		s.seen = map[[sha256.Size]byte]bool{}
	}
	k := sha256.Sum256(c.Raw)
	if s.seen[k] {
		return
	}
	s.seen[k] = true
	s.certs = append(s.certs, c)
}

// Add parses data (named name in errors) as PEM, DER or PKCS#7 and adds
// its certificates. A PEM file may hold any number of blocks; blocks that
// are not certificates (keys, CRLs) are skipped. Input holding no
// certificate, or a certificate block that does not parse, is an error.
func (s *Store) Add(name string, data []byte) error {
	certs, err := Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, c := range certs {
		s.add(c)
	}
	return nil
}

// Parse returns the certificates of a PEM, DER or PKCS#7 input.
func Parse(data []byte) ([]*x509.Certificate, error) {
	if len(data) > maxInput {
		return nil, fmt.Errorf("larger than %d bytes: %w", maxInput, ErrInvalidArgument)
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return parsePEM(data)
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		return []*x509.Certificate{c}, nil
	}
	if certs, err := parsePKCS7(data); err == nil {
		if len(certs) == 0 {
			return nil, fmt.Errorf("PKCS#7 holds no certificate: %w", ErrInvalidArgument)
		}
		return certs, nil
	}
	return nil, fmt.Errorf("not a PEM, DER or PKCS#7 certificate file: %w", ErrInvalidArgument)
}

func parsePEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		switch b.Type {
		case "CERTIFICATE", "TRUSTED CERTIFICATE":
			der := b.Bytes
			if b.Type == "TRUSTED CERTIFICATE" {
				// OpenSSL's trusted form: the certificate, then its trust
				// settings; only the certificate is kept.
				var first asn1.RawValue
				if _, err := asn1.Unmarshal(der, &first); err != nil {
					return nil, fmt.Errorf("PEM block %d (%s): %w: %w", n, b.Type, err, ErrInvalidArgument)
				}
				der = first.FullBytes
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d (%s): %w: %w", n, b.Type, err, ErrInvalidArgument)
			}
			out = append(out, c)
		case "PKCS7":
			certs, err := parsePKCS7(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d (PKCS7): %w", n, err)
			}
			out = append(out, certs...)
		}
	}
	if bytes.Contains(rest, []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("PEM block %d does not decode (bad base64 or no END line): %w", n+1, ErrInvalidArgument)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate among %d PEM blocks: %w", n, ErrInvalidArgument)
	}
	return out, nil
}

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// parsePKCS7 reads the certificates of a PKCS#7 SignedData (a "certs-only"
// .p7b/.p7c file); signatures are not checked, nothing else is read.
func parsePKCS7(der []byte) ([]*x509.Certificate, error) {
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("not PKCS#7: %w", ErrInvalidArgument)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("PKCS#7 content type %v is not SignedData: %w", ci.ContentType, ErrInvalidArgument)
	}
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      asn1.RawValue
		Certificates     asn1.RawValue `asn1:"optional,tag:0"`
		CRLs             asn1.RawValue `asn1:"optional,tag:1"`
		SignerInfos      asn1.RawValue
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("PKCS#7 SignedData: %w: %w", err, ErrInvalidArgument)
	}
	var out []*x509.Certificate
	body := sd.Certificates.Bytes
	for len(body) > 0 {
		var raw asn1.RawValue
		body, err = asn1.Unmarshal(body, &raw)
		if err != nil {
			return nil, fmt.Errorf("PKCS#7 certificate %d: %w: %w", len(out)+1, err, ErrInvalidArgument)
		}
		c, err := x509.ParseCertificate(raw.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS#7 certificate %d: %w: %w", len(out)+1, err, ErrInvalidArgument)
		}
		out = append(out, c)
	}
	return out, nil
}
