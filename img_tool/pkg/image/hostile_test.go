package image

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/rules-img/rules_img/img_tool/pkg/image/jsondoc"
)

// TestRejectsHostileInputs checks each rejection of a config fragment,
// user or layer metadata that contradicts the layers or is out of range:
// the error names the file and the field, exactly as shown (FRAG stands
// for the fragment's path, LAYER for the layer metadata's).
func TestRejectsHostileInputs(t *testing.T) {
	d1 := digest.FromString("a").String()
	for _, tc := range []struct {
		name     string
		fragment string // "" for none
		layer    string // layer metadata JSON, "" for a valid one
		opts     []Option
		want     string
	}{
		{name: "fragment sets rootfs", fragment: `{"rootfs": {"type": "layers", "diff_ids": ["` + d1 + `"]}}`,
			want: "config fragment FRAG: field rootfs: not allowed; the manifest writes rootfs.diff_ids from the base image and the layers, " +
				"so a fragment's rootfs would be overwritten or contradict them: remove it"},
		{name: "fragment sets an empty rootfs", fragment: `{"rootfs": {"type": "layers", "diff_ids": []}}`,
			want: "config fragment FRAG: field rootfs: not allowed; the manifest writes rootfs.diff_ids from the base image and the layers, " +
				"so a fragment's rootfs would be overwritten or contradict them: remove it"},
		{name: "fragment rootfs null", fragment: `{"rootfs": null}`,
			want: "config fragment FRAG: field rootfs: not allowed; the manifest writes rootfs.diff_ids from the base image and the layers, " +
				"so a fragment's rootfs would be overwritten or contradict them: remove it"},
		{name: "fragment history for a layer", fragment: `{"history": [{"created_by": "a", "empty_layer": true}, {"created_by": "RUN make"}]}`,
			want: "config fragment FRAG: field history[1]: empty_layer is not true; the manifest writes one history entry per layer, " +
				"so a fragment's entry for a layer would make the history disagree with rootfs.diff_ids: " +
				`a fragment may only add entries with "empty_layer": true`},
		{name: "fragment history empty_layer false", fragment: `{"history": [{"created_by": "x", "empty_layer": false}]}`,
			want: "config fragment FRAG: field history[0]: empty_layer is not true; the manifest writes one history entry per layer, " +
				"so a fragment's entry for a layer would make the history disagree with rootfs.diff_ids: " +
				`a fragment may only add entries with "empty_layer": true`},
		{name: "fragment uid too large", fragment: `{"config": {"User": "2147483648"}}`,
			want: `config fragment FRAG: field config.User: "2147483648": uid 2147483648 is out of range, want 0 to 2147483647`},
		{name: "fragment negative gid", fragment: `{"config": {"User": "app:-1"}}`,
			want: `config fragment FRAG: field config.User: "app:-1": gid -1 is out of range, want 0 to 2147483647`},
		{name: "fragment uid overflows", fragment: `{"config": {"User": "99999999999999999999"}}`,
			want: `config fragment FRAG: field config.User: "99999999999999999999": uid 99999999999999999999 is out of range, want 0 to 2147483647`},
		{name: "fragment empty group", fragment: `{"config": {"User": "app:"}}`,
			want: `config fragment FRAG: field config.User: "app:": empty gid`},
		{name: "user flag uid too large", opts: []Option{WithUser("4294967295:0")},
			want: `user: "4294967295:0": uid 4294967295 is out of range, want 0 to 2147483647`},
		{name: "user flag negative uid", opts: []Option{WithUser("-5")},
			want: `user: "-5": uid -5 is out of range, want 0 to 2147483647`},
		{name: "user flag with newline", opts: []Option{WithUser("root\n0")},
			want: `user: "root\n0": uid holds a NUL or newline`},
		{name: "layer with unknown field", layer: `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + d1 + `","size":5,"urls":["http://x"]}`,
			want: `layer metadata LAYER: field "urls": unknown; layer metadata has name, diff_id, mediaType, digest, size, annotations`},
		{name: "layer with zero size", layer: `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + d1 + `","size":0}`,
			want: `layer metadata LAYER: field size: 0 is not positive; a layer blob is never empty`},
		{name: "attestation as a layer", layer: `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.in-toto+json","digest":"` + d1 + `","size":5}`,
			want: `layer metadata LAYER: field mediaType: "application/vnd.in-toto+json" is an attestation, not a filesystem layer; a new image cannot use it`},
		{name: "layer with trailing data", layer: `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + d1 + `","size":5}]`,
			want: `layer metadata LAYER: data after the JSON object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			frag := filepath.Join(dir, "fragment.json")
			layer := filepath.Join(dir, "layer_metadata.json")
			opts := append([]Option{}, tc.opts...)
			if tc.fragment != "" {
				if err := os.WriteFile(frag, []byte(tc.fragment), 0o644); err != nil {
					t.Fatal(err)
				}
				opts = append(opts, WithConfigFragment(frag))
			}
			if tc.layer != "" {
				if err := os.WriteFile(layer, []byte(tc.layer), 0o644); err != nil {
					t.Fatal(err)
				}
				opts = append(opts, WithLayers(layer))
			} else {
				opts = append(opts, WithLayers(writeLayers(t, dir, 2)...))
			}
			_, err := BuildManifest(context.Background(), opts...)
			want := strings.NewReplacer("FRAG", frag, "LAYER", layer).Replace(tc.want)
			if err == nil || err.Error() != want {
				t.Errorf("BuildManifest() = %v\nwant %s", err, want)
			}
		})
	}
}

// TestAcceptsConsistentFragments: fragments that do not touch the layers'
// records, and users in range, still build.
func TestAcceptsConsistentFragments(t *testing.T) {
	for _, tc := range []struct{ name, fragment, user string }{
		{"empty_layer history", `{"history": [{"created_by": "ENV A=1", "empty_layer": true}]}`, ""},
		{"no history", `{"config": {"Env": ["A=1"]}}`, ""},
		{"empty history list", `{"history": []}`, ""},
		{"numeric user at the bound", `{"config": {"User": "2147483647:0"}}`, "0:2147483647"},
		{"named user", `{"config": {"User": "app:staff"}}`, "nobody"},
		{"name with digits", `{"config": {"User": "user1:grp2"}}`, "1user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			frag := filepath.Join(dir, "fragment.json")
			if err := os.WriteFile(frag, []byte(tc.fragment), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := BuildManifest(context.Background(), WithConfigFragment(frag), WithUser(tc.user), WithLayers(writeLayers(t, dir, 3)...))
			if err != nil {
				t.Fatalf("BuildManifest() = %v", err)
			}
			if !strings.Contains(string(m.Config.Data), `"diff_ids":[`) {
				t.Errorf("config %s has no diff_ids", m.Config.Data)
			}
		})
	}
}

func TestInputSizeLimit(t *testing.T) {
	dir := t.TempDir()
	frag := filepath.Join(dir, "fragment.json")
	if err := os.WriteFile(frag, []byte("{}"+strings.Repeat(" ", jsondoc.MaxInputSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := BuildManifest(context.Background(), WithConfigFragment(frag))
	if want := "config fragment: " + frag + ": larger than 16777216 bytes"; err == nil || err.Error() != want {
		t.Errorf("BuildManifest() = %v, want %s", err, want)
	}
}

func TestRejectsOversizedDescriptors(t *testing.T) {
	dir := t.TempDir()
	d1 := digest.FromString("m")
	desc := filepath.Join(dir, "descriptor.json")
	if err := os.WriteFile(desc, []byte(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+d1.String()+
		`","size":16777217,"platform":{"os":"linux","architecture":"amd64"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := BuildIndex(context.Background(), []string{desc})
	if want := "manifest descriptor " + desc + ": field size: 16777217 is above the limit of 16777216 bytes for a manifest"; err == nil || err.Error() != want {
		t.Errorf("BuildIndex() = %v\nwant %s", err, want)
	}

	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + d1.String() + `"]}}`)
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(manifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"`+digest.FromBytes(cfg).String()+`","size":`+
		strconv.Itoa(len(cfg))+`},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"`+d1.String()+
		`","size":1099511627777}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = BuildManifest(context.Background(), WithBase(manifest, cfgPath))
	if want := "base manifest " + manifest + ": layers[0]: size 1099511627777 is above the limit of 1099511627776 bytes"; err == nil || err.Error() != want {
		t.Errorf("BuildManifest() = %v\nwant %s", err, want)
	}
}
