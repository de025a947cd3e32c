package layoutimport

import (
	"fmt"
	"slices"
	"strings"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/layoutimport/layoutdir"
)

// source is the index that the layout's images are listed in: index.json
// itself, or the one image index that index.json points to (as
// `crane pull --format=oci` writes a pulled index).
type source struct {
	index ispec.Index
	// blob is the nested index's bytes and descriptor; nil when the
	// source is index.json itself.
	raw  []byte
	desc *ispec.Descriptor
}

// source reads index.json and, when it holds exactly one entry that is an
// image index, that index.
func (l *Layout) source() (*source, error) {
	top, err := l.RootIndex()
	if err != nil {
		return nil, err
	}
	if len(top.Manifests) == 0 {
		return nil, fmt.Errorf("layout %s: index.json lists no manifests: %w", l.Root(), ErrNoMatch)
	}
	if len(top.Manifests) != 1 || !layoutdir.IsIndex(top.Manifests[0].MediaType) {
		return &source{index: top}, nil
	}
	d := top.Manifests[0]
	nested, raw, err := l.ReadIndex("image index", d)
	if err != nil {
		return nil, err
	}
	return &source{index: nested, raw: raw, desc: &d}, nil
}

// candidates are the manifest entries of the source that are images; other
// entries (nested indexes, artifacts) are left out.
func (s *source) candidates() []ispec.Descriptor {
	var out []ispec.Descriptor
	for _, d := range s.index.Manifests {
		if layoutdir.IsManifest(d.MediaType) {
			out = append(out, d)
		}
	}
	return out
}

// find returns the entry of the source for p. Several entries with the
// same digest are one; several digests for one platform are ambiguous. A
// layout with exactly one image and no platform in its entry gives that
// image (its config is checked later).
func (l *Layout) find(s *source, p Platform) (ispec.Descriptor, error) {
	all := s.candidates()
	var found []ispec.Descriptor
	for _, d := range all {
		if p.matches(d.Platform) && !slices.ContainsFunc(found, func(f ispec.Descriptor) bool { return f.Digest == d.Digest }) {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		var ds []string
		for _, d := range found {
			ds = append(ds, string(d.Digest))
		}
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %d manifests for %s (%s): %w", l.Root(), len(found), p, strings.Join(ds, ", "), ErrInvalidArgument)
	case len(all) == 1 && all[0].Platform == nil:
		return all[0], nil
	}
	var have []string
	for _, d := range all {
		have = append(have, platformOf(d.Platform))
	}
	if len(have) == 0 {
		have = []string{"no image manifests"}
	}
	return ispec.Descriptor{}, fmt.Errorf("layout %s: no manifest for %s (it has: %s): %w", l.Root(), p, strings.Join(have, ", "), ErrNoMatch)
}
