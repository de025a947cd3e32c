package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/rules-img/rules_img/img_tool/pkg/load"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
)

// fastRetries keeps the number of attempts of the default and shortens
// the waits, so that failing tests end quickly.
var fastRetries = registry.WithRetryBackoff(remote.Backoff{Duration: 20 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: registry.DefaultBackoff.Steps})

// testOptions are the options of every test push: no credentials, fast
// retries, progress into buf.
func testOptions(t *testing.T, buf *bytes.Buffer, more ...Option) []Option {
	return append([]Option{WithRegistryOptions(registry.WithConfigDir(t.TempDir()), fastRetries), WithProgress(buf)}, more...)
}

// runPush writes a runfiles tree of ops and runs it.
func runPush(t *testing.T, settings Settings, opts []Option, ops ...fakeOp) ([]PushResult, error) {
	t.Helper()
	dir := t.TempDir()
	d := writeRunfiles(t, dir, settings, ops...)
	return Run(context.Background(), d, DirRunfiles(dir), opts...)
}

// inProcessRegistry is go-containerregistry's registry, in memory.
func inProcessRegistry(t *testing.T) string {
	s := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// direct reads from a registry without the code under test.
func direct(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkImage reads ref back with go-containerregistry and validates it.
func checkImage(t *testing.T, ref string, want v1.Image) {
	t.Helper()
	got, err := remote.Image(direct(t, ref))
	if err != nil {
		t.Fatalf("read back %s: %v", ref, err)
	}
	if gd, wd := must[v1.Hash](t)(got.Digest()), must[v1.Hash](t)(want.Digest()); gd != wd {
		t.Errorf("%s is %s, want %s", ref, gd, wd)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("validate %s: %v", ref, err)
	}
}

// tagExists asks the registry directly whether ref (a tag) exists.
func tagExists(t *testing.T, ref string) bool {
	t.Helper()
	_, err := remote.Head(direct(t, ref))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return false
	}
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return true
}

// blobExists asks the registry directly with HEAD.
func blobExists(t *testing.T, host, repo, digest string) bool {
	t.Helper()
	resp, err := http.Head(fmt.Sprintf("http://%s/v2/%s/blobs/%s", host, repo, digest))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func checkCounts(t *testing.T, r PushResult, blobs, uploaded, mounted, streamed, existed int) {
	t.Helper()
	if r.Blobs != blobs || r.Uploaded != uploaded || r.Mounted != mounted || r.Streamed != streamed || r.Existed != existed {
		t.Errorf("%s: blobs %d uploaded %d mounted %d streamed %d existed %d; want %d %d %d %d %d",
			r.Reference(), r.Blobs, r.Uploaded, r.Mounted, r.Streamed, r.Existed, blobs, uploaded, mounted, streamed, existed)
	}
}

var (
	blobLine    = regexp.MustCompile(`^(exists |uploaded|mounted|streamed) sha256:[0-9a-f]{12}… \([0-9.]+ (B|kB|MB|GB)\)$`)
	summaryLine = regexp.MustCompile(`^pushed [^ ]+/[^ ]+@sha256:[0-9a-f]{64}: uploaded \d+ of \d+ blobs \([0-9.]+ (B|kB|MB|GB) of [0-9.]+ (B|kB|MB|GB)\), mounted \d+, streamed \d+, existed \d+$`)
	tagLine     = regexp.MustCompile(`^tagged  [^ ]+/[^ ]+:[^ ]+$`)
)

// checkProgress checks that every progress line has one of the formats and
// that there are n blob lines.
func checkProgress(t *testing.T, out string, blobs int) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case blobLine.MatchString(line):
			n++
		case summaryLine.MatchString(line), tagLine.MatchString(line):
		default:
			t.Errorf("progress line %q has no known format", line)
		}
	}
	if n != blobs {
		t.Errorf("%d blob lines, want %d:\n%s", n, blobs, out)
	}
}

func TestPushInProcess(t *testing.T) {
	host := inProcessRegistry(t)
	img := testImage(t, testLayer(t, 10, 2000), testLayer(t, 11, 3000))
	var buf bytes.Buffer
	res, err := runPush(t, Settings{PushStrategy: "eager"}, testOptions(t, &buf, WithJobs(2)), fakeOp{img: img, configuration: push(host, "app/one", "v1", "latest")})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res[0], 3, 3, 0, 0, 0)
	checkProgress(t, buf.String(), 3)
	t.Logf("progress:\n%s", buf.String())
	if !strings.Contains(buf.String(), "\npushed "+host+"/app/one@"+res[0].Digest+": uploaded 3 of 3 blobs") {
		t.Errorf("no summary line in:\n%s", buf.String())
	}
	if res[0].Reference() != host+"/app/one@"+must[v1.Hash](t)(img.Digest()).String() {
		t.Errorf("Reference() = %s", res[0].Reference())
	}
	for _, tag := range []string{"v1", "latest"} {
		checkImage(t, host+"/app/one:"+tag, img)
	}
	// Run-time tags come after the target's; a tag given twice is written
	// once.
	buf.Reset()
	res, err = runPush(t, Settings{}, testOptions(t, &buf, WithTags("run-time", "v2", "run-time")), fakeOp{img: img, configuration: push(host, "app/one", "v2")})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res[0], 3, 0, 0, 0, 3)
	checkProgress(t, buf.String(), 3)
	checkImage(t, host+"/app/one:run-time", img)
	checkImage(t, host+"/app/one:v2", img)
	if !reflectEqual(res[0].Tags, []string{"v2", "run-time"}) {
		t.Errorf("tags %q written, want v2, run-time", res[0].Tags)
	}
	ref := host + "/app/one"
	if want := []string{res[0].Reference(), ref + ":v2", ref + ":run-time"}; !reflectEqual(res[0].References(), want) {
		t.Errorf("References() = %q, want %q", res[0].References(), want)
	}
}

func reflectEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestRunErrors(t *testing.T) {
	// Every case has its own registry: go-containerregistry's keeps blobs
	// for all repositories, so one case's uploads would hide another's.
	const host = "HOST"
	base := testLayer(t, 20, 500)
	img := testImage(t, base, testLayer(t, 21, 500))
	baseHash := must[v1.Hash](t)(base.Digest())
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	}))
	defer deny.Close()
	denyHost := strings.TrimPrefix(deny.URL, "http://")

	for _, tc := range []struct {
		name     string
		settings Settings
		opts     []Option
		// op's registry "HOST" is replaced with the case's registry.
		op fakeOp
		// corrupt changes the runfiles tree after it was written.
		corrupt func(dir string)
		wantErr []string
		wantIs  error
		noTagAt string
	}{
		{name: "load without daemon", op: fakeOp{img: img, command: "load", configuration: map[string]string{"tag": "app:1", "daemon": "docker"}},
			opts:    []Option{WithLoadOptions(load.WithEnv([]string{"PATH=/nonexistent", "DOCKER=/nonexistent/docker"}))},
			wantErr: []string{"operation 0: load of docker.io/library/app:1: no container runtime reachable: docker: /nonexistent/docker"}, wantIs: load.ErrNoDaemon},
		{name: "bad load name", opts: []Option{WithLoadNames("Invalid:Tag!")}, op: fakeOp{img: img, command: "load", configuration: map[string]string{"tag": "app:1", "daemon": "docker"}},
			wantErr: []string{`tag "Invalid:Tag!": invalid reference format`}, wantIs: ErrInvalid},
		{name: "bad daemon override", opts: []Option{WithDaemon("dockerd")}, op: fakeOp{img: img, command: "load", configuration: map[string]string{"tag": "app:1", "daemon": "docker"}},
			wantErr: []string{`daemon "dockerd"`}, wantIs: ErrInvalid},
		{name: "bad daemon in manifest", op: fakeOp{img: img, command: "load", configuration: map[string]string{"tag": "app:1", "daemon": "dockerd"}},
			wantErr: []string{`operation 0: load of app:1: invalid: daemon "dockerd"`}, wantIs: ErrInvalid},
		{name: "tampered manifest of a load", op: fakeOp{img: img, command: "load", configuration: map[string]string{"tag": "app:1", "daemon": "docker"}},
			corrupt: func(dir string) { appendTo(t, filepath.Join(dir, ManifestPath(0, 0)), " ") },
			wantErr: []string{"operation 0: load of app:1: runfile 0/manifests/0/manifest.json is sha256:"}},
		{name: "cas_registry without blob cache", settings: Settings{PushStrategy: "cas_registry"}, op: fakeOp{img: img, configuration: push(host, "err/cas", "v1")},
			wantErr: []string{"push strategy cas_registry needs the blob cache", "IMG_BLOB_CACHE_ENDPOINT"}},
		{name: "bad registry override", opts: []Option{WithRegistry("not a host:99999")}, op: fakeOp{img: img, configuration: push(host, "err/x", "v1")},
			wantErr: []string{`registry "not a host:99999"`}, wantIs: ErrInvalid},
		{name: "bad repository override", opts: []Option{WithRepository("Bad/Repo")}, op: fakeOp{img: img, configuration: push(host, "err/x", "v1")},
			wantErr: []string{`repository "Bad/Repo"`}, wantIs: ErrInvalid},
		{name: "bad jobs", opts: []Option{WithJobs(0)}, op: fakeOp{img: img, configuration: push(host, "err/x", "v1")},
			wantErr: []string{"jobs 0"}, wantIs: ErrInvalid},
		{name: "tampered manifest", op: fakeOp{img: img, configuration: push("127.0.0.1:1", "err/x", "v1")},
			corrupt: func(dir string) { appendTo(t, filepath.Join(dir, ManifestPath(0, 0)), " ") },
			wantErr: []string{"push to 127.0.0.1:1/err/x: runfile 0/manifests/0/manifest.json is sha256:", "the deploy manifest says"}},
		{name: "unreachable registry", op: fakeOp{img: img, configuration: push("127.0.0.1:1", "err/x", "v1")},
			wantErr: []string{"push to 127.0.0.1:1/err/x: blob sha256:", "127.0.0.1:1"}},
		{name: "unauthorized", op: fakeOp{img: img, configuration: push(denyHost, "err/x", "v1")},
			wantErr: []string{"push to " + denyHost + "/err/x: blob", "401 UNAUTHORIZED", "config.json"}},
		{name: "layer not in runfiles", op: fakeOp{img: img, skip: map[v1.Hash]bool{baseHash: true}, configuration: push(host, "err/skip", "v1")},
			wantErr: []string{"push to " + host + "/err/skip: blob " + baseHash.String() + " (layer 0 of manifest 0)", "no remote cache is configured", "IMG_REAPI_ENDPOINT"}, noTagAt: host + "/err/skip:v1"},
		{name: "corrupt layer", op: fakeOp{img: img, configuration: push(host, "err/corrupt", "v1")},
			corrupt: func(dir string) { flipByte(t, filepath.Join(dir, LayerPath(0, 0, 1))) },
			wantErr: []string{"(layer 1 of manifest 0)", "0/manifests/0/layer/1: content is sha256:"}, noTagAt: host + "/err/corrupt:v1"},
		{name: "missing blob without origin", op: fakeOp{img: img, missing: map[v1.Hash]bool{baseHash: true}, configuration: push(host, "err/origin", "v1")},
			wantErr: []string{"blob " + baseHash.String() + " (layer 0 of manifest 0): a missing blob of the base image"}, noTagAt: host + "/err/origin:v1"},
		{name: "missing blob not at origin", op: fakeOp{img: img, missing: map[v1.Hash]bool{baseHash: true}, configuration: push(host, "err/origin2", "v1"),
			origRegistries: []string{host}, origRepository: "nowhere/base"},
			wantErr: []string{"blob " + baseHash.String(), "nowhere/base"}, noTagAt: host + "/err/origin2:v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := inProcessRegistry(t)
			op := tc.op
			if conf, ok := op.configuration.(map[string]any); ok && conf["registry"] == host {
				conf = maps.Clone(conf)
				conf["registry"] = reg
				op.configuration = conf
			}
			for i, r := range op.origRegistries {
				if r == host {
					op.origRegistries = slices.Clone(op.origRegistries)
					op.origRegistries[i] = reg
				}
			}
			dir := t.TempDir()
			d := writeRunfiles(t, dir, tc.settings, op)
			if tc.corrupt != nil {
				tc.corrupt(dir)
			}
			var buf bytes.Buffer
			_, err := Run(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf, tc.opts...)...)
			if err == nil {
				t.Fatal("Run() succeeded")
			}
			t.Logf("error: %v", err)
			for _, s := range tc.wantErr {
				if s = strings.ReplaceAll(s, host, reg); !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if tc.noTagAt != "" && tagExists(t, strings.ReplaceAll(tc.noTagAt, host, reg)) {
				t.Errorf("the failed push wrote %s", tc.noTagAt)
			}
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}

func flipByte(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTagAnswerLost: the registry writes a tag, but every answer to the
// tag's PUT is lost. The push succeeds when the registry shows the tag
// pointing at the root, and fails when the tag was never written.
func TestTagAnswerLost(t *testing.T) {
	for _, tc := range []struct {
		name      string
		writeTag  bool
		wantError string
	}{
		{"tag written", true, ""},
		{"tag not written", false, "tag v1: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
			var lost atomic.Int32
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/v1") {
					lost.Add(1)
					if tc.writeTag {
						reg.ServeHTTP(httptest.NewRecorder(), r)
					}
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
					return
				}
				reg.ServeHTTP(w, r)
			}))
			defer s.Close()
			host := strings.TrimPrefix(s.URL, "http://")
			img := testImage(t, testLayer(t, 30, 500))
			res, err := runPush(t, Settings{}, testOptions(t, new(bytes.Buffer)), fakeOp{img: img, configuration: push(host, "lost/app", "v1")})
			if lost.Load() == 0 {
				t.Fatal("no tag PUT was seen")
			}
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("Run() = %v, want an error containing %q", err, tc.wantError)
				}
				if tagExists(t, host+"/lost/app:v1") {
					t.Error("the tag exists")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflectEqual(res[0].Tags, []string{"v1"}) {
				t.Errorf("tags %q, want v1", res[0].Tags)
			}
			checkImage(t, host+"/lost/app:v1", img)
		})
	}
}
