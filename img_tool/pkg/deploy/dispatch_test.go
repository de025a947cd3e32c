package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hexC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

// opJSON is a valid push operation with every field; edit replaces parts.
func opJSON(edit ...string) string {
	s := `{"command":"push","root_kind":"manifest",` +
		`"root":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hexA + `","size":500},` +
		`"manifests":[{"descriptor":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hexA + `","size":500},` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + hexB + `","size":100},` +
		`"layer_blobs":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:` + hexC + `","size":1000}],` +
		`"missing_blobs":["` + hexC + `"]}],` +
		`"original_registries":["index.docker.io","mirror.gcr.io"],"original_repository":"library/alpine",` +
		`"original_tag":"3.20","original_digest":"sha256:` + hexB + `",` +
		`"registry":"127.0.0.1:5000","repository":"my-org/app","tags":["latest","v1"]}`
	for i := 0; i+1 < len(edit); i += 2 {
		s = strings.Replace(s, edit[i], edit[i+1], 1)
	}
	return s
}

func TestDecode(t *testing.T) {
	full := Operation{
		Command:  CommandPush,
		RootKind: RootManifest,
		Root:     Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: "sha256:" + hexA, Size: 500},
		Manifests: []ManifestInfo{{
			Descriptor:   Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: "sha256:" + hexA, Size: 500},
			Config:       Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: "sha256:" + hexB, Size: 100},
			LayerBlobs:   []Descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: "sha256:" + hexC, Size: 1000}},
			MissingBlobs: []string{hexC},
		}},
		OriginalRegistries: []string{"index.docker.io", "mirror.gcr.io"},
		OriginalRepository: "library/alpine",
		OriginalTag:        "3.20",
		OriginalDigest:     "sha256:" + hexB,
		Registry:           "127.0.0.1:5000",
		Repository:         "my-org/app",
		Tags:               []string{"latest", "v1"},
	}
	minimal := full
	minimal.Manifests = []ManifestInfo{full.Manifests[0]}
	minimal.Manifests[0].MissingBlobs = nil
	minimal.OriginalRegistries, minimal.OriginalRepository, minimal.OriginalTag, minimal.OriginalDigest = nil, "", "", ""
	minimal.Tags = nil
	minimalJSON := opJSON(`,"missing_blobs":["`+hexC+`"]`, ``,
		`"original_registries":["index.docker.io","mirror.gcr.io"],"original_repository":"library/alpine",`, ``,
		`"original_tag":"3.20","original_digest":"sha256:`+hexB+`",`, ``,
		`,"tags":["latest","v1"]`, ``)
	load := full
	load.Command, load.Registry, load.Repository, load.Tags, load.Tag, load.Daemon = CommandLoad, "", "", nil, "app:latest", "docker"
	loadJSON := opJSON(`"command":"push"`, `"command":"load"`,
		`"registry":"127.0.0.1:5000","repository":"my-org/app","tags":["latest","v1"]`, `"tag":"app:latest","daemon":"docker"`)
	loadNames := load
	loadNames.Target, loadNames.Tag, loadNames.Tags = "//app:load", "", []string{"app:1", "{{.USER}}"}
	loadNamesJSON := opJSON(`"command":"push"`, `"command":"load","target":"//app:load"`,
		`"registry":"127.0.0.1:5000","repository":"my-org/app","tags":["latest","v1"]`, `"tags":["app:1","{{.USER}}"],"daemon":"docker"`)
	loadNoName := load
	loadNoName.Tag = ""
	pushNoDest := full
	pushNoDest.Target, pushNoDest.Registry, pushNoDest.Repository, pushNoDest.Tags = "//app:push", "", "", []string{"{{.STABLE_GIT_COMMIT}}", "{{ bad"}

	for _, tc := range []struct {
		name    string
		json    string
		want    *Dispatch
		wantErr string
	}{
		{"full", `{"operations":[` + opJSON() + `],"settings":{"push_strategy":"eager","load_strategy":"eager"}}`,
			&Dispatch{Operations: []Operation{full}, Settings: Settings{PushStrategy: "eager", LoadStrategy: "eager"}}, ""},
		{"optional fields absent", `{"operations":[` + minimalJSON + `],"settings":{}}`,
			&Dispatch{Operations: []Operation{minimal}}, ""},
		{"load", `{"operations":[` + loadJSON + `],"settings":{"load_strategy":"lazy"}}`,
			&Dispatch{Operations: []Operation{load}, Settings: Settings{LoadStrategy: "lazy"}}, ""},
		{"no operations", `{"operations":[],"settings":{}}`, &Dispatch{Operations: []Operation{}}, ""},
		{"push without destination, templates", `{"operations":[` + opJSON(`"command":"push"`, `"command":"push","target":"//app:push"`,
			`"registry":"127.0.0.1:5000","repository":"my-org/app","tags":["latest","v1"]`, `"tags":["{{.STABLE_GIT_COMMIT}}","{{ bad"]`) + `],"settings":{}}`,
			&Dispatch{Operations: []Operation{pushNoDest}}, ""},
		{"load with names", `{"operations":[` + loadNamesJSON + `],"settings":{}}`, &Dispatch{Operations: []Operation{loadNames}}, ""},
		{"load without a name", `{"operations":[` + opJSON(`"command":"push"`, `"command":"load"`,
			`"registry":"127.0.0.1:5000","repository":"my-org/app","tags":["latest","v1"]`, `"daemon":"docker"`) + `],"settings":{}}`,
			&Dispatch{Operations: []Operation{loadNoName}}, ""},
		{"unknown top-level field", `{"operations":[],"settings":{},"extra":1}`, nil, `unknown field "extra"`},
		{"unknown operation field", `{"operations":[` + opJSON(`"command"`, `"cmd":1,"command"`) + `]}`, nil, `unknown field "cmd"`},
		{"unknown descriptor field", `{"operations":[` + opJSON(`"size":100}`, `"size":100,"annotations":{}}`) + `]}`, nil, `unknown field "annotations"`},
		{"trailing data", `{"operations":[]} {}`, nil, "data after"},
		{"not JSON", `operations`, nil, "invalid"},
		{"bad command", `{"operations":[` + opJSON(`"command":"push"`, `"command":"copy"`) + `]}`, nil, `operation 0: invalid: command "copy"`},
		{"bad root kind", `{"operations":[` + opJSON(`"root_kind":"manifest"`, `"root_kind":"image"`) + `]}`, nil, `root_kind "image"`},
		{"bad digest", `{"operations":[` + opJSON(`"sha256:`+hexB+`","size":100`, `"sha256:XYZ","size":100`) + `]}`, nil, `manifest 0: invalid: config: digest "sha256:XYZ"`},
		{"negative size", `{"operations":[` + opJSON(`"size":1000`, `"size":-1`) + `]}`, nil, "negative size"},
		{"missing blob not a layer", `{"operations":[` + opJSON(`"missing_blobs":["`+hexC, `"missing_blobs":["`+hexB) + `]}`, nil, "missing blob " + hexB + " is not a layer"},
		{"missing blob with prefix", `{"operations":[` + opJSON(`"missing_blobs":["`+hexC, `"missing_blobs":["sha256:`+hexC) + `]}`, nil, "is not 64 lowercase hex"},
		{"root differs from manifest", `{"operations":[` + opJSON(`"size":500}`, `"size":501}`) + `]}`, nil, "differs from manifest 0"},
		{"push with load fields", `{"operations":[` + opJSON(`"tags"`, `"daemon":"docker","tags"`) + `]}`, nil, "push with load fields"},
		{"load with push fields", `{"operations":[` + opJSON(`"command":"push"`, `"command":"load"`, `"tags"`, `"daemon":"docker","tags"`) + `]}`, nil, "load with push fields registry/repository"},
		{"load with a bad name", `{"operations":[` + opJSON(`"command":"push"`, `"command":"load"`,
			`"registry":"127.0.0.1:5000","repository":"my-org/app","tags":["latest","v1"]`, `"tags":["app:1","Bad:Name!"],"daemon":"docker"`) + `]}`, nil, `tag "Bad:Name!"`},
		{"target with a line break", `{"operations":[` + opJSON(`"command":"push"`, `"command":"push","target":"//a\n"`) + `]}`, nil, "a label has no line breaks"},
		{"push to bad repository", `{"operations":[` + opJSON(`"my-org/app"`, `"Bad/Repo"`) + `]}`, nil, `repository "Bad/Repo"`},
		{"push with bad tag", `{"operations":[` + opJSON(`"v1"`, `"-v1"`) + `]}`, nil, `tag "-v1"`},
		{"load without daemon", `{"operations":[` + opJSON(`"command":"push"`, `"command":"load"`,
			`"registry":"127.0.0.1:5000","repository":"my-org/app","tags":["latest","v1"]`, `"tag":"app:latest"`) + `]}`, nil, "load without a daemon"},
		{"bad push strategy", `{"operations":[],"settings":{"push_strategy":"fast"}}`, nil, `push_strategy "fast"`},
		{"bad load strategy", `{"operations":[],"settings":{"load_strategy":"bes"}}`, nil, `load_strategy "bes"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(strings.NewReader(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Decode() = %v, want an ErrInvalid containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(): %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode() =\n%+v\nwant\n%+v", got, tc.want)
			}
			// Encoding and decoding again gives the same value.
			data, err := got.Encode()
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(strings.NewReader(string(data)))
			if err != nil {
				t.Fatalf("Decode(Encode()): %v\n%s", err, data)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("round trip changed the manifest:\n%s", data)
			}
		})
	}
}

func TestReadWrite(t *testing.T) {
	dir := t.TempDir()
	d := &Dispatch{Settings: Settings{PushStrategy: StrategyEager}}
	path := filepath.Join(dir, "dispatch.json")
	if err := d.Write(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if want := "{\n  \"operations\": [],\n  \"settings\": {\n    \"push_strategy\": \"eager\"\n  }\n}\n"; string(data) != want {
		t.Errorf("Write() wrote %q, want %q", data, want)
	}
	bad := &Dispatch{Settings: Settings{PushStrategy: "fast"}}
	if err := bad.Write(filepath.Join(dir, "bad.json")); err == nil {
		t.Error("Write(invalid) succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.json")); !os.IsNotExist(err) {
		t.Errorf("Write(invalid) left a file: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "none.json")); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("Read(none) = %v, want an error naming the file", err)
	}
}

func TestMerge(t *testing.T) {
	decode := func(s string) *Dispatch {
		d, err := Decode(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := decode(`{"operations":[` + opJSON() + `],"settings":{"push_strategy":"lazy"}}`)
	b := decode(`{"operations":[` + opJSON(`"my-org/app"`, `"my-org/b1"`) + `,` + opJSON(`"my-org/app"`, `"my-org/b2"`) + `],"settings":{}}`)
	for _, tc := range []struct {
		name     string
		settings Settings
		in       []*Dispatch
		wantRepo []string
		wantErr  string
	}{
		{"in order", Settings{PushStrategy: "eager", LoadStrategy: "eager"}, []*Dispatch{a, b}, []string{"my-org/app", "my-org/b1", "my-org/b2"}, ""},
		{"reversed", Settings{PushStrategy: "bes"}, []*Dispatch{b, a}, []string{"my-org/b1", "my-org/b2", "my-org/app"}, ""},
		{"one", Settings{}, []*Dispatch{a}, []string{"my-org/app"}, ""},
		{"bad strategy", Settings{LoadStrategy: "cas_registry"}, []*Dispatch{a}, nil, `load_strategy "cas_registry"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Merge(tc.settings, tc.in...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Merge() = %v, want error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var repos []string
			for _, op := range got.Operations {
				repos = append(repos, op.Repository)
			}
			if !reflect.DeepEqual(repos, tc.wantRepo) || got.Settings != tc.settings {
				t.Errorf("Merge() = %q %+v, want %q %+v", repos, got.Settings, tc.wantRepo, tc.settings)
			}
		})
	}
}
