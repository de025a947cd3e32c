package deploy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/rules-img/rules_img/img_tool/pkg/load"
)

func TestTemplateKeys(t *testing.T) {
	for _, tc := range []struct {
		in       string
		wantKeys []string
		wantOK   bool
	}{
		{"v1", nil, false},
		{"", nil, false},
		{"{{.STABLE_GIT_COMMIT}}", []string{"STABLE_GIT_COMMIT"}, true},
		{"v-{{.BUILD_TIMESTAMP}}", []string{"BUILD_TIMESTAMP"}, true},
		{"{{.B}}-{{.A}}-{{.B}}", []string{"A", "B"}, true},
		{"{{ .STABLE_VERSION | printf \"%s\" }}", []string{"STABLE_VERSION"}, true},
		{"{{if .STAMP}}{{.STABLE_X}}{{else}}dev{{end}}", []string{"STABLE_X", "STAMP"}, true},
		{"{{$.USER}}", []string{"USER"}, true},
		{"{{.A.B}}", []string{"A"}, true},
		{"{{ .BROKEN", nil, true},
		{"{{\"literal\"}}", nil, true},
		{"a{b}c", nil, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			keys, ok := templateKeys(tc.in)
			if ok != tc.wantOK || !reflect.DeepEqual(keys, tc.wantKeys) {
				t.Errorf("templateKeys(%q) = %q, %v; want %q, %v", tc.in, keys, ok, tc.wantKeys, tc.wantOK)
			}
		})
	}
}

// countingRegistry is an in-process registry that counts the requests it
// answers.
func countingRegistry(t *testing.T) (host string, requests *atomic.Int64) {
	t.Helper()
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	requests = new(atomic.Int64)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), requests
}

// TestRunRefusesUnresolvedTemplates: a destination that still holds
// template text fails the run before any request, naming the keys, the
// fields, the target and the fixes.
func TestRunRefusesUnresolvedTemplates(t *testing.T) {
	const host = "HOST"
	img := testImage(t, testLayer(t, 60, 500))
	for _, tc := range []struct {
		name    string
		opts    []Option
		ops     []fakeOp
		wantErr []string
	}{
		{name: "tag", ops: []fakeOp{{img: img, target: "//app:push", configuration: push(host, "tmpl/app", "latest", "{{.STABLE_GIT_COMMIT}}")}},
			wantErr: []string{`operation 0 (//app:push): unresolved template: tag "{{.STABLE_GIT_COMMIT}}" needs key STABLE_GIT_COMMIT`,
				"build with --stamp (the workspace status gives the STABLE_* and BUILD_* keys) or give STABLE_GIT_COMMIT through build_settings of //app:push",
				"nothing was pushed or loaded"}},
		{name: "tags, registry and repository", ops: []fakeOp{{img: img, target: "//app:push",
			configuration: push("{{.REGISTRY}}", "{{.TEAM}}/app", "v-{{.BUILD_TIMESTAMP}}", "{{.A}}{{.B}}")}},
			wantErr: []string{`registry "{{.REGISTRY}}" needs key REGISTRY, repository "{{.TEAM}}/app" needs key TEAM, tag "v-{{.BUILD_TIMESTAMP}}" needs key BUILD_TIMESTAMP, tag "{{.A}}{{.B}}" needs keys A, B`,
				"give A, B, BUILD_TIMESTAMP, REGISTRY, TEAM through build_settings"}},
		{name: "registry overridden, tag still unresolved", opts: []Option{WithRegistry("127.0.0.1:1")},
			ops:     []fakeOp{{img: img, configuration: push("{{.REGISTRY}}", "tmpl/app", "{{.V}}")}},
			wantErr: []string{`operation 0: unresolved template: tag "{{.V}}" needs key V;`, "build_settings of the target"}},
		{name: "later operation", ops: []fakeOp{
			{img: img, target: "//app:ok", configuration: push(host, "tmpl/ok", "v1")},
			{img: img, target: "//app:bad", configuration: push(host, "tmpl/bad", "{{.STABLE_X}}")}},
			wantErr: []string{"operation 1 (//app:bad): unresolved template"}},
		{name: "load name", ops: []fakeOp{
			{img: img, target: "//app:push", configuration: push(host, "tmpl/ok", "v1")},
			{img: img, command: CommandLoad, target: "//app:load", configuration: map[string]any{"tags": []string{"app:{{.BUILD_USER}}"}, "daemon": "docker"}}},
			wantErr: []string{`operation 1 (//app:load): unresolved template: name "app:{{.BUILD_USER}}" needs key BUILD_USER`}},
		{name: "broken template", ops: []fakeOp{{img: img, target: "//app:push", configuration: push(host, "tmpl/app", "{{ .V")}},
			wantErr: []string{`tag "{{ .V" has template text that does not parse`, "fix the template in //app:push"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, requests := countingRegistry(t)
			ops := make([]fakeOp, len(tc.ops))
			for i, op := range tc.ops {
				if conf, ok := op.configuration.(map[string]any); ok && conf["registry"] == host {
					op.configuration = push(reg, conf["repository"].(string), conf["tags"].([]string)...)
				}
				ops[i] = op
			}
			var buf bytes.Buffer
			res, err := runPush(t, Settings{}, testOptions(t, &buf, tc.opts...), ops...)
			if !errors.Is(err, ErrUnresolvedTemplate) {
				t.Fatalf("Run() = %v, %v; want ErrUnresolvedTemplate", res, err)
			}
			t.Logf("error: %v", err)
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q", s)
				}
			}
			if n := requests.Load(); n != 0 || len(res) != 0 || buf.Len() != 0 {
				t.Errorf("%d requests, %d pushes, progress %q; want none", n, len(res), buf.String())
			}
		})
	}
}

// TestRunDestination: --registry and --repository give what the target
// lacks; a push that still lacks one fails before any request.
func TestRunDestination(t *testing.T) {
	const host = "HOST"
	img := testImage(t, testLayer(t, 61, 500))
	for _, tc := range []struct {
		name    string
		opts    []Option
		op      fakeOp
		wantRef string // "HOST/REPO" of a successful push
		wantErr []string
	}{
		{name: "both given at run time", opts: []Option{WithRegistry(host), WithRepository("dest/both")},
			op: fakeOp{img: img, target: "//app:push", configuration: push("", "", "v1")}, wantRef: host + "/dest/both"},
		{name: "registry given at run time", opts: []Option{WithRegistry(host)},
			op: fakeOp{img: img, configuration: push("", "dest/reg", "v1")}, wantRef: host + "/dest/reg"},
		{name: "repository overridden", opts: []Option{WithRepository("dest/override")},
			op: fakeOp{img: img, configuration: push(host, "dest/target", "v1")}, wantRef: host + "/dest/override"},
		{name: "no registry", op: fakeOp{img: img, target: "//app:push", configuration: push("", "dest/x", "v1")},
			wantErr: []string{"operation 0 (//app:push): incomplete destination: no registry to push to: set `registry` on //app:push, build with --@rules_img//img/settings:destination_registry=HOST, or pass it at run time: bazel run //app:push -- --registry HOST; nothing was pushed"}},
		{name: "no repository", opts: []Option{WithRegistry(host)}, op: fakeOp{img: img, target: "//app:push", configuration: push("", "", "v1")},
			wantErr: []string{"no repository to push to: set `repository` on //app:push, or pass it at run time: bazel run //app:push -- --repository REPO"}},
		{name: "neither, no target label", op: fakeOp{img: img, configuration: push("", "")},
			wantErr: []string{"operation 0: incomplete destination: no registry and no repository to push to: set `registry` and `repository` on the target, build with --@rules_img//img/settings:destination_registry=HOST, or pass them at run time: -- --registry HOST --repository REPO"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, requests := countingRegistry(t)
			if conf := tc.op.configuration.(map[string]any); conf["registry"] == host {
				conf["registry"] = reg
			}
			opts := replaceHostOptions(tc.opts, host, reg)
			var buf bytes.Buffer
			res, err := runPush(t, Settings{}, testOptions(t, &buf, opts...), tc.op)
			if tc.wantErr != nil {
				if !errors.Is(err, ErrIncompleteDestination) {
					t.Fatalf("Run() = %v, %v; want ErrIncompleteDestination", res, err)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				if n := requests.Load(); n != 0 {
					t.Errorf("%d requests, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.wantRef, host, reg)
			if got := res[0].Registry + "/" + res[0].Repository; got != want {
				t.Errorf("pushed to %s, want %s", got, want)
			}
			checkImage(t, want+":v1", img)
		})
	}
}

// replaceHostOptions returns opts with WithRegistry(host) made
// WithRegistry(reg).
func replaceHostOptions(opts []Option, host, reg string) []Option {
	out := make([]Option, len(opts))
	for i, o := range opts {
		var probe options
		if o(&probe) == nil && probe.registry == host {
			o = WithRegistry(reg)
		}
		out[i] = o
	}
	return out
}

// TestRunErrorsNameTheTarget: errors about an operation name its target.
func TestRunErrorsNameTheTarget(t *testing.T) {
	img := testImage(t, testLayer(t, 62, 500))
	_, err := runPush(t, Settings{}, testOptions(t, new(bytes.Buffer)), fakeOp{img: img, target: "//app:push", configuration: push("127.0.0.1:1", "err/x", "v1")})
	if err == nil || !strings.Contains(err.Error(), "operation 0 (//app:push): push to 127.0.0.1:1/err/x: blob sha256:") {
		t.Errorf("Run() = %v, want an error naming //app:push", err)
	}
	dir := t.TempDir()
	d := writeRunfiles(t, dir, Settings{}, fakeOp{img: img, command: CommandLoad, target: "//app:load", configuration: map[string]any{"daemon": "docker"}})
	_, err = RunAll(context.Background(), d, DirRunfiles(dir), testOptions(t, new(bytes.Buffer), WithLoadNames("app:1"),
		WithLoadOptions(load.WithEnv([]string{"PATH=/nonexistent", "DOCKER=/nonexistent/docker"})))...)
	if want := "operation 0 (//app:load): load of docker.io/library/app:1: no container runtime reachable"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("RunAll() = %v, want an error containing %q", err, want)
	}
}
