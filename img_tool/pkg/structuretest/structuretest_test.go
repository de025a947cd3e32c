package structuretest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/structuretest/layerfs"
)

const base = `#mtree
./bin type=dir mode=755 uid=0 gid=0
./bin/sh type=file mode=755 uid=0 gid=0 size=10
./etc type=dir mode=755 uid=0 gid=0
./etc/passwd type=file mode=644 uid=0 gid=0 size=10
./etc/shadow type=file mode=640 uid=0 gid=42 size=10
./lib type=dir mode=755 uid=0 gid=0
./lib/libc.so type=file mode=755 uid=0 gid=0 size=10
./var type=dir mode=755 uid=0 gid=0
./var/cache type=dir mode=755 uid=0 gid=0
./var/cache/a type=file mode=644 uid=0 gid=0 size=1
./usr/share/doc/pkg1 type=dir mode=755 uid=0 gid=0
./usr/share/doc/pkg1/copyright type=file mode=644 uid=0 gid=0 size=1
./usr/share/doc/pkg2 type=dir mode=755 uid=0 gid=0
./usr/share/doc/libgnutls30 type=dir mode=755 uid=0 gid=0
`

const app = `#mtree
./app type=dir mode=755 uid=1000 gid=1000
./app/hello type=file mode=4755 uid=1000 gid=1000 size=5
./app/data type=file mode=600 uid=1000 gid=1000 size=5
./app/data2 type=file mode=777 uid=0 gid=0 size=0 link=./app/data
./app/lib type=link mode=0 uid=0 gid=0 link=../lib
./app/abs type=link mode=777 uid=0 gid=0 link=/etc
./app/loop type=link mode=777 uid=0 gid=0 link=loop
./bin/.wh.sh type=file mode=644 uid=0 gid=0 size=0
./var/cache/.wh..wh..opq type=file mode=644 uid=0 gid=0 size=0
./var/cache/b type=file mode=644 uid=0 gid=0 size=1
./etc type=link mode=777 uid=0 gid=0 link=private/etc
./private/etc/hosts type=file mode=644 uid=0 gid=0 size=1
./dev/null type=char mode=666 uid=0 gid=0
./usr/share/doc/pkg3/copyright type=file mode=644 uid=0 gid=0 size=1
`

func layer(t *testing.T, name, listing string) *layerfs.Layer {
	t.Helper()
	l, err := layerfs.NewLayer(name, strings.NewReader(listing))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testImage(t *testing.T, layers ...*layerfs.Layer) *Image {
	cfg, err := ParseImageConfig("config.json", strings.NewReader(`{"architecture":"amd64","os":"linux","config":{
		"Env":["PATH=/usr/bin:/bin","APP_HOME=/app","EMPTY="],
		"Entrypoint":["/app/hello"],"Cmd":["--flag","x"],"WorkingDir":"/app","User":"1000:1000",
		"Labels":{"org.example.name":"hello","version":"1.2.3"},
		"ExposedPorts":{"8080/tcp":{},"53/udp":{}},"Volumes":{"/data":{}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return &Image{Name: "test", Config: cfg, FS: layerfs.NewFS(layers)}
}

// run checks one config and returns the output.
func run(t *testing.T, img *Image, config string) (string, Summary) {
	t.Helper()
	c, err := ParseConfig("test.yaml", strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := Run(&out, []*Image{img}, []NamedConfig{{Name: "test.yaml", Config: c}})
	return out.String(), s
}

func TestFileExistence(t *testing.T) {
	img := testImage(t, layer(t, "layer 0", base), layer(t, "layer 1", app))
	for _, tc := range []struct {
		name, test string
		want       []string // substrings; the first is PASS or FAIL
	}{
		{"exists", "path: /app/hello", []string{"PASS"}},
		{"mode", "path: /app/hello\n  permissions: urwxr-xr-x\n  uid: 1000\n  gid: 1000\n  isExecutableBy: other", []string{"PASS"}},
		{"dir mode", "path: /app\n  permissions: drwxr-xr-x", []string{"PASS"}},
		{"symlink itself (mode 0 in the tar)", "path: /app/lib\n  permissions: Lrwxrwxrwx", []string{"PASS"}},
		{"hardlink has its target's attributes", "path: /app/data2\n  permissions: -rw-------\n  uid: 1000", []string{"PASS"}},
		{"char device", "path: /dev/null\n  permissions: Dcrw-rw-rw-", []string{"PASS"}},
		{"through relative symlink", "path: /app/lib/libc.so", []string{"PASS"}},
		{"through absolute symlink chain", "path: /app/abs/hosts", []string{"PASS"}},
		{"replaced dir", "path: /etc/passwd\n  shouldExist: false", []string{"PASS"}},
		{"whiteout", "path: /bin/sh\n  shouldExist: false", []string{"PASS"}},
		{"whiteout fails", "path: /bin/sh", []string{"FAIL", `test.yaml: fileExistenceTests "t": path /bin/sh: should exist, but does not`}},
		{"opaque hides", "path: /var/cache/a\n  shouldExist: false", []string{"PASS"}},
		{"opaque keeps own", "path: /var/cache/b", []string{"PASS"}},
		{"env substitution", "path: $APP_HOME/hello", []string{"PASS"}},
		{"exists but should not", "path: /app/data\n  shouldExist: false", []string{"FAIL", "path /app/data: should not exist, but does (-rw-------)"}},
		{"permissions", "path: /app/data\n  permissions: -rw-r--r--", []string{"FAIL", "path /app/data: permissions: got -rw-------, want -rw-r--r--"}},
		{"uid", "path: /app/data\n  uid: 0", []string{"FAIL", "path /app/data: uid: got 1000, want 0"}},
		{"gid", "path: /etc/shadow\n  shouldExist: false", []string{"PASS"}},
		{"gid lower", "path: /lib/libc.so\n  gid: 7", []string{"FAIL", "gid: got 0, want 7"}},
		{"uid -1 unchecked", "path: /app/data\n  uid: -1", []string{"PASS"}},
		{"not executable", "path: /app/data\n  isExecutableBy: owner", []string{"FAIL", "path /app/data: isExecutableBy owner: not executable (-rw-------)"}},
		{"symlink loop", "path: /app/loop/x", []string{"FAIL", "more than 40 symlinks"}},
		{"under a file", "path: /app/data/x\n  shouldExist: false", []string{"PASS"}},
		{"root", "path: /", []string{"PASS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, s := run(t, img, "schemaVersion: 2.0.0\nfileExistenceTests:\n- name: t\n  "+tc.test+"\n")
			pass := tc.want[0] == "PASS"
			if (s.Failed == 0) != pass || !strings.Contains(out, tc.want[0]+"  test.yaml fileExistenceTests \"t\"") {
				t.Errorf("want %s:\n%s", tc.want[0], out)
			}
			for _, w := range tc.want[1:] {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// A layer without listing: what upper layers decide is known; what
// depends on it fails, naming the layer.
func TestUnlistedLayer(t *testing.T) {
	img := testImage(t, layerfs.UnlistedLayer("layer 0 (sha256:abc, //base:image)"), layer(t, "layer 1", app))
	for _, tc := range []struct {
		test string
		pass bool
	}{
		{"path: /app/hello", true},
		{"path: /bin/sh\n  shouldExist: false", true}, // the whiteout decides
		{"path: /var/cache/a\n  shouldExist: false", true},
		{"path: /lib/libc.so", false},
		{"path: /nothing\n  shouldExist: false", false},
	} {
		out, s := run(t, img, "schemaVersion: 2.0.0\nfileExistenceTests:\n- name: t\n  "+tc.test+"\n")
		if (s.Failed == 0) != tc.pass {
			t.Errorf("%q: want pass=%v:\n%s", tc.test, tc.pass, out)
		}
		if !tc.pass && !strings.Contains(out, "layer 0 (sha256:abc, //base:image) has no file listing") {
			t.Errorf("%q: the failure does not name the layer:\n%s", tc.test, out)
		}
	}
	out, _ := run(t, img, "schemaVersion: 2.0.0\nlicenseTests:\n- debian: true\n")
	if !strings.Contains(out, "FAIL") || !strings.Contains(out, "layer 0 (sha256:abc, //base:image) has no file listing") {
		t.Errorf("license test over an unlisted layer:\n%s", out)
	}
}

func TestMetadata(t *testing.T) {
	img := testImage(t, layer(t, "layer 0", base))
	pass := `schemaVersion: "2.0.0"
metadataTest:
  env:
  - key: PATH
    value: /usr/bin:/bin
  envVars:
  - key: APP_HOME
    value: ^/a.p$
    isRegex: true
  - key: EMPTY
    value: ""
  unboundEnv:
  - key: HOME
  labels:
  - key: org.example.name
    value: hello
  - key: version
    value: '^1\.2\.'
    isRegex: true
  entrypoint: [/app/hello]
  cmd: ["--flag", "x"]
  workdir: /app
  user: "1000:1000"
  exposedPorts: ["8080", "53/udp"]
  unexposedPorts: ["53/tcp", "9090"]
  volumes: [/data]
  unmountedVolumes: [/tmp]
`
	if out, s := run(t, img, pass); s.Failed != 0 || s.Passed != 1 {
		t.Errorf("want one pass:\n%s", out)
	}
	fail := `{"schemaVersion": "2.0.0", "metadataTest": {
  "envVars": [{"key": "PATH", "value": "/bin"}, {"key": "NOPE", "value": "x"}, {"key": "APP_HOME", "value": "(", "isRegex": true}],
  "unboundEnv": [{"key": "EMPTY"}],
  "labels": [{"key": "version", "value": "2"}, {"key": "missing", "value": "x"}],
  "entrypoint": [], "cmd": ["--flag"], "workdir": "/", "user": "root",
  "exposedPorts": ["8081"], "unexposedPorts": ["8080/tcp"], "volumes": ["/other"], "unmountedVolumes": ["/data"]}}`
	out, s := run(t, img, fail)
	if s.Failed != 1 {
		t.Errorf("want one failure:\n%s", out)
	}
	for _, w := range []string{
		`test.yaml: metadataTest "metadataTest": envVars PATH: got "/usr/bin:/bin", want "/bin"`,
		"envVars NOPE: not set in the image",
		`envVars APP_HOME: bad regex "("`,
		`unboundEnv EMPTY: set to "", want unset`,
		`labels version: got "1.2.3", want "2"`,
		"labels missing: not set in the image",
		`entrypoint: got ["/app/hello"], want []`,
		`cmd: got ["--flag","x"], want ["--flag"]`,
		`workdir: got "/app", want "/"`,
		`user: got "1000:1000", want "root"`,
		"exposedPorts 8081: not exposed (exposed: 53/udp, 8080/tcp)",
		"unexposedPorts 8080/tcp: exposed",
		"volumes /other: not a volume (volumes: /data)",
		"unmountedVolumes /data: is a volume",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestUnsupportedAndLicense(t *testing.T) {
	img := testImage(t, layer(t, "layer 0", base), layer(t, "layer 1", app))
	out, s := run(t, img, `schemaVersion: 2.0.0
globalEnvVars:
- key: X
  value: y
containerRunOptions:
  privileged: true
commandTests:
- name: say hello
  command: /app/hello
  expectedOutput: [hello]
fileContentTests:
- name: passwd content
  path: /etc/passwd
  expectedContents: [root]
licenseTests:
- debian: true
- files: [/LICENSE]
`)
	if s.Passed != 0 || s.Failed != 4 {
		t.Errorf("want 4 failures:\n%s", out)
	}
	for _, w := range []string{
		`FAIL  (unsupported)  test.yaml commandTests "say hello"`,
		`test.yaml: commandTests "say hello": unsupported: commandTests run a container`,
		`test.yaml: fileContentTests "passwd content": path /etc/passwd: unsupported`,
		`licenseTests "licenseTests[0]": debian: package pkg2 has no /usr/share/doc/pkg2/copyright`,
		`licenseTests "licenseTests[1]": files /LICENSE: unsupported`,
		"Summary: 0 passed, 4 failed\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "pkg3") || strings.Contains(out, "libgnutls30") {
		t.Errorf("pkg3 has its copyright and libgnutls30 is allowed:\n%s", out)
	}
	out, s = run(t, testImage(t, layer(t, "layer 0", base+"./usr/share/doc/pkg2/copyright type=file mode=644 uid=0 gid=0 size=1\n")), "schemaVersion: 2.0.0\nlicenseTests:\n- debian: true\n")
	if s.Failed != 0 || !strings.Contains(out, "PASS  test.yaml licenseTests \"licenseTests[0]\" (3 copyright files exist; their texts were not scanned") {
		t.Errorf("want a pass with a note:\n%s", out)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"schemaVersion: 1.0.0\n", `schemaVersion "1.0.0"`},
		{"schemaVersion: 2.0.0\nfileExistanceTests: []\n", "field fileExistanceTests not found"},
		{"schemaVersion: 2.0.0\nmetadataTest:\n  entrypoints: [x]\n", "field entrypoints not found"},
		{"schemaVersion: 2.0.0\nfileExistenceTests:\n- path: /x\n", "fileExistenceTests[0] has no name"},
		{"schemaVersion: 2.0.0\nfileExistenceTests:\n- name: n\n", `fileExistenceTests "n" has no path`},
		{"schemaVersion: 2.0.0\nfileExistenceTests:\n- name: n\n  path: /x\n  isExecutableBy: all\n", `isExecutableBy "all"`},
		{"schemaVersion: 2.0.0\nmetadataTest:\n  labels:\n  - value: x\n", "without key"},
		{"[1, 2", "test.yaml"},
		{strings.Repeat("#", MaxConfigBytes+1), "larger than"},
	} {
		_, err := ParseConfig("test.yaml", strings.NewReader(tc.in))
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.yaml") {
			t.Errorf("ParseConfig(%.40q) = %v, want ErrInvalidConfig with %q", tc.in, err, tc.want)
		}
	}
}
