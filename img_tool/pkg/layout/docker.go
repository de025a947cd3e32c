package layout

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"

	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// dockerEntry is the one element of a `docker load` manifest.json.
type dockerEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// WriteDockerSave writes img in the format of `docker save`, which
// `docker load` reads: a tar file by default, or a directory (created; it
// may exist if it is empty) with WithFormat(Directory).
//
// The tree holds manifest.json (the config and layers by path, and the
// tags of WithTag as RepoTags), the config and every layer under
// blobs/sha256/, and, for loaders that read OCI layouts, oci-layout and an
// index.json with one entry per tag that points to the manifest. Every
// layer of the manifest needs a blob from WithLayers (an ErrMissingBlob
// error otherwise).
//
// Layers with a +zstd media type are written decompressed, as Docker
// before 23 cannot load zstd: the blob is then named by its diff_id, which
// the decompressed bytes must match (an ErrMismatch error otherwise), and
// the manifest that index.json points to is rewritten to name the plain
// tar layers. Other layers are written as they are.
//
// WithIndex is an ErrInvalidArgument error; see WriteDockerSaveIndex.
func WriteDockerSave(ctx context.Context, out string, img Image, opts ...Option) error {
	o, err := newOptions(Tar, opts)
	if err == nil && o.index != "" {
		err = fmt.Errorf("an index (%s) needs WriteDockerSaveIndex: %w", o.index, ErrInvalidArgument)
	}
	if err == nil {
		err = writeDockerSave(ctx, out, []Image{img}, o)
	}
	if err != nil {
		return fmt.Errorf("docker save %s: %w", out, err)
	}
	return nil
}

// WriteDockerSaveIndex writes the index of WithIndex (required) and its
// images as one tree that is both an OCI layout of the whole index and a
// `docker save` archive of its first manifest, in the formats of
// WriteDockerSave.
//
// images are the manifests of the index, matched by digest as in
// WriteOCILayout: each entry of the index must be among them and each of
// them in the index. index.json lists the index, once per tag of WithTag
// (annotated as WithTag says) or once without tags; blobs/sha256/ holds
// the index and every manifest, config and layer as they are. manifest.json
// lists the config and layers of the first manifest of the index, or of
// the one that WithDockerImage names (the image that `docker load` takes),
// with the tags as RepoTags; its zstd layers are added decompressed under their diff_id, as in WriteDockerSave,
// beside the zstd blobs that the OCI layout names. Every layer of every
// manifest needs a blob (an ErrMissingBlob error otherwise).
func WriteDockerSaveIndex(ctx context.Context, out string, images []Image, opts ...Option) error {
	o, err := newOptions(Tar, opts)
	if err == nil && o.index == "" {
		err = fmt.Errorf("%d images without an index: %w", len(images), ErrInvalidArgument)
	}
	if err == nil {
		err = writeDockerSave(ctx, out, images, o)
	}
	if err != nil {
		return fmt.Errorf("docker save %s: %w", out, err)
	}
	return nil
}

// writeDockerSave writes the one image of images, or with o.index the
// index of images (see WriteDockerSaveIndex).
func writeDockerSave(ctx context.Context, out string, images []Image, o options) error {
	if o.allowMissing {
		return fmt.Errorf("docker load needs every layer; missing blobs cannot be allowed: %w", ErrInvalidArgument)
	}
	if o.index == "" && len(images) != 1 {
		return fmt.Errorf("%d images without an index, want exactly one: %w", len(images), ErrInvalidArgument)
	}
	loaded := make([]*image, len(images))
	for i, img := range images {
		im, err := loadImage(img)
		if err != nil {
			return err
		}
		loaded[i] = im
	}
	var ix *index
	if o.index != "" {
		var err error
		if ix, err = loadIndex(o.index, loaded); err != nil {
			return err
		}
		loaded = ix.images
	}
	layers := newLayerSet(o.layers)
	blobs := make([][]*Layer, len(loaded))
	var missing []string
	for k, im := range loaded {
		m := &im.manifest
		if len(im.diffIDs) != len(m.Layers) {
			return fmt.Errorf("config %s lists %d diff_ids, manifest %s %d layers: %w",
				im.Config, len(im.diffIDs), im.Manifest, len(m.Layers), ErrMismatch)
		}
		blobs[k] = make([]*Layer, len(m.Layers))
		for i, desc := range m.Layers {
			l, err := im.layerBlob(layers, i)
			if err != nil {
				return err
			}
			if l == nil {
				what := string(desc.Digest)
				if ix != nil {
					what += fmt.Sprintf(" (manifest %s)", im.Manifest)
				}
				missing = append(missing, what)
				continue
			}
			if l.Metadata.DiffID != im.diffIDs[i] {
				return fmt.Errorf("layer %s: metadata says diff_id %s, config %s says %s: %w",
					desc.Digest, l.Metadata.DiffID, im.Config, im.diffIDs[i], ErrMismatch)
			}
			blobs[k][i] = l
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no blob for layer %s: docker load needs every layer, so the base image must be downloaded in full (not shallow): %w",
			strings.Join(missing, ", "), ErrMissingBlob)
	}

	w, err := newOutput(out, o.format, o.verify)
	if err != nil {
		return err
	}
	w.limits = o.limits
	defer w.abort()
	t := tree{}
	first := 0
	if o.dockerImage != "" {
		first = -1
		for k, im := range loaded {
			if im.digest == o.dockerImage {
				first = k
				break
			}
		}
		if first < 0 || ix == nil {
			return fmt.Errorf("docker image %s is not a manifest of the index: %w", o.dockerImage, ErrInvalidArgument)
		}
	}
	mdesc, err := addDockerImage(ctx, w, t, loaded[first], blobs[first], o.tags, ix == nil)
	if err != nil {
		return err
	}
	top := mdesc
	if ix != nil {
		// The OCI layout of the whole index, every blob as it is.
		t.addData(blobName(ix.digest), ix.raw)
		for k, im := range loaded {
			t.addData(blobName(im.digest), im.raw)
			t.addData(blobName(string(im.manifest.Config.Digest)), im.config)
			for _, l := range blobs[k] {
				t.addBlob(l.Blob, l.Metadata.Digest, l.Metadata.Size)
			}
		}
		top = ix.descriptor()
	}
	descs := []ocispec.Descriptor{top}
	if len(o.tags) > 0 {
		descs = descs[:0]
		for _, tag := range o.tags {
			d := top
			d.Annotations = tagAnnotations(tag)
			descs = append(descs, d)
		}
	}
	if err := addIndexJSON(t, descs); err != nil {
		return err
	}
	return w.commit(ctx, t)
}

// addDockerImage adds to t the manifest.json of im with the tags as
// RepoTags, its config and its layers (blobs, in manifest order), zstd
// layers decompressed. With withManifest it also adds the manifest, with
// the decompressed layers in place of the zstd ones, and returns its
// descriptor (for index.json); otherwise the descriptor is zero.
func addDockerImage(ctx context.Context, w *output, t tree, im *image, blobs []*Layer, tags []string, withManifest bool) (ocispec.Descriptor, error) {
	m := &im.manifest
	t.addData(blobName(string(m.Config.Digest)), im.config)
	entry := dockerEntry{Config: blobName(string(m.Config.Digest)), RepoTags: tags, Layers: make([]string, len(m.Layers))}
	if entry.RepoTags == nil {
		entry.RepoTags = []string{}
	}
	plain := map[string]ocispec.Descriptor{} // decompressed layers by their compressed digest
	for i, desc := range m.Layers {
		l := blobs[i]
		if !isZstd(desc.MediaType) {
			t.addBlob(l.Blob, l.Metadata.Digest, l.Metadata.Size)
			entry.Layers[i] = blobName(l.Metadata.Digest)
			continue
		}
		u, ok := plain[string(desc.Digest)]
		if !ok {
			size, err := decompressLayer(ctx, w, t, l)
			if err != nil {
				return ocispec.Descriptor{}, err
			}
			u = ocispec.Descriptor{MediaType: strings.TrimSuffix(desc.MediaType, "+zstd"), Digest: digestOf(l.Metadata.DiffID), Size: size}
			plain[string(desc.Digest)] = u
		}
		entry.Layers[i] = blobName(string(u.Digest))
	}
	data, err := json.Marshal([]dockerEntry{entry})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	t.addData("manifest.json", data)
	if !withManifest {
		return ocispec.Descriptor{}, nil
	}
	manifest, mdesc := im.raw, im.descriptor()
	if len(plain) > 0 {
		manifest, err = replaceLayers(im.raw, plain)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("manifest %s: %w", im.Manifest, err)
		}
		mdesc.Digest, mdesc.Size = digestOf(sha256Digest(manifest)), int64(len(manifest))
	}
	t.addData(blobName(string(mdesc.Digest)), manifest)
	return mdesc, nil
}

func isZstd(mediaType string) bool { return strings.HasSuffix(mediaType, "+zstd") }

// decompressLayer writes the decompressed blob of l into the output under
// its diff_id and adds it to t. It checks the digest and size of the blob
// and the diff_id of the decompressed bytes, and returns their size.
func decompressLayer(ctx context.Context, w *output, t tree, l *Layer) (int64, error) {
	md := &l.Metadata
	name := blobName(md.DiffID)
	if e := t[name]; e != nil && e.staged {
		return e.size, nil // another layer with the same content
	}
	p, err := w.stage(name)
	if err != nil {
		return 0, err
	}
	src, err := os.Open(l.Blob)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", md.Digest, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", md.Digest, err)
	}
	if err := checkSize(&entry{file: l.Blob, digest: md.Digest, size: md.Size}, fi); err != nil {
		return 0, err
	}
	raw := sha256.New()
	in := io.TeeReader(ctxReader{ctx, src}, raw)
	ur, done, err := tarpolicy.Open(in, w.limits)
	if err != nil {
		return 0, fmt.Errorf("layer %s: decompress %s: %w", md.Digest, l.Blob, err)
	}
	defer done()
	dst, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", md.Digest, err)
	}
	diff := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, diff), ur)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("layer %s: decompress %s: %w", md.Digest, l.Blob, err)
	}
	// The rest of the blob after the compressed stream, if any.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return 0, fmt.Errorf("layer %s: read %s: %w", md.Digest, l.Blob, err)
	}
	if got := fmt.Sprintf("sha256:%x", raw.Sum(nil)); got != md.Digest {
		return 0, fmt.Errorf("layer %s: %s has digest %s: %w", md.Digest, l.Blob, got, ErrMismatch)
	}
	if got := fmt.Sprintf("sha256:%x", diff.Sum(nil)); got != md.DiffID {
		return 0, fmt.Errorf("layer %s: %s decompresses to %s, but its metadata says diff_id %s: %w",
			md.Digest, l.Blob, got, md.DiffID, ErrMismatch)
	}
	t[name] = &entry{name: name, file: l.Blob, size: n, digest: md.DiffID, staged: true}
	return n, nil
}

// replaceLayers returns the manifest raw with the layer descriptors whose
// digest is a key of repl replaced by mediaType, digest and size of the
// value. Every other field is kept.
func replaceLayers(raw []byte, repl map[string]ocispec.Descriptor) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	var layers []map[string]json.RawMessage
	if err := json.Unmarshal(m["layers"], &layers); err != nil {
		return nil, err
	}
	for _, l := range layers {
		var d string
		if err := json.Unmarshal(l["digest"], &d); err != nil {
			return nil, err
		}
		r, ok := repl[d]
		if !ok {
			continue
		}
		for k, v := range map[string]any{"mediaType": r.MediaType, "digest": r.Digest, "size": r.Size} {
			enc, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			l[k] = enc
		}
	}
	enc, err := json.Marshal(layers)
	if err != nil {
		return nil, err
	}
	m["layers"] = enc
	return json.Marshal(m)
}
