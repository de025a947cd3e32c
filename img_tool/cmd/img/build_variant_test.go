//go:build !img_build_actions

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// clientPackages are packages that only the deploy launcher, the servers
// and the registry-reaching actions need; the build-action tool must not
// link them (their init and size are what it saves).
var clientPackages = []string{
	"google.golang.org/grpc",
	"google.golang.org/protobuf/",
	"github.com/containerd/containerd",
	"github.com/google/go-containerregistry/pkg/v1/remote",
	"github.com/docker/cli/",
	"github.com/bazelbuild/remote-apis/",
	"github.com/rules-img/rules_img/img_tool/pkg/registry",
	"github.com/rules-img/rules_img/img_tool/pkg/deploy",
	"github.com/rules-img/rules_img/img_tool/pkg/load",
	"gopkg.in/yaml.v3",
	// Slow to start, not only large: go-digest compiles regular
	// expressions at init, and regexp pulls in the Unicode tables. The
	// build actions use pkg/ocispec instead.
	"github.com/opencontainers/go-digest",
	"github.com/opencontainers/image-spec/",
	"regexp",
	// text/template's reflection keeps every exported method of the
	// program; the build actions expand {{.KEY}} templates with
	// template.Simple.
	"text/template",
	// runtime/metrics builds its table of metrics at init; pkg/compress
	// reads the live heap from the GC's goal instead.
	"runtime/metrics",
}

func goTool(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to list or build the build-action tool")
		}
	}
	return goBin
}

func TestBuildActionToolLinksNoClients(t *testing.T) {
	goBin := goTool(t)
	out, err := exec.Command(goBin, "list", "-deps", "-tags", "img_build_actions", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, bad := range clientPackages {
			if d == strings.TrimSuffix(bad, "/") || strings.HasPrefix(d, bad) {
				t.Errorf("the build-action tool links %s", d)
			}
		}
	}
	// The full tool does link them: the list above can fail.
	full, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, full)
	}
	if !strings.Contains(string(full), "\ngoogle.golang.org/grpc\n") {
		t.Fatalf("the full tool does not link grpc; clientPackages is stale")
	}
}

func TestBuildActionToolCommands(t *testing.T) {
	goBin := goTool(t)
	exe := filepath.Join(t.TempDir(), "img_build")
	if out, err := exec.Command(goBin, "build", "-tags", "img_build_actions", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags img_build_actions: %v\n%s", err, out)
	}
	// Every build-action command is there, and runs.
	for name, c := range commands {
		if c.serve != nil || slices.Contains(fullOnlyCommands, name) {
			continue
		}
		out, err := exec.Command(exe, name, "--help").CombinedOutput()
		if err != nil && !strings.Contains(string(out), "Usage") {
			t.Errorf("img_build %s --help: %v\n%s", name, err, out)
		}
	}
	// expand-template expands simple templates as the full tool does, and
	// refuses the others (the rules send those to the full tool).
	dir := t.TempDir()
	in := filepath.Join(dir, "templates.json")
	os.WriteFile(in, []byte(`{"labels":{"a":"v{{ .V }}-{{.N}}","b":"plain"}}`), 0o644)
	args := []string{"expand-template", "--build-setting", "V=1", "--build-setting-json", `N=["x","y"]`, in}
	for _, tool := range [][]string{{exe}, {goBin, "run", "."}} {
		outFile := filepath.Join(dir, "out.json")
		os.Remove(outFile)
		cmd := exec.Command(tool[0], append(append(tool[1:], args...), outFile)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v expand-template: %v\n%s", tool, err, out)
		}
		got, _ := os.ReadFile(outFile)
		if want := "{\n  \"labels\": {\n    \"a\": \"v1-[x y]\",\n    \"b\": \"plain\"\n  }\n}\n"; string(got) != want {
			t.Errorf("%v expand-template wrote %q, want %q", tool, got, want)
		}
	}
	os.WriteFile(in, []byte(`{"labels":{"a":"{{if .V}}x{{end}}"}}`), 0o644)
	if out, err := exec.Command(exe, "expand-template", "--build-setting", "V=1", in, filepath.Join(dir, "out2.json")).CombinedOutput(); err == nil || !strings.Contains(string(out), "full Go template language") {
		t.Errorf("img_build expand-template of {{if}}: err %v, output %q; want a refusal", err, out)
	}
	// A full-only command names the full tool instead of "unknown command".
	out, err := exec.Command(exe, "download-blob", "--digest", "sha256:00").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "full img tool") {
		t.Fatalf("img_build download-blob: err %v, output %q; want a failure naming the full img tool", err, out)
	}
}
