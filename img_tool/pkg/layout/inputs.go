package layout

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Media types of Docker's image format, which the OCI types stand in for.
const (
	dockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// image is a loaded Image: both files read, parsed and checked against
// each other.
type image struct {
	Image
	raw       []byte // the manifest file
	digest    string // of raw
	mediaType string
	manifest  ocispec.Manifest
	config    []byte
	platform  *ocispec.Platform // from the config; nil if it names no os and architecture
	diffIDs   []string          // from the config
}

// descriptor is the descriptor of the manifest, with its platform.
func (im *image) descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: im.mediaType,
		Digest:    digestOf(im.digest),
		Size:      int64(len(im.raw)),
		Platform:  im.platform,
	}
}

func sha256Digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// blobName is the path of a blob in the tree. d must be a valid digest.
func blobName(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }

// checkDigest rejects digests that are not sha256 (which also keeps the
// blob names inside blobs/sha256/).
func checkDigest(what, d string) error {
	if !metadata.ValidDigest(d) {
		return fmt.Errorf("%s: digest %q is not a sha256 digest: %w", what, d, ErrInvalidArgument)
	}
	return nil
}

func loadImage(img Image) (*image, error) {
	raw, err := os.ReadFile(img.Manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	im := &image{Image: img, raw: raw, digest: sha256Digest(raw)}
	if err := json.Unmarshal(raw, &im.manifest); err != nil {
		return nil, fmt.Errorf("manifest %s: %v: %w", img.Manifest, err, ErrInvalidArgument)
	}
	m := &im.manifest
	im.mediaType = m.MediaType
	if im.mediaType == "" {
		im.mediaType = ocispec.MediaTypeImageManifest
	}
	if m.SchemaVersion != 2 || im.mediaType != ocispec.MediaTypeImageManifest && im.mediaType != dockerManifest {
		return nil, fmt.Errorf("manifest %s: schemaVersion %d, mediaType %q: not an image manifest: %w",
			img.Manifest, m.SchemaVersion, m.MediaType, ErrInvalidArgument)
	}
	if err := checkDigest("manifest "+img.Manifest+": config", string(m.Config.Digest)); err != nil {
		return nil, err
	}
	for i, l := range m.Layers {
		if err := checkDigest(fmt.Sprintf("manifest %s: layer %d", img.Manifest, i), string(l.Digest)); err != nil {
			return nil, err
		}
	}
	im.config, err = os.ReadFile(img.Config)
	if err != nil {
		return nil, fmt.Errorf("config of manifest %s: %w", img.Manifest, err)
	}
	if d, n := sha256Digest(im.config), int64(len(im.config)); d != string(m.Config.Digest) || n != m.Config.Size {
		return nil, fmt.Errorf("config %s is %s (%d bytes), but manifest %s names config %s (%d bytes): %w",
			img.Config, d, n, img.Manifest, m.Config.Digest, m.Config.Size, ErrMismatch)
	}
	var c struct {
		OS         string   `json:"os"`
		Arch       string   `json:"architecture"`
		Variant    string   `json:"variant"`
		OSVersion  string   `json:"os.version"`
		OSFeatures []string `json:"os.features"`
		RootFS     struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(im.config, &c); err != nil {
		return nil, fmt.Errorf("config %s: %v: %w", img.Config, err, ErrInvalidArgument)
	}
	if c.OS != "" && c.Arch != "" {
		im.platform = &ocispec.Platform{OS: c.OS, Architecture: c.Arch, Variant: c.Variant, OSVersion: c.OSVersion, OSFeatures: c.OSFeatures}
	}
	im.diffIDs = c.RootFS.DiffIDs
	return im, nil
}

// layerBlob finds the blob of layer i of im. It returns nil if none was
// given, and an error if the metadata disagrees with the descriptor.
func (im *image) layerBlob(layers layerSet, i int) (*Layer, error) {
	desc := im.manifest.Layers[i]
	l := layers[string(desc.Digest)]
	if l == nil {
		return nil, nil
	}
	if l.Metadata.Size != desc.Size {
		return nil, fmt.Errorf("layer %s: metadata (blob %s) says %d bytes, manifest %s says %d: %w",
			desc.Digest, l.Blob, l.Metadata.Size, im.Manifest, desc.Size, ErrMismatch)
	}
	return l, nil
}

// index is a loaded image index whose manifests are all given.
type index struct {
	path      string
	raw       []byte
	digest    string
	mediaType string
	images    []*image // in the order of the index
}

func (ix *index) descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ix.mediaType, Digest: digestOf(ix.digest), Size: int64(len(ix.raw))}
}

// loadIndex reads the index at path and matches every entry with one of
// images by digest. Every entry must be found and every image listed.
func loadIndex(path string, images []*image) (*index, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	ix := &index{path: path, raw: raw, digest: sha256Digest(raw)}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("index %s: %v: %w", path, err, ErrInvalidArgument)
	}
	ix.mediaType = idx.MediaType
	if ix.mediaType == "" {
		ix.mediaType = ocispec.MediaTypeImageIndex
	}
	if idx.SchemaVersion != 2 || ix.mediaType != ocispec.MediaTypeImageIndex && ix.mediaType != dockerManifestList {
		return nil, fmt.Errorf("index %s: schemaVersion %d, mediaType %q: not an image index: %w",
			path, idx.SchemaVersion, idx.MediaType, ErrInvalidArgument)
	}
	byDigest := make(map[string]*image, len(images))
	for _, im := range images {
		byDigest[im.digest] = im
	}
	listed := make(map[string]bool, len(idx.Manifests))
	for i, d := range idx.Manifests {
		what := fmt.Sprintf("index %s: entry %d (%s)", path, i, d.Digest)
		if err := checkDigest(what, string(d.Digest)); err != nil {
			return nil, err
		}
		if d.MediaType == ocispec.MediaTypeImageIndex || d.MediaType == dockerManifestList {
			return nil, fmt.Errorf("%s: nested indexes are not supported: %w", what, ErrInvalidArgument)
		}
		im := byDigest[string(d.Digest)]
		if im == nil {
			return nil, fmt.Errorf("%s%s: no manifest with this digest was given: %w", what, platformSuffix(d.Platform), ErrMissingBlob)
		}
		if d.Size != int64(len(im.raw)) {
			return nil, fmt.Errorf("%s: index says %d bytes, manifest %s has %d: %w", what, d.Size, im.Manifest, len(im.raw), ErrMismatch)
		}
		listed[im.digest] = true
		ix.images = append(ix.images, im)
	}
	for _, im := range images {
		if !listed[im.digest] {
			return nil, fmt.Errorf("manifest %s (%s) is not listed in index %s: %w", im.Manifest, im.digest, path, ErrInvalidArgument)
		}
	}
	return ix, nil
}

func platformSuffix(p *ocispec.Platform) string {
	if p == nil {
		return ""
	}
	s := " for " + p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
