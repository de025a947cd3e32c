package load

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/layout"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/progress"
)

// tarball is the tar of a load, written into a temporary directory.
type tarball struct {
	path string
	// manifest is the manifest that manifest.json lists.
	manifest int
	// whole is true when the OCI layout holds the whole index.
	whole bool
	// blobs and bytes count the distinct blobs of the image in the tar
	// (index, manifests, configs, layers); platforms are those of its
	// manifests.
	blobs     int
	bytes     int64
	platforms []string
}

// result is the Result of sending t to via.
func (t *tarball) result(daemon, via string, n loadNames) *Result {
	return &Result{Names: n.full, Daemon: daemon, Via: via, Platforms: t.platforms,
		Blobs: t.blobs, Bytes: t.bytes, Written: t.blobs, WrittenBytes: t.bytes}
}

// buildTar writes the tar of a load into dir: a `docker save` archive with
// an OCI layout beside manifest.json (layout.WriteDockerSave) of the one
// selected manifest. With unified and an index, the OCI layout is that of
// the whole index (every manifest, config and layer; index.json names it
// once per name), and manifest.json lists the first selected manifest.
// Layers without a file are fetched into dir, each once. via names the
// receiver in messages.
func (l *Loader) buildTar(ctx context.Context, dir, via string, unified bool, n loadNames, im *image, sel []int) (*tarball, error) {
	t := &tarball{path: filepath.Join(dir, "image.tar"), whole: unified && im.entries != nil}
	if len(sel) != 1 && !t.whole {
		var ps []string
		for _, m := range sel {
			ps = append(ps, formatPlatform(im.manifests[m].platform))
		}
		return nil, invalidf("%s takes one image, but %d platforms are selected (%s): choose one with --platform", via, len(sel), strings.Join(ps, ", "))
	}
	t.manifest = sel[0]
	manifests := []int{t.manifest}
	if t.whole {
		manifests = make([]int, len(im.manifests))
		var ps []string
		for m := range manifests {
			manifests[m] = m
			ps = append(ps, formatPlatform(im.manifests[m].platform))
		}
		l.printf("note: the tar holds the whole index (%s); its manifest.json, which docker load reads, lists %s\n",
			strings.Join(ps, ", "), formatPlatform(im.manifests[t.manifest].platform))
	}
	seen := map[string]bool{}
	count := func(d ocispec.Descriptor) {
		if !seen[d.Digest.String()] {
			seen[d.Digest.String()] = true
			t.blobs++
			t.bytes += d.Size
		}
	}
	if t.whole {
		count(im.Root)
	}
	images := map[int]layout.Image{}
	var layers []layout.Layer
	fetched := map[string]string{} // fetched layer files by digest
	for _, m := range manifests {
		pm := &im.manifests[m]
		if len(pm.diffIDs) != len(pm.Layers) {
			return nil, invalidf("manifest %d: config lists %d diff_ids for %d layers", m, len(pm.diffIDs), len(pm.Layers))
		}
		t.platforms = append(t.platforms, formatPlatform(pm.platform))
		img := layout.Image{Manifest: filepath.Join(dir, fmt.Sprintf("manifest-%d.json", m)), Config: filepath.Join(dir, fmt.Sprintf("config-%d.json", m))}
		if err := os.WriteFile(img.Manifest, pm.Data, 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(img.Config, pm.Config, 0o600); err != nil {
			return nil, err
		}
		images[m] = img
		count(pm.Descriptor)
		count(pm.manifest.Config)
		for j, layer := range pm.Layers {
			d := layer.Descriptor
			p := layer.Path
			if p == "" {
				if p = fetched[d.Digest.String()]; p == "" {
					p = filepath.Join(dir, "blob-"+d.Digest.Encoded())
					if err := l.fetchTo(ctx, im.Fetcher, layer, p); err != nil {
						return nil, fmt.Errorf("manifest %d layer %d %s: %w", m, j, d.Digest, err)
					}
					fetched[d.Digest.String()] = p
				}
			}
			layers = append(layers, layout.Layer{Blob: p, Metadata: metadata.Layer{
				Name: fmt.Sprintf("layer %d", j), DiffID: pm.diffIDs[j], MediaType: d.MediaType, Digest: d.Digest.String(), Size: d.Size,
			}})
			count(d)
		}
	}
	opts := []layout.Option{layout.WithLayers(layers...), layout.WithVerifyDigests(true)}
	for _, name := range n.familiar {
		opts = append(opts, layout.WithTag(name))
	}
	if !t.whole {
		if err := layout.WriteDockerSave(ctx, t.path, images[t.manifest], opts...); err != nil {
			return nil, err
		}
		return t, nil
	}
	// The whole index as an OCI layout, and the manifest of t.manifest for
	// docker load.
	indexPath := filepath.Join(dir, "index.json")
	if err := os.WriteFile(indexPath, im.Index, 0o600); err != nil {
		return nil, err
	}
	all := make([]layout.Image, len(manifests))
	for m := range manifests {
		all[m] = images[m]
	}
	opts = append(opts, layout.WithIndex(indexPath), layout.WithDockerImage(im.manifests[t.manifest].Descriptor.Digest.String()))
	if err := layout.WriteDockerSaveIndex(ctx, t.path, all, opts...); err != nil {
		return nil, err
	}
	return t, nil
}

// writeTar writes the tar of DaemonContainerization (see buildTar) to the
// tar output, once it is complete.
func (l *Loader) writeTar(ctx context.Context, n loadNames, im *image, sel []int) (*Result, error) {
	if l.o.tarOut == nil {
		return nil, invalidf("daemon tar writes the image as a tar to an output, and this loader has none")
	}
	name := l.o.tarOutName
	if l.tarDone {
		return nil, invalidf("daemon tar: %s holds the tar of an earlier load already, and takes one tar", name)
	}
	dir, err := os.MkdirTemp("", "img-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	t, err := l.buildTar(ctx, dir, name, true, n, im, sel)
	if err != nil {
		return nil, err
	}
	res := t.result(DaemonTar, name, n)
	what := im.Root.Digest.String() + " (no name)"
	if len(n.familiar) > 0 {
		what = strings.Join(n.familiar, ", ")
	}
	l.printf("writing %s (%d blobs, %s) to %s\n", what, res.Blobs, progress.HumanSize(res.Bytes), name)
	f, err := os.Open(t.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l.tarDone = true
	if _, err := io.Copy(l.o.tarOut, f); err != nil {
		return nil, fmt.Errorf("write the tar to %s: %w", name, err)
	}
	res.Name = im.Root.Digest.String()
	if len(n.full) > 0 {
		res.Name = n.full[0]
	}
	return res, nil
}
