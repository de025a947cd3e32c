package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// inherit is imageconfig.InheritFromBase, spelled out as the rule writes it.
const inherit = "<inherit from base>\x00"

// TestManifestConfigOverrides runs `img manifest --config-overrides` on
// the OCI base of the fixture (entrypoint /bin/sh, cmd -c true, user
// nobody, working dir /, stop signal SIGTERM) and compares the config
// fields and the created time, read back from the written config.
func TestManifestConfigOverrides(t *testing.T) {
	f := newMfFixture(t)
	base := f.ociBase.Config
	type fields struct {
		User, WorkingDir, StopSignal string
		Entrypoint, Cmd, Env         []string
		Created                      string
	}
	inherited := fields{base.User, base.WorkingDir, base.StopSignal, base.Entrypoint, base.Cmd, base.Env, "1970-01-01T00:00:00Z"}
	with := func(edit func(*fields)) fields { w := inherited; edit(&w); return w }
	for _, tc := range []struct {
		name      string
		overrides any // written as JSON; nil for no --config-overrides
		args      []string
		want      fields
	}{
		{"no overrides", nil, nil, inherited},
		{"all inherit", map[string]any{"user": inherit, "working_dir": inherit, "stop_signal": inherit,
			"entrypoint": []string{inherit}, "cmd": []string{inherit}}, nil, inherited},
		{"unset", map[string]any{"user": "", "cmd": []string{}, "entrypoint": []string{}, "working_dir": "", "stop_signal": ""}, nil,
			with(func(w *fields) { w.User, w.WorkingDir, w.StopSignal, w.Entrypoint, w.Cmd = "", "", "", nil, nil })},
		{"append", map[string]any{"entrypoint": []string{inherit, "--verbose"}}, nil,
			with(func(w *fields) { w.Entrypoint = []string{"/bin/sh", "--verbose"} })},
		{"layer configs, env attribute last", map[string]any{"layers": []any{
			map[string]any{"entrypoint": []string{"/app/bin/a"}, "env": map[string]string{"LANG": "a", "A": "1"}, "working_dir": "/a"},
			map[string]any{"entrypoint": nil, "cmd": []string{"x"}, "env": nil, "working_dir": nil},
			map[string]any{"env": map[string]string{"A": "3"}},
		}, "cmd": []string{inherit, "y"}}, []string{"--env", "LANG=attr"},
			with(func(w *fields) {
				w.Entrypoint, w.Cmd, w.WorkingDir = []string{"/app/bin/a"}, []string{"x", "y"}, "/a"
				w.Env = []string{"PATH=/usr/bin", "HOME=/root", "LANG=attr", "A=3"}
			})},
		{"created RFC 3339", nil, []string{"--created", "2024-05-06T07:08:09+02:00"},
			with(func(w *fields) { w.Created = "2024-05-06T07:08:09+02:00" })},
		{"created Unix seconds", nil, []string{"--created", "1700000000"},
			with(func(w *fields) { w.Created = "2023-11-14T22:13:20Z" })},
		{"created file", nil, []string{"--created-file", mfWrite(t, f.path("created.txt"), "2001-02-03T04:05:06Z\n")},
			with(func(w *fields) { w.Created = "2001-02-03T04:05:06Z" })},
		{"created from status", nil, []string{"--created-from-status", mfWrite(t, f.path("volatile.txt"), "BUILD_HOST x\nBUILD_TIMESTAMP 1700000001\n")},
			with(func(w *fields) { w.Created = "2023-11-14T22:13:21Z" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--base-manifest", f.ociManifest, "--base-config", f.ociConfig, "--layer-from-metadata", f.layers[0]}
			if tc.overrides != nil {
				args = append(args, "--config-overrides", mfWrite(t, filepath.Join(t.TempDir(), "overrides.json"), tc.overrides))
			}
			out, _, err := mfManifest(t, append(args, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			wantCreated, err := time.Parse(time.RFC3339, tc.want.Created)
			if err != nil {
				t.Fatal(err)
			}
			r := mfCheckManifestCreated(t, out, wantCreated)
			c := r.config.Config
			created, _ := json.Marshal(r.config.Created)
			got := fields{c.User, c.WorkingDir, c.StopSignal, c.Entrypoint, c.Cmd, c.Env, strings.Trim(string(created), `"`)}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("config\n got %+v\nwant %+v", got, tc.want)
			}
			// An unset field is absent from the JSON, not null or "".
			var raw struct{ Config map[string]json.RawMessage }
			json.Unmarshal(r.raw["config"], &raw)
			for k, empty := range map[string]bool{"User": got.User == "", "Cmd": len(got.Cmd) == 0, "Entrypoint": len(got.Entrypoint) == 0} {
				if _, present := raw.Config[k]; present == empty {
					t.Errorf("config field %s present = %v, want %v: %s", k, present, !empty, r.raw["config"])
				}
			}
		})
	}
}

// Without overrides or a creation time the config is byte for byte what
// an empty overrides file and an all-inherit one give.
func TestManifestOverridesDeterministic(t *testing.T) {
	f := newMfFixture(t)
	args := []string{"--base-manifest", f.ociManifest, "--base-config", f.ociConfig, "--layer-from-metadata", f.layers[0]}
	var configs []string
	for _, o := range []any{nil, map[string]any{}, map[string]any{"user": inherit, "cmd": []string{inherit}, "entrypoint": nil}} {
		a := args
		if o != nil {
			a = append(a, "--config-overrides", mfWrite(t, filepath.Join(t.TempDir(), "o.json"), o))
		}
		out, _, err := mfManifest(t, a...)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(out, "config"))
		configs = append(configs, string(b))
	}
	if configs[0] != configs[1] || configs[0] != configs[2] {
		t.Errorf("configs differ:\n%s\n%s\n%s", configs[0], configs[1], configs[2])
	}
	if !strings.Contains(configs[0], `"created":"1970-01-01T00:00:00Z"`) {
		t.Errorf("created is not the epoch: %s", configs[0])
	}
}

func TestManifestConfigOverridesErrors(t *testing.T) {
	f := newMfFixture(t)
	overrides := mfWrite(t, f.path("o.json"), `{"cmd": []}`)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad timestamp", []string{"--name", "//app:img", "--created", "2024-13-01T00:00:00Z"},
			[]string{"image //app:img", `created "2024-13-01T00:00:00Z"`, "RFC 3339"}},
		{"bad seconds", []string{"--name", "//app:img", "--created", "99999999999999"}, []string{"image //app:img", `"99999999999999"`}},
		{"bad created file", []string{"--name", "//app:img", "--created-file", mfWrite(t, f.path("bad.txt"), "tomorrow")},
			[]string{"image //app:img", f.path("bad.txt"), `"tomorrow"`}},
		{"created file too large", []string{"--created-file", mfWrite(t, f.path("big.txt"), strings.Repeat("1", 2000))},
			[]string{f.path("big.txt"), "larger than 1024 bytes"}},
		{"status without BUILD_TIMESTAMP", []string{"--created-from-status", mfWrite(t, f.path("status.txt"), "BUILD_HOST x\n")},
			[]string{f.path("status.txt"), "no BUILD_TIMESTAMP"}},
		{"two created flags", []string{"--created", "1", "--created-file", f.path("bad.txt")}, []string{"at most one of --created"}},
		{"flag and overrides", []string{"--config-overrides", overrides, "--user", "root"}, []string{overrides, "give none as an option too"}},
		{"bad overrides", []string{"--name", "//app:img", "--config-overrides", mfWrite(t, f.path("bad.json"), `{"user": "a\u0000"}`)},
			[]string{"image //app:img", f.path("bad.json"), "NUL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantManifestFailure(t, tc.want, append([]string{"--base-manifest", f.ociManifest, "--base-config", f.ociConfig}, tc.args...)...)
		})
	}
}
