package layoutdir

import (
	"fmt"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// decodeIndex checks an index document.
func (l *Layout) decodeIndex(what string, data []byte) (ispec.Index, error) {
	var idx ispec.Index
	if err := DecodeStrict(data, &idx); err != nil {
		return idx, fmt.Errorf("layout %s: %s: %v: %w", l.root, what, err, ErrInvalidArgument)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != "" && !IsIndex(idx.MediaType) {
		return idx, fmt.Errorf("layout %s: %s: schemaVersion %d, mediaType %q: not an image index: %w",
			l.root, what, idx.SchemaVersion, idx.MediaType, ErrInvalidArgument)
	}
	for i, d := range idx.Manifests {
		if err := l.CheckDescriptor(fmt.Sprintf("%s entry %d", what, i), d); err != nil {
			return idx, err
		}
	}
	return idx, nil
}

// RootIndex reads index.json and checks it: an image index (schemaVersion
// 2) of at most MaxJSONSize bytes, every entry with a sha256 digest and a
// sane size. Errors name the layout and wrap ErrMissingBlob,
// ErrEscape, ErrTooLarge or ErrInvalidArgument.
func (l *Layout) RootIndex() (ispec.Index, error) {
	data, err := l.readFile("index.json", l.o.maxJSON)
	if err != nil {
		return ispec.Index{}, err
	}
	return l.decodeIndex("index.json", data)
}

// ReadIndex reads the image index blob of d, as ReadBlob does with the
// bound MaxJSONSize, and checks it as RootIndex does. It returns the
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
