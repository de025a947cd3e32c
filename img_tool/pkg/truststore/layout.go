package truststore

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Layout selects the files a trust store is written as.
type Layout struct {
	// Bundle writes every certificate, PEM-encoded, into BundlePath.
	Bundle     bool
	BundlePath string
	// Exploded writes one PEM file per certificate into ExplodedDir, plus
	// the <subject hash>.<n> symlinks OpenSSL looks certificates up by.
	Exploded    bool
	ExplodedDir string
	// JavaKeystore writes a PKCS#12 truststore of trusted-certificate
	// entries to JavaKeystorePath, its integrity protected by
	// JavaKeystorePassword.
	JavaKeystore         bool
	JavaKeystorePath     string
	JavaKeystorePassword string
	// Mode of the written files.
	Mode int64
}

// Entries lays the certificates of s out as base image entries. Equal
// certificates in equal order give equal bytes, the Java truststore
// included (its salts come from a generator seeded with the certificates).
func Entries(s *Store, l Layout) ([]baseimage.Entry, error) {
	certs := s.Certs()
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificates: %w", ErrInvalidArgument)
	}
	var out []baseimage.Entry
	if l.Bundle {
		p, err := baseimage.CleanPath(l.BundlePath)
		if err != nil {
			return nil, fmt.Errorf("bundle_path: %w", err)
		}
		var b strings.Builder
		for _, c := range certs {
			b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
		out = append(out, baseimage.File(p, l.Mode, []byte(b.String())))
	}
	if l.Exploded {
		dir, err := baseimage.CleanPath(l.ExplodedDir)
		if err != nil {
			return nil, fmt.Errorf("exploded_dir: %w", err)
		}
		names := map[string]bool{}
		if b, err := baseimage.CleanPath(l.BundlePath); err == nil && l.Bundle && path.Dir(b) == dir {
			names[path.Base(b)] = true
		}
		hashes := map[uint32]int{}
		for _, c := range certs {
			name := uniqueName(names, fileStem(c), ".pem")
			out = append(out, baseimage.File(dir+"/"+name, l.Mode, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
			h, err := SubjectHash(c)
			if err != nil {
				return nil, err
			}
			out = append(out, baseimage.Symlink(fmt.Sprintf("%s/%08x.%d", dir, h, hashes[h]), name))
			hashes[h]++
		}
	}
	if l.JavaKeystore {
		p, err := baseimage.CleanPath(l.JavaKeystorePath)
		if err != nil {
			return nil, fmt.Errorf("java_keystore_path: %w", err)
		}
		ks, err := JavaTrustStore(certs, l.JavaKeystorePassword)
		if err != nil {
			return nil, err
		}
		out = append(out, baseimage.File(p, l.Mode, ks))
	}
	return out, nil
}

// JavaTrustStore encodes certs as a PKCS#12 truststore (PBES2, AES-256,
// HMAC-SHA-256: what Java 8u301, 11.0.12 and later read) with one trusted
// certificate entry per certificate, aliased after its subject. The
// output depends only on certs and password.
func JavaTrustStore(certs []*x509.Certificate, password string) ([]byte, error) {
	seed := sha256.New()
	seed.Write([]byte("rules_img java truststore\x00" + password + "\x00"))
	names := map[string]bool{}
	var entries []pkcs12.TrustStoreEntry
	for _, c := range certs {
		seed.Write(c.Raw)
		entries = append(entries, pkcs12.TrustStoreEntry{Cert: c, FriendlyName: uniqueName(names, strings.ToLower(fileStem(c)), "")})
	}
	rng := rand.NewChaCha8([32]byte(seed.Sum(nil)))
	ks, err := pkcs12.Modern2023.WithRand(rng).EncodeTrustStoreEntries(entries, password)
	if err != nil {
		return nil, fmt.Errorf("java truststore: %w", err)
	}
	return ks, nil
}

// fileStem names a certificate after its subject's common name (or
// organization), with characters other than letters, digits, '.', '-'
// and '_' replaced by '_'.
func fileStem(c *x509.Certificate) string {
	n := c.Subject.CommonName
	if n == "" && len(c.Subject.Organization) > 0 {
		n = c.Subject.Organization[0]
	}
	var b strings.Builder
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "._")
	if s == "" {
		s = fmt.Sprintf("cert_%x", sha256.Sum256(c.Raw))[:17]
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// uniqueName returns stem+ext, or stem_2+ext, stem_3+ext... whichever is
// not yet in taken, and records it.
func uniqueName(taken map[string]bool, stem, ext string) string {
	name := stem + ext
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s_%d%s", stem, i, ext)
	}
	taken[name] = true
	return path.Base(name)
}
