package reapi

import (
	"fmt"
	"strconv"
	"strings"
)

// Digest names a blob of the CAS: the lowercase hex SHA-256 of its content
// and its size. An OCI descriptor with a sha256 digest names the same blob.
type Digest struct {
	Hash      string
	SizeBytes int64
}

// String is "HASH/SIZE", the form of ByteStream resource names.
func (d Digest) String() string { return d.Hash + "/" + strconv.FormatInt(d.SizeBytes, 10) }

// OCI is the digest as OCI descriptors write it: "sha256:HASH".
func (d Digest) OCI() string { return "sha256:" + d.Hash }

// FromOCI converts an OCI digest ("sha256:HASH") and size.
func FromOCI(digest string, size int64) (Digest, error) {
	hash, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || !validHash(hash) {
		return Digest{}, fmt.Errorf("digest %q: want sha256: and 64 lowercase hex digits", digest)
	}
	if size < 0 {
		return Digest{}, fmt.Errorf("digest %s: negative size %d", digest, size)
	}
	return Digest{Hash: hash, SizeBytes: size}, nil
}

// ParseDigest parses "HASH/SIZE".
func ParseDigest(s string) (Digest, error) {
	hash, size, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(size, 10, 64)
	if !ok || err != nil || n < 0 || !validHash(hash) {
		return Digest{}, fmt.Errorf("CAS digest %q: want HASH/SIZE with a lowercase hex sha256", s)
	}
	return Digest{Hash: hash, SizeBytes: n}, nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
