// Package layoutmeta writes what `img image-structure-test` reads of an
// OCI image layout directory: for every image in it, the config JSON, the
// metadata (digest, size, media type) and the file listing (pkg/mtree) of
// each layer, and structuretest.ImagesFile naming them. Each layer blob is
// read once, its size and sha256 digest checked while it is listed; a blob
// that the layout lacks (a shallow layout) gets no listing.
package layoutmeta

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
	"github.com/rules-img/rules_img/img_tool/pkg/structuretest"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// Limits of the JSON documents read from a layout, and of its nesting.
const (
	MaxJSONBytes = 8 << 20
	maxDepth     = 4
	maxImages    = 1024
)

// ErrInvalidLayout is wrapped by the errors about a malformed layout.
var ErrInvalidLayout = errors.New("invalid OCI image layout")

var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

type writer struct {
	root, out string
	lim       tarpolicy.Limits
	images    []structuretest.ImageSpec
}

// Write describes the layout at root into the directory out (created if
// missing). Errors name the layout and the blob.
func Write(root, out string, lim tarpolicy.Limits) error {
	w := &writer{root: root, out: out, lim: lim}
	data, err := readBounded(filepath.Join(root, "index.json"), MaxJSONBytes)
	if err != nil {
		return fmt.Errorf("layout %s: %w", root, err)
	}
	if err := w.index("index.json", data, 0); err != nil {
		return err
	}
	if len(w.images) == 0 {
		return fmt.Errorf("layout %s: no image manifests: %w", root, ErrInvalidLayout)
	}
	list, err := json.MarshalIndent(map[string]any{"images": w.images}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(out, structuretest.ImagesFile), list, 0o644)
}

func isIndex(mt string) bool {
	return mt == ispec.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func isManifest(mt string) bool {
	return mt == ispec.MediaTypeImageManifest || mt == "application/vnd.docker.distribution.manifest.v2+json"
}

func (w *writer) index(what string, data []byte, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("layout %s: %s: indexes nested deeper than %d: %w", w.root, what, maxDepth, ErrInvalidLayout)
	}
	var idx ispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return fmt.Errorf("layout %s: %s: %v: %w", w.root, what, err, ErrInvalidLayout)
	}
	for _, d := range idx.Manifests {
		switch {
		case isIndex(d.MediaType):
			raw, err := w.blob(d, MaxJSONBytes)
			if err != nil {
				return err
			}
			if err := w.index("index "+string(d.Digest), raw, depth+1); err != nil {
				return err
			}
		case isManifest(d.MediaType):
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue // an attestation manifest, not an image
			}
			if len(w.images) >= maxImages {
				return fmt.Errorf("layout %s: more than %d images: %w", w.root, maxImages, ErrInvalidLayout)
			}
			if err := w.image(d); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *writer) image(d ispec.Descriptor) error {
	raw, err := w.blob(d, MaxJSONBytes)
	if err != nil {
		return err
	}
	var m ispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("layout %s: manifest %s: %v: %w", w.root, d.Digest, err, ErrInvalidLayout)
	}
	config, err := w.blob(m.Config, MaxJSONBytes)
	if err != nil {
		return err
	}
	i := strconv.Itoa(len(w.images))
	spec := structuretest.ImageSpec{Name: platform(d, config) + " " + string(d.Digest), Config: i + "/config.json"}
	if err := os.MkdirAll(filepath.Join(w.out, i, "layers"), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(w.out, i, "config.json"), config, 0o644); err != nil {
		return err
	}
	for j, l := range m.Layers {
		base := fmt.Sprintf("%s/layers/%d", i, j)
		md, _ := json.Marshal(map[string]any{"digest": l.Digest, "size": l.Size, "mediaType": l.MediaType})
		if err := atomicfile.WriteFile(filepath.Join(w.out, base+".json"), md, 0o644); err != nil {
			return err
		}
		ls := structuretest.LayerSpec{Metadata: base + ".json"}
		listed, err := w.list(l, filepath.Join(w.out, base+".mtree"))
		if err != nil {
			return err
		}
		if listed {
			ls.Mtree = base + ".mtree"
		}
		spec.Layers = append(spec.Layers, ls)
	}
	w.images = append(w.images, spec)
	return nil
}

// platform is os/architecture[/variant] of the descriptor, else of the
// config.
func platform(d ispec.Descriptor, config []byte) string {
	p := d.Platform
	if p == nil {
		var c ispec.Image
		_ = json.Unmarshal(config, &c)
		p = &c.Platform
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// path is the file of a blob; its digest must be a sha256 digest.
func (w *writer) path(d ispec.Descriptor) (string, error) {
	if !digestRE.MatchString(string(d.Digest)) {
		return "", fmt.Errorf("layout %s: digest %q: want sha256:<64 hex digits>: %w", w.root, d.Digest, ErrInvalidLayout)
	}
	return filepath.Join(w.root, "blobs", "sha256", d.Digest.Encoded()), nil
}

// blob reads a small blob whole, checking size and digest.
func (w *writer) blob(d ispec.Descriptor, limit int64) ([]byte, error) {
	p, err := w.path(d)
	if err != nil {
		return nil, err
	}
	if d.Size < 0 || d.Size > limit {
		return nil, fmt.Errorf("layout %s: blob %s: size %d (at most %d): %w", w.root, d.Digest, d.Size, limit, ErrInvalidLayout)
	}
	data, err := readBounded(p, limit)
	if err != nil {
		return nil, fmt.Errorf("layout %s: blob %s: %w", w.root, d.Digest, err)
	}
	if err := check(d, int64(len(data)), sha256.Sum256(data)); err != nil {
		return nil, fmt.Errorf("layout %s: %w", w.root, err)
	}
	return data, nil
}

func check(d ispec.Descriptor, size int64, sum [32]byte) error {
	if size != d.Size {
		return fmt.Errorf("blob %s: %d bytes, the descriptor says %d: %w", d.Digest, size, d.Size, ErrInvalidLayout)
	}
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != string(d.Digest) {
		return fmt.Errorf("blob %s: content has digest %s: %w", d.Digest, got, ErrInvalidLayout)
	}
	return nil
}

// list writes the listing of layer l to out; false when the layout lacks
// the blob or it is not a tar layer.
func (w *writer) list(l ispec.Descriptor, out string) (bool, error) {
	if !metadata.IsLayer(l.MediaType) {
		return false, nil
	}
	p, err := w.path(l)
	if err != nil {
		return false, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("layout %s: layer %s: %w", w.root, l.Digest, err)
	}
	defer f.Close()
	listing, err := mtree.Create(out)
	if err != nil {
		return false, err
	}
	defer listing.Abort()
	h := sha256.New()
	var n countWriter
	r, done, err := tarpolicy.Open(io.TeeReader(f, io.MultiWriter(h, &n)), w.lim)
	if err != nil {
		return false, fmt.Errorf("layout %s: layer %s: %w", w.root, l.Digest, err)
	}
	err = mtree.CopyChecked(io.Discard, r, listing.Writer)
	done()
	if err == nil {
		_, err = io.Copy(io.Discard, io.TeeReader(f, io.MultiWriter(h, &n)))
	}
	if err != nil {
		return false, fmt.Errorf("layout %s: layer %s: %w", w.root, l.Digest, err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	if err := check(l, int64(n), sum); err != nil {
		return false, fmt.Errorf("layout %s: %w", w.root, err)
	}
	return true, listing.Commit()
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func readBounded(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", p, max, ErrInvalidLayout)
	}
	return data, nil
}
