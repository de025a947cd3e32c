// Package metadata defines the layer metadata JSON that every layer action
// writes beside its blob. Later actions (manifest, index, deploy) read only
// this file, never the blob.
package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

// Media types of layer blobs.
const (
	MediaTypeTar     = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
)

// Annotation keys of eStargz layers.
const (
	AnnotationTOCDigest        = "containerd.io/snapshot/stargz/toc.digest"
	AnnotationUncompressedSize = "io.containers.estargz.uncompressed-size"
)

// Layer describes one layer blob.
type Layer struct {
	// Name is a human-readable name, usually the Bazel label of the layer.
	Name string `json:"name"`
	// DiffID is the sha256 digest of the uncompressed tar stream.
	DiffID string `json:"diff_id"`
	// MediaType is the OCI media type of the blob.
	MediaType string `json:"mediaType"`
	// Digest is the sha256 digest of the blob as stored.
	Digest string `json:"digest"`
	// Size is the size of the blob in bytes.
	Size int64 `json:"size"`
	// Annotations go into the layer descriptor of the manifest.
	Annotations map[string]string `json:"annotations"`
}

// Media types of Docker and non-distributable layer blobs, accepted in
// metadata of pulled layers.
const (
	MediaTypeDockerTarGzip           = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerTar               = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeDockerTarZstd           = "application/vnd.docker.image.rootfs.diff.tar.zstd"
	MediaTypeDockerForeignTarGzip    = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	MediaTypeNondistributableTar     = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	MediaTypeNondistributableTarGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	MediaTypeNondistributableTarZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
)

// LayerMediaTypes are the media types a layer blob may have: OCI tar,
// tar+gzip and tar+zstd, their non-distributable forms, and the Docker
// rootfs diff types.
var LayerMediaTypes = []string{
	MediaTypeTar, MediaTypeTarGzip, MediaTypeTarZstd,
	MediaTypeNondistributableTar, MediaTypeNondistributableTarGzip, MediaTypeNondistributableTarZstd,
	MediaTypeDockerTar, MediaTypeDockerTarGzip, MediaTypeDockerTarZstd, MediaTypeDockerForeignTarGzip,
}

// MediaTypeInToto is the media type of the "layers" of the attestation
// manifests (platform unknown/unknown) that BuildKit adds to an index. A
// pulled index carries them, so their metadata must read; they are not
// layers of a filesystem, and a new image may not use them (IsLayer).
const MediaTypeInToto = "application/vnd.in-toto+json"

// IsLayer reports whether mediaType is one of LayerMediaTypes, i.e. the
// blob is a tar stream.
func IsLayer(mediaType string) bool { return slices.Contains(LayerMediaTypes, mediaType) }

// IsArtifactBlob reports whether l describes an artifact blob: a file that
// is not a tar stream (an ORAS file, a Helm chart), of a media type outside
// LayerMediaTypes that is well formed (ValidMediaType). Such a blob has no
// uncompressed form, so its diff_id is its digest; only artifact manifests
// (image.WithArtifactType) hold it.
func (l *Layer) IsArtifactBlob() bool {
	return !IsLayer(l.MediaType) && l.MediaType != MediaTypeInToto && ValidMediaType(l.MediaType) && l.DiffID == l.Digest
}

// ValidMediaType reports whether s is a media type of RFC 6838's shape:
// "type/subtype", each a restricted name (letters, digits and
// !#$&-^_.+, starting with a letter or digit, at most 127 bytes), without
// parameters.
func ValidMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && restrictedName(typ) && restrictedName(sub)
}

func restrictedName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i, c := range s {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("!#$&-^_.+", c)) {
			return false
		}
	}
	return true
}

// MaxSize bounds every size in layer metadata (the blob size and the
// eStargz uncompressed size): 1 TiB, far above any real layer, so that a
// corrupt or hostile value is caught before it is used to size anything.
const MaxSize = 1 << 40

// Bounds of the free-form fields.
const (
	maxNameLen        = 4096
	maxAnnotations    = 256
	maxAnnotationLen  = 64 << 10
	maxAnnotationsLen = 1 << 20
)

// fields are the JSON keys of Layer, spelled exactly.
var fields = []string{"name", "diff_id", "mediaType", "digest", "size", "annotations"}

// Validate checks that the fields are well formed. Errors start with
// "field NAME:", naming the JSON field.
func (l *Layer) Validate() error {
	for _, d := range []struct{ field, value string }{{"digest", l.Digest}, {"diff_id", l.DiffID}} {
		if !ValidDigest(d.value) {
			return fmt.Errorf("field %s: %q is not a sha256 digest (\"sha256:\" and 64 lowercase hex digits)", d.field, d.value)
		}
	}
	switch {
	case l.Size <= 0:
		return fmt.Errorf("field size: %d is not positive; a layer blob is never empty", l.Size)
	case l.Size > MaxSize:
		return fmt.Errorf("field size: %d is above the limit of %d bytes", l.Size, int64(MaxSize))
	}
	if !IsLayer(l.MediaType) && l.MediaType != MediaTypeInToto && !l.IsArtifactBlob() {
		return fmt.Errorf("field mediaType: %q is not a layer media type; want one of %s (or %s in pulled attestations)",
			l.MediaType, strings.Join(LayerMediaTypes, ", "), MediaTypeInToto)
	}
	if len(l.Name) > maxNameLen {
		return fmt.Errorf("field name: %d bytes, more than the limit of %d", len(l.Name), maxNameLen)
	}
	if strings.ContainsAny(l.Name, "\x00\n") {
		return fmt.Errorf("field name: %q holds a NUL or newline", l.Name)
	}
	if len(l.Annotations) > maxAnnotations {
		return fmt.Errorf("field annotations: %d entries, more than the limit of %d", len(l.Annotations), maxAnnotations)
	}
	total := 0
	for _, k := range slices.Sorted(maps.Keys(l.Annotations)) {
		v := l.Annotations[k]
		total += len(k) + len(v)
		switch {
		case k == "":
			return fmt.Errorf("field annotations: empty key")
		case len(k) > maxAnnotationLen || len(v) > maxAnnotationLen:
			return fmt.Errorf("field annotations: key %.64q: key or value longer than %d bytes", k, maxAnnotationLen)
		case total > maxAnnotationsLen:
			return fmt.Errorf("field annotations: more than %d bytes of keys and values", maxAnnotationsLen)
		}
	}
	return l.validateEstargz()
}

// validateEstargz checks the eStargz annotations, when present: the TOC
// digest is a sha256 digest of a gzip layer, the uncompressed size a
// decimal number within MaxSize.
func (l *Layer) validateEstargz() error {
	if toc, ok := l.Annotations[AnnotationTOCDigest]; ok {
		if !ValidDigest(toc) {
			return fmt.Errorf("field annotations: %s %q is not a sha256 digest", AnnotationTOCDigest, toc)
		}
		switch l.MediaType {
		case MediaTypeTarGzip, MediaTypeDockerTarGzip:
		default:
			return fmt.Errorf("field annotations: %s on a %s layer; eStargz layers are gzip", AnnotationTOCDigest, l.MediaType)
		}
	}
	if us, ok := l.Annotations[AnnotationUncompressedSize]; ok {
		n, err := strconv.ParseInt(us, 10, 64)
		if err != nil || n < 0 || n > MaxSize || strconv.FormatInt(n, 10) != us {
			return fmt.Errorf("field annotations: %s %q is not a decimal size from 0 to %d", AnnotationUncompressedSize, us, int64(MaxSize))
		}
	}
	return nil
}

// ValidDigest reports whether s is "sha256:" followed by 64 lowercase hex digits.
func ValidDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// maxFileSize bounds a layer metadata file; the writers produce well
// under a kilobyte plus annotations.
const maxFileSize = 4 << 20

// Read decodes a layer metadata file strictly: one JSON object with only
// the fields of Layer, spelled exactly (encoding/json would otherwise match
// keys case-insensitively), and nothing after it; then Validate. Errors
// name the file and, where there is one, the field.
func Read(path string) (*Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("layer metadata: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("layer metadata: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("layer metadata %s: larger than %d bytes", path, maxFileSize)
	}
	l, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("layer metadata %s: %w", path, err)
	}
	return l, nil
}

// Decode decodes and validates layer metadata JSON as Read does.
func Decode(data []byte) (*Layer, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if top == nil {
		return nil, errors.New("not a JSON object: null")
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !slices.Contains(fields, k) {
			return nil, fmt.Errorf("field %q: unknown; layer metadata has %s", k, strings.Join(fields, ", "))
		}
	}
	for _, k := range []string{"diff_id", "mediaType", "digest", "size"} {
		if _, ok := top[k]; !ok {
			return nil, fmt.Errorf("field %s: missing", k)
		}
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l Layer
	if err := dec.Decode(&l); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("field %s: %w", te.Field, err)
		}
		return nil, err
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return &l, nil
}

// Write validates l and encodes it to path atomically. Map keys are sorted by encoding/json,
// so equal metadata gives equal bytes.
func Write(path string, l *Layer) error {
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	// What is written must read back.
	if err := l.Validate(); err != nil {
		return fmt.Errorf("layer metadata %s: %w", path, err)
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("layer metadata %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}
