package truststore

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ASN.1 string tags whose values OpenSSL canonicalizes before hashing a
// name (its ASN1_MASK_CANON).
const (
	tagUTF8      = 12
	tagPrintable = 19
	tagT61       = 20
	tagIA5       = 22
	tagVisible   = 26
	tagUniversal = 28
	tagBMP       = 30
)

// SubjectHash is OpenSSL's X509_NAME_hash of the certificate's subject
// (`openssl x509 -subject_hash`): the first four bytes, little-endian, of
// the SHA-1 of the name's canonical encoding. c_rehash and
// `openssl rehash` name the links of a certificate directory after it.
func SubjectHash(c *x509.Certificate) (uint32, error) {
	canon, err := canonicalName(c.RawSubject)
	if err != nil {
		return 0, fmt.Errorf("subject %q: %w", c.Subject, err)
	}
	sum := sha1.Sum(canon)
	return binary.LittleEndian.Uint32(sum[:4]), nil
}

// canonicalName is OpenSSL's x509_name_canon: each RDN as a DER SET of
// (type, value) sequences, string values as lower-cased UTF8Strings with
// outer whitespace trimmed and inner runs collapsed, concatenated without
// the outer SEQUENCE.
func canonicalName(raw []byte) ([]byte, error) {
	var name asn1.RawValue
	if rest, err := asn1.Unmarshal(raw, &name); err != nil || len(rest) != 0 || name.Tag != asn1.TagSequence {
		return nil, fmt.Errorf("not a DER name: %w", ErrInvalidArgument)
	}
	var out []byte
	body := name.Bytes
	for len(body) > 0 {
		var rdn asn1.RawValue
		var err error
		if body, err = asn1.Unmarshal(body, &rdn); err != nil || rdn.Tag != asn1.TagSet {
			return nil, fmt.Errorf("bad RDN: %w", ErrInvalidArgument)
		}
		var members [][]byte
		inner := rdn.Bytes
		for len(inner) > 0 {
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			if inner, err = asn1.Unmarshal(inner, &atv); err != nil {
				return nil, fmt.Errorf("bad attribute: %w: %w", err, ErrInvalidArgument)
			}
			v := atv.Value
			if v.Class == asn1.ClassUniversal && isCanonTag(v.Tag) {
				s, err := toUTF8(v.Tag, v.Bytes)
				if err != nil {
					return nil, err
				}
				v = asn1.RawValue{Class: asn1.ClassUniversal, Tag: tagUTF8, Bytes: []byte(canonString(s))}
			} else {
				v = asn1.RawValue{FullBytes: v.FullBytes}
			}
			enc, err := asn1.Marshal(struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}{atv.Type, v})
			if err != nil {
				return nil, err
			}
			members = append(members, enc)
		}
		// DER orders the members of a SET OF by their encodings.
		slices.SortFunc(members, bytes.Compare)
		set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(members, nil)})
		if err != nil {
			return nil, err
		}
		out = append(out, set...)
	}
	return out, nil
}

func isCanonTag(t int) bool {
	switch t {
	case tagUTF8, tagPrintable, tagT61, tagIA5, tagVisible, tagUniversal, tagBMP:
		return true
	}
	return false
}

// toUTF8 decodes an ASN.1 string as OpenSSL's ASN1_STRING_to_UTF8 does:
// BMPString is UCS-2, UniversalString UCS-4 (both big-endian), T61String
// Latin-1, the rest bytes as they are.
func toUTF8(tag int, b []byte) (string, error) {
	switch tag {
	case tagBMP:
		if len(b)%2 != 0 {
			return "", fmt.Errorf("BMPString of odd length: %w", ErrInvalidArgument)
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u)), nil
	case tagUniversal:
		if len(b)%4 != 0 {
			return "", fmt.Errorf("UniversalString of bad length: %w", ErrInvalidArgument)
		}
		var sb strings.Builder
		for i := 0; i < len(b); i += 4 {
			sb.WriteRune(rune(binary.BigEndian.Uint32(b[i:])))
		}
		return sb.String(), nil
	case tagT61:
		var sb strings.Builder
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	case tagUTF8:
		if !utf8.Valid(b) {
			return "", fmt.Errorf("invalid UTF8String: %w", ErrInvalidArgument)
		}
	}
	return string(b), nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// canonString trims ASCII whitespace, collapses inner runs of it to one
// space and lower-cases ASCII letters; other bytes stay.
func canonString(s string) string {
	b := []byte(s)
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c >= 0x80:
			out = append(out, c)
			i++
		case isSpace(c):
			out = append(out, ' ')
			for i < len(b) && isSpace(b[i]) {
				i++
			}
		default:
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			out = append(out, c)
			i++
		}
	}
	return string(out)
}
