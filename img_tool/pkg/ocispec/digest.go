// Package ocispec holds the OCI image-spec documents the build actions
// write and read (descriptor, manifest, index, image config) and content
// digests.
//
// The types marshal to the same JSON bytes as the image-spec and
// go-digest modules (the tests check that against them), so the digests
// of written documents do not depend on which is used. They exist so that
// the build-action tool does not link those modules: go-digest compiles
// regular expressions, and with them the Unicode tables, when a process
// starts, and every one of the thousands of short build actions of a
// large build would pay for that. The deploy code, which talks to
// registries and daemons through libraries built on go-digest, keeps
// using it.
package ocispec

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
)

// Algorithm names a digest algorithm: "sha256", "sha384" or "sha512".
type Algorithm string

// The algorithms that Validate and Algorithm.FromBytes know.
const (
	SHA256 Algorithm = "sha256"
	SHA384 Algorithm = "sha384"
	SHA512 Algorithm = "sha512"
)

// Errors of Digest.Validate (wrapped in nothing: compare with errors.Is).
var (
	ErrDigestInvalidFormat = errors.New("invalid checksum digest format")
	ErrDigestInvalidLength = errors.New("invalid checksum digest length")
	ErrDigestUnsupported   = errors.New("unsupported digest algorithm")
)

// newHash returns a new hash of a, or nil if a is not a known algorithm.
func (a Algorithm) newHash() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New()
	case SHA384:
		return sha512.New384()
	case SHA512:
		return sha512.New()
	}
	return nil
}

// hexLen is the length of an encoded digest of a, 0 if a is unknown.
func (a Algorithm) hexLen() int {
	switch a {
	case SHA256:
		return 2 * sha256.Size
	case SHA384:
		return 2 * sha512.Size384
	case SHA512:
		return 2 * sha512.Size
	}
	return 0
}

// FromBytes is the digest of b with a, or "" if a is not a known
// algorithm (so it never equals a digest read from a document).
func (a Algorithm) FromBytes(b []byte) Digest {
	h := a.newHash()
	if h == nil {
		return ""
	}
	h.Write(b)
	return NewDigest(a, h)
}

// Digest is a content digest, "ALGORITHM:ENCODED", e.g.
// "sha256:e3b0c442...". Its zero value is the empty string, which is not
// valid.
type Digest string

// FromBytes is the sha256 digest of b.
func FromBytes(b []byte) Digest {
	sum := sha256.Sum256(b)
	return Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// NewDigest is the digest in h, a hash of algorithm a.
func NewDigest(a Algorithm, h hash.Hash) Digest {
	return Digest(string(a) + ":" + hex.EncodeToString(h.Sum(nil)))
}

// String is the digest as it is written.
func (d Digest) String() string { return string(d) }

// Algorithm is the part before the first ":", or all of d if it has none.
func (d Digest) Algorithm() Algorithm {
	a, _, _ := strings.Cut(string(d), ":")
	return Algorithm(a)
}

// Encoded is the part after the first ":", or "" if d has none.
func (d Digest) Encoded() string {
	_, e, _ := strings.Cut(string(d), ":")
	return e
}

// Validate checks that d is a digest of a known algorithm with an
// encoded part of the right length in lowercase hex. An unknown
// algorithm is ErrDigestUnsupported when d is otherwise well formed
// (ALGORITHM of lowercase letters and digits, joined by one of ".+_-";
// ENCODED of letters, digits and "=_-"), else ErrDigestInvalidFormat.
func (d Digest) Validate() error {
	a, encoded, ok := strings.Cut(string(d), ":")
	if !ok || a == "" || encoded == "" {
		return ErrDigestInvalidFormat
	}
	n := Algorithm(a).hexLen()
	if n == 0 {
		if !wellFormed(a, encoded) {
			return ErrDigestInvalidFormat
		}
		return ErrDigestUnsupported
	}
	if len(encoded) != n {
		return ErrDigestInvalidLength
	}
	for i := 0; i < len(encoded); i++ {
		if c := encoded[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ErrDigestInvalidFormat
		}
	}
	return nil
}

// wellFormed reports whether a and encoded have the grammar of the OCI
// image spec's digest: algorithm components of [a-z0-9]+ separated by
// single characters of [.+_-], and an encoded part of [a-zA-Z0-9=_-]+.
func wellFormed(a, encoded string) bool {
	lower := func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
	prevSep := true // a may not start with a separator
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case lower(c):
			prevSep = false
		case strings.IndexByte(".+_-", c) >= 0 && !prevSep:
			prevSep = true
		default:
			return false
		}
	}
	if prevSep {
		return false
	}
	for i := 0; i < len(encoded); i++ {
		c := encoded[i]
		if !(lower(c) || 'A' <= c && c <= 'Z' || c == '=' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
