//go:build !img_build_actions

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/load"
)

// mustDo returns v; test fixtures that cannot fail panic on err.
func mustDo[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// deployImage is an OCI image of two random layers.
func deployImage(t *testing.T, seed int64) v1.Image {
	t.Helper()
	var layers []v1.Layer
	for i := int64(0); i < 2; i++ {
		layers = append(layers, mustDo(random.Layer(2000, types.OCILayer, random.WithSource(rand.NewSource(seed+i)))))
	}
	img := mustDo(mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...))
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// deployInputs writes the files that the deploy rules give
// `img deploy-metadata`: manifests (m0.json, ...), index.json when there
// are several images, and push.json.
type deployInputs struct {
	dir       string
	root      string
	manifests []string
	conf      string
}

func newDeployInputs(t *testing.T, conf string, imgs ...v1.Image) deployInputs {
	t.Helper()
	in := deployInputs{dir: t.TempDir()}
	var adds []mutate.IndexAddendum
	for i, img := range imgs {
		in.manifests = append(in.manifests, writeFile(t, filepath.Join(in.dir, fmt.Sprintf("m%d.json", i)), mustDo(img.RawManifest())))
		adds = append(adds, mutate.IndexAddendum{Add: img})
	}
	in.root = in.manifests[0]
	if len(imgs) > 1 {
		idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
		in.root = writeFile(t, filepath.Join(in.dir, "index.json"), mustDo(idx.RawManifest()))
	}
	in.conf = writeFile(t, filepath.Join(in.dir, "push.json"), []byte(conf))
	return in
}

func TestDeployMetadataCommand(t *testing.T) {
	img0, img1 := deployImage(t, 1), deployImage(t, 3)
	single := newDeployInputs(t, `{"registry":"127.0.0.1:5000","repository":"org/app","tags":["v1","latest"]}`, img0)
	multi := newDeployInputs(t, `{"registry":"ghcr.io","repository":"org/app","tags":[]}`, img0, img1)
	load := newDeployInputs(t, `{"tag":"app:latest","daemon":"docker"}`, img0)
	loadTags := newDeployInputs(t, `{"tag":"","tags":["app:1","app:2"],"daemon":"containerd"}`, img0)
	loadNoName := newDeployInputs(t, `{"daemon":"docker"}`, img0)
	noDest := newDeployInputs(t, `{"registry":"","repository":"","tags":["{{.STABLE_GIT_COMMIT}}"]}`, img0)
	badRepo := newDeployInputs(t, `{"registry":"ghcr.io","repository":"Bad/Repo","tags":["v1"]}`, img0)
	badReg := newDeployInputs(t, `{"registry":"not a host:99999","repository":"org/app"}`, img0)
	layer0 := mustDo(mustDo(img1.Layers())[0].Digest()).Hex
	pushArgs := func(in deployInputs, kind string) []string {
		return []string{"--command", "push", "--root-path", in.root, "--root-kind", kind, "--configuration-file", in.conf}
	}

	for _, tc := range []struct {
		name    string
		args    []string
		check   func(t *testing.T, d *deploy.Dispatch)
		wantErr string
	}{
		{name: "manifest", args: append(pushArgs(single, "manifest"), "--manifest-path", "0="+single.manifests[0],
			"--original-registry", "index.docker.io", "--original-registry", "mirror.gcr.io", "--original-repository", "library/base",
			"--original-tag", "1.0", "--original-digest", "sha256:"+strings.Repeat("ab", 32)),
			check: func(t *testing.T, d *deploy.Dispatch) {
				op := d.Operations[0]
				if d.Settings != (deploy.Settings{PushStrategy: "eager"}) || op.RootKind != "manifest" || op.Registry != "127.0.0.1:5000" ||
					!reflect.DeepEqual(op.Tags, []string{"v1", "latest"}) || len(op.Manifests) != 1 || len(op.Manifests[0].LayerBlobs) != 2 ||
					!reflect.DeepEqual(op.OriginalRegistries, []string{"index.docker.io", "mirror.gcr.io"}) || op.OriginalTag != "1.0" {
					t.Errorf("dispatch = %+v", d)
				}
				if want := mustDo(img0.Digest()).String(); op.Root.Digest != want {
					t.Errorf("root %s, want %s", op.Root.Digest, want)
				}
			}},
		{name: "manifest path defaults to the root", args: pushArgs(single, "manifest"),
			check: func(t *testing.T, d *deploy.Dispatch) {
				if d.Operations[0].Manifests[0].Descriptor != d.Operations[0].Root {
					t.Errorf("manifest 0 = %+v", d.Operations[0].Manifests[0])
				}
			}},
		{name: "index, strategy, missing blobs", args: append(pushArgs(multi, "index"), "--strategy", "lazy",
			"--manifest-path", "1="+multi.manifests[1], "--manifest-path", "0="+multi.manifests[0],
			"--missing-blobs-for-manifest", "1="+layer0+",", "--missing-blobs-for-manifest", "0="),
			check: func(t *testing.T, d *deploy.Dispatch) {
				op := d.Operations[0]
				if d.Settings.PushStrategy != "lazy" || op.RootKind != "index" || len(op.Manifests) != 2 || len(op.Tags) != 0 ||
					!reflect.DeepEqual(op.Manifests[1].MissingBlobs, []string{layer0}) || op.Manifests[0].MissingBlobs != nil {
					t.Errorf("dispatch = %+v", d)
				}
			}},
		{name: "load", args: []string{"--command", "load", "--root-path", load.root, "--root-kind", "manifest", "--configuration-file", load.conf, "--target", "//app:load"},
			check: func(t *testing.T, d *deploy.Dispatch) {
				if op := d.Operations[0]; !reflect.DeepEqual(op.Tags, []string{"app:latest"}) || op.Tag != "" || op.Target != "//app:load" || op.Daemon != "docker" || d.Settings.LoadStrategy != "eager" {
					t.Errorf("dispatch = %+v", d)
				}
			}},
		{name: "load, tags", args: []string{"--command", "load", "--root-path", loadTags.root, "--root-kind", "manifest", "--configuration-file", loadTags.conf},
			check: func(t *testing.T, d *deploy.Dispatch) {
				if op := d.Operations[0]; !reflect.DeepEqual(op.Tags, []string{"app:1", "app:2"}) || op.Target != "" || op.Daemon != "containerd" {
					t.Errorf("dispatch = %+v", d)
				}
			}},
		{name: "load without a name", args: []string{"--command", "load", "--root-path", loadNoName.root, "--root-kind", "manifest", "--configuration-file", loadNoName.conf},
			check: func(t *testing.T, d *deploy.Dispatch) {
				if op := d.Operations[0]; len(op.LoadNames()) != 0 || op.Daemon != "docker" {
					t.Errorf("dispatch = %+v", d)
				}
			}},
		{name: "push without destination, template tag", args: append(pushArgs(noDest, "manifest"), "--target", "//app:push"),
			check: func(t *testing.T, d *deploy.Dispatch) {
				if op := d.Operations[0]; op.Registry != "" || op.Repository != "" || op.Target != "//app:push" || !reflect.DeepEqual(op.Tags, []string{"{{.STABLE_GIT_COMMIT}}"}) {
					t.Errorf("dispatch = %+v", d)
				}
			}},
		{name: "bad repository", args: pushArgs(badRepo, "manifest"), wantErr: `repository "Bad/Repo": path component "Bad" has uppercase letters`},
		{name: "bad registry", args: pushArgs(badReg, "manifest"), wantErr: `registry "not a host:99999"`},
		{name: "no command", args: pushArgs(single, "manifest")[2:], wantErr: "--command is required"},
		{name: "bad command", args: append([]string{"--command", "copy"}, pushArgs(single, "manifest")[2:]...), wantErr: `command "copy"`},
		{name: "no root", args: []string{"--command", "push", "--root-kind", "manifest", "--configuration-file", single.conf}, wantErr: "--root-path is required"},
		{name: "bad root kind", args: pushArgs(single, "image"), wantErr: `root kind "image"`},
		{name: "root kind mismatch", args: append(pushArgs(multi, "manifest"), "--manifest-path", "0="+multi.manifests[0]), wantErr: "an index"},
		{name: "bad strategy", args: append(pushArgs(single, "manifest"), "--strategy", "fast"), wantErr: `push strategy "fast"`},
		{name: "bad manifest-path", args: append(pushArgs(single, "manifest"), "--manifest-path", "x="+single.root), wantErr: `--manifest-path "x=`},
		{name: "manifest index gap", args: append(pushArgs(multi, "index"), "--manifest-path", "1="+multi.manifests[1]), wantErr: "no file for manifest 0"},
		{name: "manifest index twice", args: append(pushArgs(single, "manifest"), "--manifest-path", "0="+single.root, "--manifest-path", "0="+single.root), wantErr: "manifest 0 given 2 times"},
		{name: "index without manifests", args: pushArgs(multi, "index"), wantErr: "no manifest given"},
		{name: "missing blob of no manifest", args: append(pushArgs(single, "manifest"), "--missing-blobs-for-manifest", "2="+layer0), wantErr: "missing blobs for manifest 2"},
		{name: "missing blob not a layer", args: append(pushArgs(single, "manifest"), "--missing-blobs-for-manifest", "0="+layer0), wantErr: "is not a layer"},
		{name: "no configuration file", args: []string{"--command", "push", "--root-path", single.root, "--root-kind", "manifest", "--configuration-file", "/nonexistent.json"}, wantErr: "--configuration-file"},
		{name: "no output", args: pushArgs(single, "manifest"), wantErr: "want exactly one OUTPUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "dispatch.json")
			args := append([]string{"deploy-metadata"}, tc.args...)
			if tc.name != "no output" {
				args = append(args, out)
			}
			code, stderr := runImg(t, args...)
			if tc.wantErr != "" {
				if code != 1 || !strings.Contains(stderr, tc.wantErr) {
					t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.wantErr)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("a failed run wrote %s", out)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			d, err := deploy.Read(out)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d)
		})
	}
}

func TestDeployMergeCommand(t *testing.T) {
	img := deployImage(t, 5)
	dir := t.TempDir()
	var inputs []string
	for i, repo := range []string{"org/a", "org/b"} {
		in := newDeployInputs(t, `{"registry":"ghcr.io","repository":"`+repo+`","tags":["v1"]}`, img)
		p := filepath.Join(dir, fmt.Sprintf("in%d.json", i))
		mustRun(t, "deploy-metadata", "--command", "push", "--root-path", in.root, "--root-kind", "manifest", "--configuration-file", in.conf, "--strategy", "lazy", p)
		inputs = append(inputs, p)
	}
	loadIn := newDeployInputs(t, `{"tag":"app:1","daemon":"podman"}`, img)
	loadPath := filepath.Join(dir, "load.json")
	mustRun(t, "deploy-metadata", "--command", "load", "--root-path", loadIn.root, "--root-kind", "manifest", "--configuration-file", loadIn.conf, loadPath)
	bad := writeFile(t, filepath.Join(dir, "bad.json"), []byte(`{"operations":[],"settings":{},"x":1}`))
	// A deploy plan (what the build writes for non-bes strategies) as input 1:
	// its files come from --runfile 1/....
	planIn := newDeployInputs(t, `{"registry":"ghcr.io","repository":"org/c","tags":["v1"]}`, img)
	plan := writeFile(t, filepath.Join(dir, "plan.json"), []byte(`{"planned_operations":[{"command":"push","target":"//app:push_c","root_kind":"manifest","strategy":"eager","manifests":1}],"settings":{"push_strategy":"eager"}}`))
	planFiles := []string{"--runfile", "1/root.json=" + planIn.root, "--runfile", "1/manifests/0/manifest.json=" + planIn.root, "--runfile", "1/configuration.json=" + planIn.conf}

	for _, tc := range []struct {
		name     string
		flags    []string
		inputs   []string
		wantCmds []string
		wantSet  deploy.Settings
		wantErr  string
	}{
		{"defaults", nil, []string{inputs[1], loadPath, inputs[0]}, []string{"push org/b", "load app:1", "push org/a"}, deploy.Settings{PushStrategy: "eager", LoadStrategy: "eager"}, ""},
		{"strategies", []string{"--push-strategy", "bes", "--load-strategy", "lazy"}, []string{inputs[0]}, []string{"push org/a"}, deploy.Settings{PushStrategy: "bes", LoadStrategy: "lazy"}, ""},
		{"bad strategy", []string{"--load-strategy", "bes"}, []string{inputs[0]}, nil, deploy.Settings{}, `load_strategy "bes"`},
		{"strict input", nil, []string{inputs[0], bad}, nil, deploy.Settings{}, `bad.json: invalid: json: unknown field "x"`},
		{"no inputs", nil, nil, nil, deploy.Settings{}, "want OUTPUT and at least one INPUT"},
		{"plan input", planFiles, []string{inputs[0], plan}, []string{"push org/a", "push org/c"}, deploy.Settings{PushStrategy: "eager", LoadStrategy: "eager"}, ""},
		{"plan input without its files", planFiles[:2], []string{inputs[0], plan}, nil, deploy.Settings{}, "//app:push_c: runfile 1/configuration.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "merged.json")
			args := append(append(append([]string{"deploy-merge"}, tc.flags...), out), tc.inputs...)
			code, stderr := runImg(t, args...)
			if tc.wantErr != "" {
				if code != 1 || !strings.Contains(stderr, tc.wantErr) {
					t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.wantErr)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("a failed merge wrote %s", out)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			d, err := deploy.Read(out)
			if err != nil {
				t.Fatal(err)
			}
			var cmds []string
			for _, op := range d.Operations {
				what := op.Repository
				if op.Command == deploy.CommandLoad {
					what = strings.Join(op.LoadNames(), ",")
				}
				cmds = append(cmds, op.Command+" "+what)
			}
			if !reflect.DeepEqual(cmds, tc.wantCmds) || d.Settings != tc.wantSet {
				t.Errorf("merged %q %+v, want %q %+v", cmds, d.Settings, tc.wantCmds, tc.wantSet)
			}
		})
	}
}

// writeDeployTarget writes what `bazel run` of an image_push target sees:
// the launcher path and its runfiles tree with dispatch.json, made by
// `img deploy-metadata` with the extra flags.
func writeDeployTarget(t *testing.T, conf string, img v1.Image, command string, extra ...string) (exe string) {
	t.Helper()
	in := newDeployInputs(t, conf, img)
	exe = filepath.Join(t.TempDir(), "bin", "push")
	writeFile(t, exe, []byte("#!/bin/false\n"))
	rf := exe + ".runfiles"
	args := append([]string{"deploy-metadata", "--command", command, "--root-path", in.root, "--root-kind", "manifest", "--configuration-file", in.conf}, extra...)
	mustRun(t, append(args, filepath.Join(writeDir(t, rf), "dispatch.json"))...)
	raw := mustDo(img.RawManifest())
	writeFile(t, filepath.Join(rf, deploy.RootPath(0)), raw)
	writeFile(t, filepath.Join(rf, deploy.ManifestPath(0, 0)), raw)
	writeFile(t, filepath.Join(rf, deploy.ConfigPath(0, 0)), mustDo(img.RawConfigFile()))
	for j, l := range mustDo(img.Layers()) {
		rc := mustDo(l.Compressed())
		writeFile(t, filepath.Join(rf, deploy.LayerPath(0, 0, j)), mustDo(io.ReadAll(rc)))
		rc.Close()
	}
	return exe
}

func writeDir(t *testing.T, dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDeployRunfilesDetection(t *testing.T) {
	exe := writeDeployTarget(t, `{"registry":"127.0.0.1:1","repository":"org/app","tags":[]}`, deployImage(t, 7), "push")
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name  string
		args  []string
		found bool
	}{
		{"launcher", []string{exe}, true},
		{"launcher with flags", []string{exe, "--tag", "x"}, true},
		{"subcommand", []string{exe, "layer", "--help"}, false},
		{"other binary", []string{filepath.Join(filepath.Dir(exe), "img")}, false},
		{"no args", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deployRunfiles(tc.args, noEnv) != nil; got != tc.found {
				t.Errorf("deployRunfiles(%q) found = %v, want %v", tc.args, got, tc.found)
			}
		})
	}
}

func TestDeployLauncher(t *testing.T) {
	pushExe := writeDeployTarget(t, `{"registry":"127.0.0.1:1","repository":"org/app","tags":["v1"]}`, deployImage(t, 9), "push", "--target", "//app:push")
	loadExe := writeDeployTarget(t, `{"tag":"app:1","daemon":"docker"}`, deployImage(t, 9), "load", "--target", "//app:load")
	stampExe := writeDeployTarget(t, `{"registry":"127.0.0.1:1","repository":"org/app","tags":["v-{{.BUILD_TIMESTAMP}}"]}`, deployImage(t, 9), "push", "--target", "//app:stamped")
	noDestExe := writeDeployTarget(t, `{"registry":"","repository":"","tags":["v1"]}`, deployImage(t, 9), "push", "--target", "//app:nodest")
	loadStampExe := writeDeployTarget(t, `{"tags":["app:{{.STABLE_USER}}"],"daemon":"docker"}`, deployImage(t, 9), "load", "--target", "//app:load")
	env := func(k string) string {
		return map[string]string{"DOCKER_CONFIG": t.TempDir(), "DOCKER": "/nonexistent/docker"}[k]
	}
	for _, tc := range []struct {
		name       string
		exe        string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"help", pushExe, []string{"--help"}, 0, "Usage: bazel run"},
		{"unknown flag", pushExe, []string{"--force"}, 1, "flag provided but not defined: -force"},
		{"argument", pushExe, []string{"extra"}, 1, `unexpected arguments ["extra"]`},
		{"bad jobs", pushExe, []string{"--jobs", "0"}, 1, "jobs 0: want at least 1"},
		{"bad tag", pushExe, []string{"--tag", "-x"}, 1, `tag "-x"`},
		{"bad repository", pushExe, []string{"--repository", "Bad/Repo"}, 1, `repository "Bad/Repo"`},
		{"bad registry", pushExe, []string{"--registry", "not a host:99999"}, 1, `registry "not a host:99999"`},
		{"unreachable", pushExe, []string{"--quiet"}, 1, "operation 0 (//app:push): push to 127.0.0.1:1/org/app: blob sha256:"},
		{"unresolved template", stampExe, []string{"--tag", "extra"}, 1, `operation 0 (//app:stamped): unresolved template: tag "v-{{.BUILD_TIMESTAMP}}" needs key BUILD_TIMESTAMP;`},
		{"unresolved template, --stamp", stampExe, nil, 1, "build with --stamp (the workspace status gives the STABLE_* and BUILD_* keys) or give BUILD_TIMESTAMP through build_settings of //app:stamped"},
		{"unresolved load name", loadStampExe, nil, 1, `operation 0 (//app:load): unresolved template: name "app:{{.STABLE_USER}}" needs key STABLE_USER`},
		{"no destination", noDestExe, nil, 1, "operation 0 (//app:nodest): incomplete destination: no registry and no repository to push to: set `registry` and `repository` on //app:nodest, build with --@rules_img//img/settings:destination_registry=HOST, or pass them at run time: bazel run //app:nodest -- --registry HOST --repository REPO; nothing was pushed"},
		{"no repository", noDestExe, []string{"--registry", "127.0.0.1:1"}, 1, "no repository to push to"},
		{"destination at run time", noDestExe, []string{"--registry", "127.0.0.1:1", "--repository", "org/app"}, 1, "operation 0 (//app:nodest): push to 127.0.0.1:1/org/app: blob sha256:"},
		{"load unreachable", loadExe, nil, 1, "operation 0 (//app:load): load of docker.io/library/app:1: no container runtime reachable: docker: /nonexistent/docker: not an executable file"},
		{"load bad tag", loadExe, []string{"--tag", "Invalid:Tag!"}, 1, `tag "Invalid:Tag!": invalid reference format`},
		{"load two more tags", loadExe, []string{"-t", "a", "-t", "b"}, 1, "load of docker.io/library/app:1, docker.io/library/a:latest, docker.io/library/b:latest: no container runtime reachable"},
		{"load bad platform", loadExe, []string{"--platform", "amd64"}, 1, `platform "amd64": want os/arch[/variant]`},
		{"load bad daemon", loadExe, []string{"--daemon", "dockerd"}, 1, `daemon "dockerd": want one of`},
		{"platform of a push", pushExe, []string{"--platform", "linux/amd64"}, 1, "--platform and --daemon apply to load operations, and this target has none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rf := deployRunfiles([]string{tc.exe}, func(string) string { return "" })
			if rf == nil {
				t.Fatal("no runfiles found")
			}
			var stdout, stderr bytes.Buffer
			code := runDeploy(context.Background(), rf, tc.args, env, &stdout, &stderr)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.wantCode, tc.wantStderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestDeployLauncherPush pushes with the launcher to a real registry: the
// target's tag and two run-time tags, then by digest only; the registry's
// tag list has all three tags.
func TestDeployLauncherPush(t *testing.T) {
	host := os.Getenv("RULES_IMG_TEST_REGISTRY")
	if host == "" {
		t.Skip("RULES_IMG_TEST_REGISTRY is unset")
	}
	repo := fmt.Sprintf("rules-img-test/launcher-%d", time.Now().UnixNano())
	img := deployImage(t, time.Now().UnixNano())
	exe := writeDeployTarget(t, `{"registry":"","repository":"","tags":["v1"]}`, img, "push", "--target", "//app:push")
	rf := deployRunfiles([]string{exe}, func(string) string { return "" })
	env := func(k string) string { return map[string]string{"IMG_DOCKER_CONFIG": t.TempDir()}[k] }
	ref := host + "/" + repo
	digestRef := ref + "@" + mustDo(img.Digest()).String()

	var stdout, stderr bytes.Buffer
	if code := runDeploy(context.Background(), rf, []string{"--registry", host, "--repository", repo, "--tag", "a", "-t", "b", "--tag", "v1", "--jobs", "1"}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := digestRef + "\n" + ref + ":v1\n" + ref + ":a\n" + ref + ":b\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	for _, s := range []string{"uploaded sha256:", "tagged  " + ref + ":v1\n", "tagged  " + ref + ":a\n", "tagged  " + ref + ":b\n",
		"pushed " + digestRef + ": uploaded 3 of 3 blobs ("} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr does not contain %q:\n%s", s, stderr.String())
		}
	}
	t.Logf("stderr:\n%s", stderr.String())
	if got := registryTags(t, host, repo); !reflect.DeepEqual(got, []string{"a", "b", "v1"}) {
		t.Errorf("tags of %s: %q, want a, b, v1", repo, got)
	}

	stdout.Reset()
	stderr.Reset()
	if code := runDeploy(context.Background(), rf, []string{"--registry", host, "--repository", repo, "--quiet"}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := digestRef + "\n" + ref + ":v1\n"; stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("--quiet: stdout %q stderr %q, want %q and nothing", stdout.String(), stderr.String(), want)
	}
}

// registryTags lists the tags of repo with the registry's tags/list API.
func registryTags(t *testing.T, host, repo string) []string {
	t.Helper()
	resp, err := http.Get("http://" + host + "/v2/" + repo + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("tags of %s: %s, %v", repo, resp.Status, err)
	}
	sort.Strings(list.Tags)
	return list.Tags
}

func TestPrintReport(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		name string
		rep  deploy.Report
		want string
	}{
		{"nothing", deploy.Report{}, ""},
		{"push by digest", deploy.Report{Pushes: []deploy.PushResult{{Registry: "ghcr.io", Repository: "org/app", Digest: d}}},
			"ghcr.io/org/app@" + d + "\n"},
		{"push with tags, then a load", deploy.Report{
			Pushes: []deploy.PushResult{{Registry: "ghcr.io", Repository: "org/app", Digest: d, Tags: []string{"v1", "latest"}},
				{Registry: "127.0.0.1:5000", Repository: "b", Digest: d}},
			Loads: []load.Result{{Name: "docker.io/library/app:1", Names: []string{"docker.io/library/app:1", "docker.io/library/app:2"}}}},
			"ghcr.io/org/app@" + d + "\nghcr.io/org/app:v1\nghcr.io/org/app:latest\n127.0.0.1:5000/b@" + d + "\ndocker.io/library/app:1\ndocker.io/library/app:2\n"},
		{"load without a name", deploy.Report{Loads: []load.Result{{Name: "moby-dangling@" + d}}}, "moby-dangling@" + d + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			printReport(&out, &tc.rep)
			if out.String() != tc.want {
				t.Errorf("printReport() wrote %q, want %q", out.String(), tc.want)
			}
		})
	}
}

// fakeLoaderBinary writes a loader program that copies its stdin to out,
// records its arguments and prints say.
func fakeLoaderBinary(t *testing.T, say string) (loader, out, args string) {
	t.Helper()
	dir := t.TempDir()
	out, args = filepath.Join(dir, "loaded.tar"), filepath.Join(dir, "args")
	loader = writeFile(t, filepath.Join(dir, "loader"), []byte("#!/bin/sh\necho \"$@\" > "+args+"\n/bin/cat > "+out+"\necho '"+say+"'\n"))
	if err := os.Chmod(loader, 0o755); err != nil {
		t.Fatal(err)
	}
	return loader, out, args
}

// TestDeployLauncherLoad loads with the launcher through a fake loader
// program (daemon generic): under the target's name and one of --tag, and
// without a name.
func TestDeployLauncherLoad(t *testing.T) {
	img := deployImage(t, 11)
	id := "sha256:" + strings.Repeat("c", 64)
	for _, tc := range []struct {
		name       string
		conf       string
		args       []string
		say        string
		wantStdout string
		wantStderr string
	}{
		{"target name and --tag", `{"tag":"app:1","daemon":"docker"}`, []string{"-t", "registry.local/team/app:dev", "--platform", "all"}, "Loaded image: app:1",
			"docker.io/library/app:1\nregistry.local/team/app:dev\n", "loaded docker.io/library/app:1, registry.local/team/app:dev with loader image load: sent 4 blobs ("},
		{"tags list", `{"tags":["app:1","app:2"],"daemon":"generic"}`, nil, "",
			"docker.io/library/app:1\ndocker.io/library/app:2\n", "loaded docker.io/library/app:1, docker.io/library/app:2 with loader image load"},
		{"no name", `{"tag":"","daemon":"generic"}`, nil, "Loaded image ID: " + id,
			id + "\n", "loaded " + id + " (no name) with loader image load: sent 4 blobs ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exe := writeDeployTarget(t, tc.conf, img, "load", "--target", "//app:load")
			rf := deployRunfiles([]string{exe}, func(string) string { return "" })
			loader, out, args := fakeLoaderBinary(t, tc.say)
			env := func(k string) string { return map[string]string{"LOADER_BINARY": loader}[k] }
			var stdout, stderr bytes.Buffer
			if code := runDeploy(context.Background(), rf, append([]string{"--daemon", "generic"}, tc.args...), env, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantStderr, stderr.String())
			}
			if st, err := os.Stat(out); err != nil || st.Size() == 0 {
				t.Errorf("the loader read nothing: %v", err)
			}
			if got, _ := os.ReadFile(args); string(got) != "image load\n" {
				t.Errorf("the loader ran with %q, want image load", got)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	t.Setenv("DOCKER_DEFAULT_PLATFORM", "linux/s390x")
	t.Setenv("RULES_IMG_TEST_INHERITED", "yes")
	env := loadEnv(func(k string) string {
		return map[string]string{"DOCKER_DEFAULT_PLATFORM": "linux/arm64", "LOADER_BINARY": "nerdctl"}[k]
	})
	for _, kv := range []string{"DOCKER_DEFAULT_PLATFORM=linux/arm64", "LOADER_BINARY=nerdctl", "RULES_IMG_TEST_INHERITED=yes"} {
		if !slices.Contains(env, kv) {
			t.Errorf("loadEnv() has no %s", kv)
		}
	}
	if slices.Contains(env, "DOCKER_DEFAULT_PLATFORM=linux/s390x") {
		t.Errorf("loadEnv() kept the process's DOCKER_DEFAULT_PLATFORM")
	}
}

// TestDeployLauncherLoadContainerd loads with the launcher into the
// containerd at $RULES_IMG_TEST_CONTAINERD, twice.
func TestDeployLauncherLoadContainerd(t *testing.T) {
	socket := os.Getenv("RULES_IMG_TEST_CONTAINERD")
	if socket == "" {
		t.Skip("RULES_IMG_TEST_CONTAINERD is unset")
	}
	exe := writeDeployTarget(t, `{"daemon":"docker"}`, deployImage(t, time.Now().UnixNano()), "load")
	rf := deployRunfiles([]string{exe}, func(string) string { return "" })
	env := func(k string) string {
		return map[string]string{"CONTAINERD_ADDRESS": socket, "CONTAINERD_NAMESPACE": "rules_img_test"}[k]
	}
	name := fmt.Sprintf("rules-img-test/launcher:%d", time.Now().UnixNano())
	want := "docker.io/" + name + "\n"
	var stdout, stderr bytes.Buffer
	if code := runDeploy(context.Background(), rf, []string{"--daemon", "containerd", "--tag", name}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	t.Logf("stderr:\n%s", stderr.String())
	if stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if s := "(namespace rules_img_test): wrote 4 of 4 blobs ("; !strings.Contains(stderr.String(), s) {
		t.Errorf("stderr does not contain %q", s)
	}
	stdout.Reset()
	stderr.Reset()
	if code := runDeploy(context.Background(), rf, []string{"--daemon", "containerd", "--tag", name, "--quiet"}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.String() != want || stderr.Len() != 0 {
		t.Errorf("--quiet: stdout %q stderr %q, want %q and nothing", stdout.String(), stderr.String(), want)
	}
}

// writeLoadTarget writes what `bazel run` of a load target (a multi_deploy
// of loads when there are several configurations) sees: the launcher path
// and its runfiles. The image is imgs[0], or an index of imgs.
func writeLoadTarget(t *testing.T, imgs []v1.Image, confs ...string) (exe string) {
	t.Helper()
	exe = filepath.Join(t.TempDir(), "bin", "load")
	writeFile(t, exe, []byte("#!/bin/false\n"))
	rf := writeDir(t, exe+".runfiles")
	var ops []string
	for i, conf := range confs {
		in := newDeployInputs(t, conf, imgs...)
		kind := "manifest"
		if len(imgs) > 1 {
			kind = "index"
		}
		args := []string{"deploy-metadata", "--command", "load", "--root-path", in.root, "--root-kind", kind, "--configuration-file", in.conf, "--target", fmt.Sprintf("//app:load%d", i)}
		for m, p := range in.manifests {
			args = append(args, "--manifest-path", fmt.Sprintf("%d=%s", m, p))
		}
		op := filepath.Join(t.TempDir(), "op.json")
		mustRun(t, append(args, op)...)
		ops = append(ops, op)
		writeFile(t, filepath.Join(rf, deploy.RootPath(i)), mustDo(os.ReadFile(in.root)))
		for m, img := range imgs {
			writeFile(t, filepath.Join(rf, deploy.ManifestPath(i, m)), mustDo(img.RawManifest()))
			writeFile(t, filepath.Join(rf, deploy.ConfigPath(i, m)), mustDo(img.RawConfigFile()))
			for j, l := range mustDo(img.Layers()) {
				rc := mustDo(l.Compressed())
				writeFile(t, filepath.Join(rf, deploy.LayerPath(i, m, j)), mustDo(io.ReadAll(rc)))
				rc.Close()
			}
		}
	}
	mustRun(t, append([]string{"deploy-merge", filepath.Join(rf, "dispatch.json")}, ops...)...)
	return exe
}

// tarEntries reads a tar: its entries by name.
func tarEntries(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		out[h.Name] = mustDo(io.ReadAll(tr))
	}
}

// TestDeployLauncherTar runs load targets with daemon tar: stdout is the
// tar (nothing else), which go-containerregistry reads back as a docker
// save tarball; the names and the progress go to stderr.
func TestDeployLauncherTar(t *testing.T) {
	img0, img1 := deployImage(t, 21), deployImage(t, 23)
	for _, tc := range []struct {
		name       string
		imgs       []v1.Image
		confs      []string
		args       []string
		wantTags   []string
		wantRoot   v1.Hash
		wantStderr []string
	}{
		{"target daemon tar", []v1.Image{img0}, []string{`{"tag":"app:1","daemon":"tar"}`}, nil,
			[]string{"app:1"}, mustDo(img0.Digest()), []string{"docker.io/library/app:1\n", "wrote docker.io/library/app:1 to stdout: a docker-save and OCI layout tar of 4 blobs ("}},
		{"--daemon tar, --tag, --quiet", []v1.Image{img0}, []string{`{"tag":"app:1","daemon":"docker"}`}, []string{"--daemon", "tar", "--tag", "app:2", "--quiet"},
			[]string{"app:1", "app:2"}, mustDo(img0.Digest()), []string{"docker.io/library/app:1\ndocker.io/library/app:2\n"}},
		{"index without platforms", []v1.Image{img0, img1}, []string{`{"tags":["app:multi"],"daemon":"tar"}`}, nil,
			[]string{"app:multi"}, mustDo(mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{Add: img0}, mutate.IndexAddendum{Add: img1}).Digest()),
			[]string{"note: the index has no manifest for the host platform " + load.HostPlatform() + "; the tar's manifest.json lists its first, unknown", "a docker-save and OCI layout tar of 9 blobs ("}},
		{"no name: the root digest on stderr", []v1.Image{img0}, []string{`{"daemon":"tar"}`}, nil,
			nil, mustDo(img0.Digest()), []string{mustDo(img0.Digest()).String() + "\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rf := deployRunfiles([]string{writeLoadTarget(t, tc.imgs, tc.confs...)}, func(string) string { return "" })
			var stdout, stderr bytes.Buffer
			if code := runDeploy(context.Background(), rf, tc.args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			t.Logf("stderr:\n%s", stderr.String())
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr does not contain %q", s)
				}
			}
			files := tarEntries(t, stdout.Bytes())
			var dm []struct{ RepoTags []string }
			if err := json.Unmarshal(files["manifest.json"], &dm); err != nil || len(dm) != 1 {
				t.Fatalf("manifest.json %s: %v", files["manifest.json"], err)
			}
			if want := append([]string{}, tc.wantTags...); !reflect.DeepEqual(dm[0].RepoTags, want) {
				t.Errorf("RepoTags %q, want %q", dm[0].RepoTags, want)
			}
			if !strings.Contains(string(files["index.json"]), tc.wantRoot.String()) {
				t.Errorf("index.json %s does not name %s", files["index.json"], tc.wantRoot)
			}
			file := writeFile(t, filepath.Join(t.TempDir(), "image.tar"), stdout.Bytes())
			img, err := tarball.ImageFromPath(file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Errorf("validate: %v", err)
			}
		})
	}
}

func TestDeployLauncherTarErrors(t *testing.T) {
	img := deployImage(t, 25)
	twoTars := writeLoadTarget(t, []v1.Image{img}, `{"tag":"app:1","daemon":"tar"}`, `{"tag":"app:2","daemon":"tar"}`)
	tarAndDocker := writeLoadTarget(t, []v1.Image{img}, `{"tag":"app:1","daemon":"tar"}`, `{"tag":"app:2","daemon":"docker"}`)
	one := writeLoadTarget(t, []v1.Image{img}, `{"tag":"app:1","daemon":"tar"}`)
	devZero := mustDo(os.OpenFile("/dev/zero", os.O_WRONLY, 0))
	defer devZero.Close()
	env := func(k string) string { return map[string]string{"DOCKER": "/nonexistent/docker"}[k] }
	for _, tc := range []struct {
		name       string
		exe        string
		args       []string
		stdout     io.Writer
		wantStderr string
	}{
		{"two tar loads", twoTars, nil, &bytes.Buffer{}, "2 load operations write a tar to stdout (daemon tar), which takes one"},
		{"--daemon tar makes two", tarAndDocker, []string{"--daemon", "tar"}, &bytes.Buffer{}, "2 load operations write a tar to stdout"},
		{"stdout a character device", one, nil, devZero, "daemon tar writes the image as a tar to stdout, which is a terminal"},
		{"tar, then docker fails: the tar was written", tarAndDocker, nil, &bytes.Buffer{}, "operation 1 (//app:load1): load of docker.io/library/app:2: no container runtime reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rf := deployRunfiles([]string{tc.exe}, func(string) string { return "" })
			var stderr bytes.Buffer
			code := runDeploy(context.Background(), rf, tc.args, env, tc.stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tc.wantStderr)
			}
			b, _ := tc.stdout.(*bytes.Buffer)
			if tc.name == "tar, then docker fails: the tar was written" {
				if files := tarEntries(t, b.Bytes()); files["manifest.json"] == nil {
					t.Errorf("no tar on stdout")
				}
				if !strings.Contains(stderr.String(), "docker.io/library/app:1\n") {
					t.Errorf("the name of the tar load is not on stderr")
				}
			} else if b != nil && b.Len() != 0 {
				t.Errorf("stdout has %d bytes, want none", b.Len())
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	null := mustDo(os.OpenFile(os.DevNull, os.O_WRONLY, 0))
	defer null.Close()
	zero := mustDo(os.OpenFile("/dev/zero", os.O_WRONLY, 0))
	defer zero.Close()
	file := mustDo(os.Create(filepath.Join(t.TempDir(), "f")))
	defer file.Close()
	for _, tc := range []struct {
		name string
		w    io.Writer
		want bool
	}{
		{"/dev/null", null, false},
		{"a character device", zero, true},
		{"a file", file, false},
		{"a buffer", &bytes.Buffer{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isTerminal(tc.w); got != tc.want {
				t.Errorf("isTerminal() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDeployLauncherContainerization loads through a fake `container` on
// PATH that records its arguments and stdin: `container image load` read
// a tar that is a docker save archive and an OCI layout.
func TestDeployLauncherContainerization(t *testing.T) {
	img := deployImage(t, 27)
	for _, tc := range []struct {
		name       string
		conf       string
		args       []string
		loader     bool
		wantArgs   string
		wantStdout string
	}{
		{"target daemon containerization", `{"tag":"app:1","daemon":"containerization"}`, nil, false, "image load\n", "docker.io/library/app:1\n"},
		{"--daemon containerization", `{"tag":"app:1","daemon":"docker"}`, []string{"--daemon", "containerization"}, false, "image load\n", "docker.io/library/app:1\n"},
		{"LOADER_BINARY replaces container", `{"tag":"app:1","daemon":"containerization"}`, nil, true, "image load\n", "docker.io/library/app:1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rf := deployRunfiles([]string{writeLoadTarget(t, []v1.Image{img}, tc.conf)}, func(string) string { return "" })
			bin, out, args := fakeLoaderBinary(t, "Loaded image: app:1")
			container := filepath.Join(filepath.Dir(bin), "container")
			if err := os.Rename(bin, container); err != nil {
				t.Fatal(err)
			}
			env := func(string) string { return "" }
			if tc.loader {
				// $LOADER_BINARY runs; `container` is not found on PATH
				// (not executable) and would fail.
				loader := writeFile(t, filepath.Join(filepath.Dir(bin), "nerdctl"), mustDo(os.ReadFile(container)))
				if err := os.Chmod(loader, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(container, 0o644); err != nil {
					t.Fatal(err)
				}
				env = func(k string) string { return map[string]string{"LOADER_BINARY": loader}[k] }
			}
			t.Setenv("PATH", filepath.Dir(container)+string(os.PathListSeparator)+os.Getenv("PATH"))
			var stdout, stderr bytes.Buffer
			if code := runDeploy(context.Background(), rf, tc.args, env, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			t.Logf("stderr:\n%s", stderr.String())
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.wantStdout)
			}
			if got := string(mustDo(os.ReadFile(args))); got != tc.wantArgs {
				t.Errorf("ran with %q, want %q", got, tc.wantArgs)
			}
			files := tarEntries(t, mustDo(os.ReadFile(out)))
			for _, name := range []string{"manifest.json", "index.json", "oci-layout"} {
				if files[name] == nil {
					t.Errorf("the tar has no %s", name)
				}
			}
			if _, err := tarball.ImageFromPath(out, nil); err != nil {
				t.Errorf("go-containerregistry cannot read the tar: %v", err)
			}
		})
	}
}
