// Package layoutmeta writes what `img image-structure-test` reads of an
// OCI image layout directory: for every image in it, the config JSON, the
// metadata (digest, size, media type) and the file listing (pkg/mtree) of
// each layer, and structuretest.ImagesFile naming them. Each layer blob is
// read once, its size and sha256 digest checked while it is listed; a blob
// that the layout lacks (a shallow layout) gets no listing.
//
// The layout is read through layoutdir.Layout, with the checks of an
// import (pkg/layoutimport): an oci-layout file, symlinks that stay inside
// the layout, regular files only, bounded JSON documents and every blob
// checked against its descriptor.
package layoutmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/layoutimport/layoutdir"
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

// ErrInvalidLayout is wrapped by the errors about a malformed layout,
// besides the layoutdir error that says how it is malformed.
var ErrInvalidLayout = errors.New("invalid OCI image layout")

// layoutError is an error of layoutdir about the layout; it keeps that
// error's text and matches both it and ErrInvalidLayout.
type layoutError struct{ err error }

func (e *layoutError) Error() string   { return e.err.Error() }
func (e *layoutError) Unwrap() []error { return []error{e.err, ErrInvalidLayout} }

// invalid marks an error of layoutdir that is about the layout's
// content (not an I/O error) as ErrInvalidLayout.
func invalid(err error) error {
	for _, e := range []error{layoutdir.ErrMissingBlob, layoutdir.ErrMismatch, layoutdir.ErrEscape,
		layoutdir.ErrTooLarge, layoutdir.ErrInvalidArgument} {
		if errors.Is(err, e) {
			return &layoutError{err}
		}
	}
	return err
}

type writer struct {
	l      *layoutdir.Layout
	out    string
	lim    tarpolicy.Limits
	images []structuretest.ImageSpec
}

// Write describes the layout at root into the directory out (created if
// missing). Errors name the layout and the blob.
func Write(root, out string, lim tarpolicy.Limits) error {
	l, err := layoutdir.Open(root, layoutdir.WithMaxJSONSize(MaxJSONBytes))
	if err != nil {
		return invalid(err)
	}
	w := &writer{l: l, out: out, lim: lim}
	idx, err := l.RootIndex()
	if err != nil {
		return invalid(err)
	}
	if err := w.index(idx, 0); err != nil {
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

// index describes the images of idx, in its order, and those of the
// indexes it lists, depth levels below index.json.
func (w *writer) index(idx ispec.Index, depth int) error {
	for _, d := range idx.Manifests {
		switch {
		case layoutdir.IsIndex(d.MediaType):
			if depth+1 > maxDepth {
				return fmt.Errorf("layout %s: index %s: indexes nested deeper than %d: %w", w.l.Root(), d.Digest, maxDepth, ErrInvalidLayout)
			}
			nested, _, err := w.l.ReadIndex("index", d)
			if err != nil {
				return invalid(err)
			}
			if err := w.index(nested, depth+1); err != nil {
				return err
			}
		case layoutdir.IsManifest(d.MediaType):
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue // an attestation manifest, not an image
			}
			if len(w.images) >= maxImages {
				return fmt.Errorf("layout %s: more than %d images: %w", w.l.Root(), maxImages, ErrInvalidLayout)
			}
			if err := w.image(d); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *writer) image(d ispec.Descriptor) error {
	raw, err := w.l.ReadBlob("manifest", d, MaxJSONBytes)
	if err != nil {
		return invalid(err)
	}
	var m ispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("layout %s: manifest %s: %v: %w", w.l.Root(), d.Digest, err, ErrInvalidLayout)
	}
	config, err := w.l.ReadBlob("config", m.Config, MaxJSONBytes)
	if err != nil {
		return invalid(err)
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

// list writes the listing of layer l to out; false when the layout lacks
// the blob or it is not a tar layer.
func (w *writer) list(l ispec.Descriptor, out string) (bool, error) {
	if !metadata.IsLayer(l.MediaType) {
		return false, nil
	}
	blob, err := w.l.OpenBlob("layer", l)
	if errors.Is(err, layoutdir.ErrMissingBlob) {
		return false, nil
	}
	if err != nil {
		return false, invalid(err)
	}
	defer blob.Close()
	listing, err := mtree.Create(out)
	if err != nil {
		return false, err
	}
	defer listing.Abort()
	r, done, err := tarpolicy.Open(blob, w.lim)
	if err == nil {
		err = mtree.CopyChecked(io.Discard, r, listing.Writer)
		done()
	}
	// The rest of the blob (e.g. the end of a compressed stream) is read
	// too: its size and digest are checked at its end. A blob that is not
	// its descriptor's is reported as such, rather than the tar or
	// compression error that its bytes gave.
	_, berr := io.Copy(io.Discard, blob)
	if errors.Is(berr, layoutdir.ErrMismatch) || err == nil && berr != nil {
		return false, invalid(berr)
	}
	if err != nil {
		return false, fmt.Errorf("layout %s: layer %s: %w", w.l.Root(), l.Digest, err)
	}
	return true, listing.Commit()
}
