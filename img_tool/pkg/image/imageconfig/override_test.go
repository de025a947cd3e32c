package imageconfig

import (
	"errors"
	"github.com/rules-img/rules_img/img_tool/pkg/ocispec"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

// ovBase is the config so far in the override tests.
func ovBase() ocispec.ImageConfig {
	return ocispec.ImageConfig{
		User:       "nobody",
		Env:        []string{"PATH=/usr/bin", "LANG=C"},
		Entrypoint: []string{"/bin/sh"},
		Cmd:        []string{"-c", "true"},
		WorkingDir: "/",
		StopSignal: "SIGTERM",
	}
}

func TestApplyOverrides(t *testing.T) {
	I := InheritFromBase
	for _, tc := range []struct {
		name string
		o    ConfigOverrides
		want func(c *ocispec.ImageConfig)
	}{
		{"nil inherits", ConfigOverrides{}, func(c *ocispec.ImageConfig) {}},
		{"sentinels inherit", ConfigOverrides{User: strp(I), WorkingDir: strp(I), StopSignal: strp(I), Entrypoint: []string{I}, Cmd: []string{I}},
			func(c *ocispec.ImageConfig) {}},
		{"empty unsets", ConfigOverrides{User: strp(""), WorkingDir: strp(""), StopSignal: strp(""), Entrypoint: []string{}, Cmd: []string{}},
			func(c *ocispec.ImageConfig) {
				c.User, c.WorkingDir, c.StopSignal, c.Entrypoint, c.Cmd = "", "", "", []string{}, []string{}
			}},
		{"replace", ConfigOverrides{User: strp("1000:1000"), WorkingDir: strp("/app"), StopSignal: strp("SIGINT"), Entrypoint: []string{"/app"}, Cmd: []string{"serve"}},
			func(c *ocispec.ImageConfig) {
				c.User, c.WorkingDir, c.StopSignal, c.Entrypoint, c.Cmd = "1000:1000", "/app", "SIGINT", []string{"/app"}, []string{"serve"}
			}},
		{"append and prepend", ConfigOverrides{Entrypoint: []string{I, "--verbose"}, Cmd: []string{"-x", I}},
			func(c *ocispec.ImageConfig) {
				c.Entrypoint, c.Cmd = []string{"/bin/sh", "--verbose"}, []string{"-x", "-c", "true"}
			}},
		{"inherit twice", ConfigOverrides{Cmd: []string{I, "--", I}},
			func(c *ocispec.ImageConfig) { c.Cmd = []string{"-c", "true", "--", "-c", "true"} }},
		{"layer entrypoint resets cmd", ConfigOverrides{Layers: []LayerConfig{{Entrypoint: []string{"/app/bin/server"}}}},
			func(c *ocispec.ImageConfig) { c.Entrypoint, c.Cmd = []string{"/app/bin/server"}, nil }},
		{"layer entrypoint and cmd, env, working dir", ConfigOverrides{Layers: []LayerConfig{{
			Entrypoint: []string{"/app/bin/server"}, Cmd: []string{"--port=80"},
			Env: map[string]string{"LANG": "C.UTF-8", "B": "2", "A": "1"}, WorkingDir: strp("/app"),
		}}}, func(c *ocispec.ImageConfig) {
			c.Entrypoint, c.Cmd, c.WorkingDir = []string{"/app/bin/server"}, []string{"--port=80"}, "/app"
			c.Env = []string{"PATH=/usr/bin", "LANG=C.UTF-8", "A=1", "B=2"}
		}},
		{"layer cmd only keeps entrypoint", ConfigOverrides{Layers: []LayerConfig{{Cmd: []string{"x"}}}},
			func(c *ocispec.ImageConfig) { c.Cmd = []string{"x"} }},
		{"later layer wins", ConfigOverrides{Layers: []LayerConfig{
			{Entrypoint: []string{"/a"}, Env: map[string]string{"X": "a"}, WorkingDir: strp("/a")},
			{Entrypoint: []string{"/b"}, Cmd: []string{"b"}, Env: map[string]string{"X": "b"}},
		}}, func(c *ocispec.ImageConfig) {
			c.Entrypoint, c.Cmd, c.WorkingDir = []string{"/b"}, []string{"b"}, "/a"
			c.Env = []string{"PATH=/usr/bin", "LANG=C", "X=b"}
		}},
		{"attributes over layers, inherit splices the layers' value", ConfigOverrides{
			Layers:     []LayerConfig{{Entrypoint: []string{"/app"}, Cmd: []string{"serve"}, WorkingDir: strp("/app")}},
			Entrypoint: []string{I, "--verbose"}, WorkingDir: strp("/srv"), Cmd: []string{I},
		}, func(c *ocispec.ImageConfig) {
			c.Entrypoint, c.Cmd, c.WorkingDir = []string{"/app", "--verbose"}, []string{"serve"}, "/srv"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.validate(); err != nil {
				t.Fatal(err)
			}
			got := ovBase()
			for i := range tc.o.Layers {
				ApplyLayerConfig(&got, &tc.o.Layers[i])
			}
			ApplyImageOverrides(&got, &tc.o)
			want := ovBase()
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("config = %+v\nwant     %+v", got, want)
			}
		})
	}
}

func TestReadOverridesErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"unknown field", `{"usr": "x"}`, `unknown field "usr"`},
		{"NUL in user", `{"user": "a\u0000"}`, `user "a\x00": holds a NUL`},
		{"NUL in cmd", `{"cmd": ["<inherit from base>", "x"], "entrypoint": ["a\u0000b"]}`, `entrypoint[0]`},
		{"bad uid", `{"user": "-1"}`, "uid -1 is out of range"},
		{"layer NUL", `{"layers": [{"working_dir": "\u0000"}]}`, "layers[0]: working_dir"},
		{"layer env key", `{"layers": [{}, {"env": {"A=B": "c"}}]}`, `layers[1]: env "A=B"`},
		{"not JSON", `{`, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadOverrides(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("ReadOverrides() = %v, want an error naming %s and containing %q", err, p, tc.want)
			}
		})
	}
}

func TestParseCreated(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // RFC 3339 as JSON writes it; "" for an error
	}{
		{"2024-05-06T07:08:09Z", "2024-05-06T07:08:09Z"},
		{"2024-05-06T07:08:09.5+02:00", "2024-05-06T07:08:09.5+02:00"},
		{"0", "1970-01-01T00:00:00Z"},
		{"1700000000", "2023-11-14T22:13:20Z"},
		{"253402300799", "9999-12-31T23:59:59Z"},
		{"253402300800", ""},
		{"99999999999999999999", ""},
		{"-1", ""},
		{"1.5", ""},
		{"2024-05-06", ""},
		{"2024-05-06 07:08:09Z", ""},
		{"2024-13-06T07:08:09Z", ""},
		{" 1700000000", ""},
		{"yesterday", ""},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCreated(tc.in)
			if tc.want == "" {
				if !errors.Is(err, ErrInvalidTimestamp) || !strings.Contains(err.Error(), strconvQuote(tc.in)) {
					t.Fatalf("ParseCreated(%q) = %v, %v; want ErrInvalidTimestamp naming the value", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := got.MarshalJSON()
			if err != nil || string(b) != `"`+tc.want+`"` {
				t.Errorf("ParseCreated(%q) = %s (%v), want %s", tc.in, b, err, tc.want)
			}
		})
	}
}

func strconvQuote(s string) string { return `"` + s + `"` }
