package layoutimport

import (
	"fmt"
	"slices"
	"strings"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"
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

// decodeIndex checks an index document.
func (l *Layout) decodeIndex(what string, data []byte) (ispec.Index, error) {
	var idx ispec.Index
	if err := decodeStrict(data, &idx); err != nil {
		return idx, fmt.Errorf("layout %s: %s: %v: %w", l.root, what, err, ErrInvalidArgument)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != "" && !IsIndex(idx.MediaType) {
		return idx, fmt.Errorf("layout %s: %s: schemaVersion %d, mediaType %q: not an image index: %w",
			l.root, what, idx.SchemaVersion, idx.MediaType, ErrInvalidArgument)
	}
	for i, d := range idx.Manifests {
		if err := l.checkDescriptor(fmt.Sprintf("%s entry %d", what, i), d); err != nil {
			return idx, err
		}
	}
	return idx, nil
}

// RootIndex reads index.json and checks it: an image index (schemaVersion
// 2) of at most the JSON bound of Open, every entry with a sha256 digest
// and a sane size. Errors name the layout and wrap ErrMissingBlob,
// ErrEscape, ErrTooLarge or ErrInvalidArgument.
func (l *Layout) RootIndex() (ispec.Index, error) {
	data, err := l.readFile("index.json", l.o.maxJSON)
	if err != nil {
		return ispec.Index{}, err
	}
	return l.decodeIndex("index.json", data)
}

// ReadIndex reads the image index blob of d, as ReadBlob does with the
// JSON bound of Open, and checks it as RootIndex does. It returns the
// index and its bytes. Errors name the layout, what and the digest.
func (l *Layout) ReadIndex(what string, d ispec.Descriptor) (ispec.Index, []byte, error) {
	raw, err := l.ReadBlob(what, d, l.o.maxJSON)
	if err != nil {
		return ispec.Index{}, nil, err
	}
	idx, err := l.decodeIndex(what+" "+string(d.Digest), raw)
	if err != nil {
		return ispec.Index{}, nil, err
	}
	return idx, raw, nil
}

// source reads index.json and, when it holds exactly one entry that is an
// image index, that index.
func (l *Layout) source() (*source, error) {
	top, err := l.RootIndex()
	if err != nil {
		return nil, err
	}
	if len(top.Manifests) == 0 {
		return nil, fmt.Errorf("layout %s: index.json lists no manifests: %w", l.root, ErrNoMatch)
	}
	if len(top.Manifests) != 1 || !IsIndex(top.Manifests[0].MediaType) {
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
		if IsManifest(d.MediaType) {
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
		return ispec.Descriptor{}, fmt.Errorf("layout %s: %d manifests for %s (%s): %w", l.root, len(found), p, strings.Join(ds, ", "), ErrInvalidArgument)
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
	return ispec.Descriptor{}, fmt.Errorf("layout %s: no manifest for %s (it has: %s): %w", l.root, p, strings.Join(have, ", "), ErrNoMatch)
}
