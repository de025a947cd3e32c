package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// FuzzReadMetadata decodes arbitrary bytes as a pull.json. Accepted
// metadata encodes, and its encoding is a fixed point: read and encoded
// again it gives the same bytes. Seeds: testdata/fuzz/FuzzReadMetadata
// (pull.json of a single image and of an index).
func FuzzReadMetadata(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, MetadataFile)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadMetadata(p)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("encode accepted metadata: %v", err)
		}
		if err := os.WriteFile(p, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		m2, err := ReadMetadata(p)
		if err != nil {
			t.Fatalf("read the encoded metadata %s: %v", enc, err)
		}
		enc2, err := m2.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}

// fuzzRegistry serves one repository: the root manifest (fuzzed) under any
// tag and under its digest, and fixed blobs and manifests by digest.
type fuzzRegistry struct {
	mu    sync.Mutex
	root  []byte
	blobs map[string][]byte // digest -> content, manifests and blobs alike
}

func fuzzDigest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// fuzzMediaType is the mediaType field of a JSON manifest, as a registry
// takes it for Content-Type, or the OCI manifest type.
func fuzzMediaType(b []byte) string {
	var v struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(b, &v) == nil && v.MediaType != "" && !strings.ContainsAny(v.MediaType, "\r\n") {
		return v.MediaType
	}
	return "application/vnd.oci.image.manifest.v1+json"
}

func (r *fuzzRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	root := r.root
	r.mu.Unlock()
	path := req.URL.Path
	if path == "/v2/" {
		return
	}
	ref := path[strings.LastIndex(path, "/")+1:]
	var body []byte
	switch {
	case strings.Contains(path, "/manifests/") && (ref == "latest" || ref == fuzzDigest(root)):
		body = root
	case r.blobs[ref] != nil:
		body = r.blobs[ref]
	default:
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", fuzzMediaType(body))
	w.Header().Set("Docker-Content-Digest", fuzzDigest(body))
	if req.Method != http.MethodHead {
		w.Write(body)
	}
}

// Blobs the fuzzed root manifest may refer to: an image config and an
// image manifest (for an index) that refers to it and to one layer.
var (
	fuzzConfig   = []byte(`{"architecture":"arm64","variant":"v8","os":"linux","config":{"Env":["PATH=/usr/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"]}}`)
	fuzzLayer    = make([]byte, 1024)
	fuzzManifest = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + fuzzDigest(fuzzConfig) + `","size":` + itoa(len(fuzzConfig)) + `},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + fuzzDigest(fuzzLayer) + `","size":1024}]}`)
)

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// FuzzPull pulls an image whose root manifest or index is arbitrary bytes
// from a registry that also serves a config, a layer and an image manifest
// (testdata/fuzz/FuzzPull seeds refer to them by digest). A failed pull
// leaves no output; a successful one writes a pull.json that reads back as
// the result's metadata, and every blob it names, verified by digest.
func FuzzPull(f *testing.F) {
	reg := &fuzzRegistry{blobs: map[string][]byte{}}
	for _, b := range [][]byte{fuzzConfig, fuzzLayer, fuzzManifest} {
		reg.blobs[fuzzDigest(b)] = b
	}
	srv := httptest.NewServer(reg)
	f.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := f.TempDir()
	configDir := f.TempDir()
	f.Fuzz(func(t *testing.T, root []byte, eager bool) {
		reg.mu.Lock()
		reg.root = root
		reg.mu.Unlock()
		// A fresh parent per input: what one input leaves behind (or a
		// slow cleanup of it) cannot be mistaken for the next one's output.
		parent, err := os.MkdirTemp(dir, "run")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(parent)
		out := filepath.Join(parent, "image")
		req := Request{
			Registries:      []string{host},
			Repository:      "fuzz/app",
			Tag:             "latest",
			OutputDir:       out,
			RegistryOptions: []registry.Option{registry.WithConfigDir(configDir), registry.WithRetryBackoff(remote.Backoff{Steps: 1})},
		}
		if eager {
			req.LayerHandling = Eager
		}
		res, err := Pull(context.Background(), req)
		if err != nil {
			if _, statErr := os.Lstat(out); statErr == nil {
				t.Fatalf("failed pull (%v) left %s", err, out)
			}
			return
		}
		data, err := os.ReadFile(filepath.Join(out, MetadataFile))
		if err != nil {
			t.Fatal(err)
		}
		want, err := res.Metadata.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("pull.json %s, result metadata %s", data, want)
		}
		md, err := ReadMetadata(filepath.Join(out, MetadataFile))
		if err != nil {
			t.Fatalf("pull.json does not read back: %v", err)
		}
		if md.Root.Digest != fuzzDigest(root) || md.Root.Size != int64(len(root)) {
			t.Fatalf("root %+v, served %d bytes with digest %s", md.Root, len(root), fuzzDigest(root))
		}
		if len(md.Manifests) == 0 {
			t.Fatal("pull.json lists no manifests")
		}
		check := func(d string, optional bool) {
			b, err := os.ReadFile(filepath.Join(out, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
			if err != nil {
				if !optional {
					t.Fatalf("blob %s: %v", d, err)
				}
				return
			}
			if fuzzDigest(b) != d {
				t.Fatalf("blob %s has digest %s", d, fuzzDigest(b))
			}
		}
		check(md.Root.Digest, false)
		for _, m := range md.Manifests {
			check(m.Digest, false)
			check(m.Config.Digest, false)
			for _, l := range m.Layers {
				check(l.Digest, !eager)
			}
		}
	})
}
