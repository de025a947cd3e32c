// Package jsondoc reads and writes the JSON documents of image assembly.
// Input files (manifests, configs, fragments, templates, descriptors) are
// read up to MaxInputSize, so that a hostile input cannot make a build
// action use unbounded memory, and decoded with nothing after the value.
// Output documents (Blob) are written compactly, atomically and checked
// against their descriptors.
package jsondoc

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

// Blob is one JSON document exactly as it is written, with its descriptor.
type Blob struct {
	// Data are the bytes of the document; the digest and size of
	// Descriptor are computed from them.
	Data []byte
	// Descriptor describes Data. Its Platform is set for image manifests
	// and nil for configs and indexes.
	Descriptor ocispec.Descriptor
}

// New marshals v compactly (map keys sorted) and describes the result
// with mediaType and platform (nil for configs and indexes).
func New(mediaType string, v any, platform *ocispec.Platform) (Blob, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Blob{}, fmt.Errorf("encode %s: %w", mediaType, err)
	}
	return Blob{
		Data: data,
		Descriptor: ocispec.Descriptor{
			MediaType: mediaType,
			Digest:    ocispec.FromBytes(data),
			Size:      int64(len(data)),
			Platform:  platform,
		},
	}, nil
}

// Write writes the blob's data, its descriptor as JSON, and its digest
// ("sha256:<hex>", no newline) to the given paths; an empty path is
// skipped. Each file is written atomically, and the data file is checked
// against the descriptor's size and digest before it is renamed into place.
// Files written before an error are left in place.
func (b Blob) Write(dataPath, descriptorPath, digestPath string) error {
	if dataPath != "" {
		if err := writeChecked(dataPath, b.Data, b.Descriptor); err != nil {
			return err
		}
	}
	if descriptorPath != "" {
		desc, err := json.Marshal(b.Descriptor)
		if err != nil {
			return fmt.Errorf("descriptor %s: %w", descriptorPath, err)
		}
		if err := atomicfile.WriteFile(descriptorPath, desc, 0o644); err != nil {
			return err
		}
	}
	if digestPath != "" {
		if err := atomicfile.WriteFile(digestPath, []byte(b.Descriptor.Digest), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeChecked writes data to path atomically, hashing what goes through
// the file, and renames it into place only if size and digest match want.
func writeChecked(path string, data []byte, want ocispec.Descriptor) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	h := sha256.New()
	w := hashingWriter{f: f, h: h}
	n, err := w.Write(data)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	got := ocispec.NewDigest(ocispec.SHA256, h)
	if int64(n) != want.Size || got != want.Digest {
		return fmt.Errorf("write %s: wrote %d bytes with digest %s, want %d bytes with digest %s",
			path, n, got, want.Size, want.Digest)
	}
	return f.Commit()
}

type hashingWriter struct {
	f *atomicfile.File
	h hash.Hash
}

func (w hashingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	return n, err
}

// Read reads path (see ReadFile) and decodes it into v (see Decode). With
// strict set, unknown fields anywhere are errors. Data after the first JSON
// value is an error.
func Read(path string, v any, strict bool) error {
	data, err := ReadFile(path)
	if err != nil {
		return err
	}
	return Decode(data, v, strict)
}

// MaxInputSize bounds every JSON file read by ReadFile and Read (manifests,
// configs, fragments, templates, descriptors): 16 MiB, far above real
// ones, so that a hostile input cannot make a build action use unbounded
// memory.
const MaxInputSize = 16 << 20

// ReadFile reads path, failing for files above MaxInputSize; the error
// names the file.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInputSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxInputSize)
	}
	return data, nil
}

// Decode decodes one JSON value from data into v. With strict set,
// unknown fields anywhere are errors. Data after the value is an error.
func Decode(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// ValidateDescriptor checks the fields every descriptor needs: a media
// type, a valid digest and a size that is not negative.
func ValidateDescriptor(d *ocispec.Descriptor) error {
	if d.MediaType == "" {
		return errors.New("mediaType is empty")
	}
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("digest %q: %w", d.Digest, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("size %d is negative", d.Size)
	}
	return nil
}
