package load

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

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
	// The whole index: its OCI layout and the docker save archive of one
	// manifest, as directories, merged into one tar.
	indexPath := filepath.Join(dir, "index.json")
	if err := os.WriteFile(indexPath, im.Index, 0o600); err != nil {
		return nil, err
	}
	all := make([]layout.Image, len(manifests))
	for m := range manifests {
		all[m] = images[m]
	}
	ociDir, dockerDir := filepath.Join(dir, "oci"), filepath.Join(dir, "docker")
	if err := layout.WriteOCILayout(ctx, ociDir, all, layout.WithIndex(indexPath), layout.WithLayers(layers...),
		layout.WithVerifyDigests(true), layout.WithFormat(layout.Directory)); err != nil {
		return nil, err
	}
	if err := layout.WriteDockerSave(ctx, dockerDir, images[t.manifest], append(opts, layout.WithFormat(layout.Directory))...); err != nil {
		return nil, err
	}
	index, err := namedIndexJSON(filepath.Join(ociDir, "index.json"), n)
	if err != nil {
		return nil, err
	}
	if err := mergeTar(ctx, t.path, index, ociDir, dockerDir); err != nil {
		return nil, err
	}
	return t, nil
}

// namedIndexJSON is the index.json of an OCI layout with its one entry
// repeated for each name, annotated as layout.WithTag does: the short name
// as org.opencontainers.image.ref.name (podman), the normalized one as
// io.containerd.image.name (containerd, Docker's containerd image store).
func namedIndexJSON(path string, n loadNames) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(idx.Manifests) != 1 {
		return nil, fmt.Errorf("%s lists %d entries, want 1", path, len(idx.Manifests))
	}
	if len(n.full) == 0 {
		return data, nil
	}
	top := idx.Manifests[0]
	idx.Manifests = nil
	for i := range n.full {
		d := top
		d.Annotations = map[string]string{ocispec.AnnotationRefName: n.familiar[i], layout.AnnotationContainerdName: n.full[i]}
		idx.Manifests = append(idx.Manifests, d)
	}
	return json.Marshal(idx)
}

// tarTime is the modification time of every entry of a merged tar, as in
// the tars of package layout.
var tarTime = time.Unix(0, 0)

// mergeTar writes to out one tar of the OCI layout in ociDir, with index
// as its index.json, and the manifest.json and blobs of the docker save
// archive in dockerDir. Entries are sorted by name, directories included,
// with mode 0755 or 0644, owner 0 and mtime 0.
func mergeTar(ctx context.Context, out string, index []byte, ociDir, dockerDir string) error {
	files := map[string]string{} // tar name -> file
	walk := func(root string, keep func(name string) bool) error {
		return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			name := filepath.ToSlash(rel)
			if _, ok := files[name]; !ok && keep(name) {
				files[name] = p
			}
			return nil
		})
	}
	if err := walk(ociDir, func(name string) bool { return name != "index.json" }); err != nil {
		return err
	}
	if err := walk(dockerDir, func(name string) bool { return name == "manifest.json" || strings.HasPrefix(name, "blobs/") }); err != nil {
		return err
	}
	if _, ok := files["manifest.json"]; !ok {
		return fmt.Errorf("%s has no manifest.json", dockerDir)
	}
	names := []string{"index.json"}
	dirs := map[string]bool{}
	for name := range files {
		names = append(names, name)
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		names = append(names, d+"/")
	}
	sort.Strings(names)

	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: tarTime}
		switch {
		case strings.HasSuffix(name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
		case name == "index.json":
			h.Size = int64(len(index))
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if _, err := tw.Write(index); err != nil {
				return err
			}
		default:
			if err := addFile(tw, h, files[name]); err != nil {
				return fmt.Errorf("tar %s: %w", out, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// addFile writes the file p into tw under the header h.
func addFile(tw *tar.Writer, h *tar.Header, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h.Size = st.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if n, err := io.Copy(tw, f); err != nil || n != h.Size {
		return fmt.Errorf("%s: copied %d of %d bytes: %v", p, n, h.Size, err)
	}
	return nil
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
