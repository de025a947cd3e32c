package registry

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestHelperSettings(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		settings             HelperSettings
		env                  map[string]string
		wantRegistry, wantRC string
	}{
		{"none", HelperSettings{}, nil, "", ""},
		{"generic for both", HelperSettings{Generic: "g"}, nil, "g", "g"},
		{"oci over generic", HelperSettings{Generic: "g", OCIRegistry: "o"}, nil, "o", "g"},
		{"remote cache over generic", HelperSettings{Generic: "g", RemoteCache: "r"}, nil, "g", "r"},
		{"each its own", HelperSettings{Generic: "g", OCIRegistry: "o", RemoteCache: "r"}, nil, "o", "r"},
		{"env overrides its own field", HelperSettings{Generic: "g", OCIRegistry: "o"},
			map[string]string{EnvCredentialHelperOCIRegistry: "eo", EnvCredentialHelper: "eg"}, "eo", "eg"},
		{"generic env does not beat a specific setting", HelperSettings{OCIRegistry: "o", RemoteCache: "r"},
			map[string]string{EnvCredentialHelper: "eg"}, "o", "r"},
		{"remote cache env", HelperSettings{Generic: "g"},
			map[string]string{EnvCredentialHelperRemoteCache: "er"}, "g", "er"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.settings.WithEnv(func(k string) string { return tc.env[k] })
			if got := s.ForRegistry(); got != tc.wantRegistry {
				t.Errorf("ForRegistry() = %q, want %q", got, tc.wantRegistry)
			}
			if got := s.ForRemoteCache(); got != tc.wantRC {
				t.Errorf("ForRemoteCache() = %q, want %q", got, tc.wantRC)
			}
		})
	}
}

// writeHelper writes a credential helper that answers "get" with the
// Authorization header value auth (none when empty) and logs each URI it
// is asked for to a file beside it.
func writeHelper(t *testing.T, dir, helperName, auth string) string {
	t.Helper()
	headers := "{}"
	if auth != "" {
		headers = fmt.Sprintf(`{"Authorization":[%q]}`, auth)
	}
	path := filepath.Join(dir, helperName)
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = get ] || exit 2\ncat >>%q.uris\necho\necho '{\"headers\":%s}'\n", path, headers)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestCredentialPrecedence checks which source gives the credentials of a
// registry: the registry helper (credential_helper_oci_registry), else the
// generic helper (credential_helper), else the docker config.
func TestCredentialPrecedence(t *testing.T) {
	const host = "registry.example:5000"
	dir := t.TempDir()
	oci := writeHelper(t, dir, "oci-helper", basic("from-oci", "p1"))
	generic := writeHelper(t, dir, "generic-helper", basic("from-generic", "p2"))
	empty := writeHelper(t, dir, "empty-helper", "")
	bearer := writeHelper(t, dir, "bearer-helper", "Bearer access-token-xyz")
	cfg := filepath.Join(dir, "my-config.json") // a file, not a directory
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte("from-config:p3")))), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		settings HelperSettings
		want     authn.AuthConfig
		wantErr  string
	}{
		{"oci helper first", HelperSettings{Generic: generic, OCIRegistry: oci, RemoteCache: empty}, authn.AuthConfig{Username: "from-oci", Password: "p1"}, ""},
		{"generic helper next", HelperSettings{Generic: generic, RemoteCache: oci}, authn.AuthConfig{Username: "from-generic", Password: "p2"}, ""},
		{"docker config last", HelperSettings{RemoteCache: oci}, authn.AuthConfig{Username: "from-config", Password: "p3"}, ""},
		{"helper without Authorization passes on", HelperSettings{OCIRegistry: empty, Generic: generic}, authn.AuthConfig{Username: "from-config", Password: "p3"}, ""},
		{"bearer is a registry token", HelperSettings{OCIRegistry: bearer}, authn.AuthConfig{RegistryToken: "access-token-xyz"}, ""},
		// upstream's README sets the generic helper for the remote cache;
		// where it is not installed, registries still get the docker config.
		{"generic helper not installed passes on", HelperSettings{Generic: "no-such-helper-on-path"}, authn.AuthConfig{Username: "from-config", Password: "p3"}, ""},
		{"generic helper path missing passes on", HelperSettings{Generic: filepath.Join(dir, "missing")}, authn.AuthConfig{Username: "from-config", Password: "p3"}, ""},
		{"oci helper not installed fails", HelperSettings{OCIRegistry: "no-such-helper-on-path", Generic: generic}, authn.AuthConfig{}, "no-such-helper-on-path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(WithConfigPath(cfg), WithRegistryHelpers(tc.settings))
			if err != nil {
				t.Fatal(err)
			}
			if c.ConfigPath() != cfg {
				t.Errorf("ConfigPath() = %s, want %s", c.ConfigPath(), cfg)
			}
			got := resolveAuth(t, c.keys, host+"/app", tc.wantErr)
			if got == nil {
				return
			}
			if *got != tc.want {
				t.Errorf("credentials = %+v, want %+v", *got, tc.want)
			}
		})
	}
	uris, err := os.ReadFile(oci + ".uris")
	if err != nil || !strings.Contains(string(uris), `"uri":"https://`+host+`"`) {
		t.Errorf("the helper was asked %q (%v), want the URI https://%s", uris, err, host)
	}
}

func TestCredentialHelperErrorsHideSecrets(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, auth string }{
		{"no scheme", "sekrit-token-value"},
		{"bad basic", "Basic sekrit-not-base64!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := writeHelper(t, dir, strings.ReplaceAll(tc.name, " ", "-"), tc.auth)
			c, err := New(WithCredentialHelper(h))
			if err != nil {
				t.Fatal(err)
			}
			repo, _ := name.NewRepository("registry.example/app")
			_, err = c.keys.Resolve(repo)
			if err == nil || strings.Contains(err.Error(), "sekrit") || !strings.Contains(err.Error(), "registry.example") || !strings.Contains(err.Error(), h) {
				t.Errorf("Resolve() = %v, want an error naming the registry and the helper, without the header", err)
			}
		})
	}
}

// TestInsecure: a registry with a self-signed certificate is reached only
// with WithInsecure, for pulls (Repository) and pushes (RemoteOptions).
func TestInsecure(t *testing.T) {
	s := httptest.NewUnstartedServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	s.StartTLS()
	t.Cleanup(s.Close)
	host := strings.TrimPrefix(s.URL, "https://")
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	skip := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if err := remote.Write(ref, img, remote.WithTransport(skip)); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	ctx := context.Background()
	for _, insecure := range []bool{false, true} {
		t.Run(fmt.Sprintf("insecure=%v", insecure), func(t *testing.T) {
			c, err := New(WithInsecure(insecure), WithConfigPath(filepath.Join(t.TempDir(), "none.json")), WithRetryBackoff(remote.Backoff{Steps: 1}))
			if err != nil {
				t.Fatal(err)
			}
			repo, err := c.Repository(host, "app")
			if err != nil {
				t.Fatal(err)
			}
			m, pullErr := repo.Manifest(ctx, digest.String())
			pushRef, _ := name.ParseReference(host+"/pushed:v1", c.NameOptions(host)...)
			pushErr := remote.Write(pushRef, img, c.RemoteOptions(ctx)...)
			if insecure {
				if pullErr != nil || m == nil {
					t.Errorf("pull with insecure: %v", pullErr)
				}
				if pushErr != nil {
					t.Errorf("push with insecure: %v", pushErr)
				}
				return
			}
			if pullErr == nil {
				t.Error("pull from a self-signed registry succeeded without insecure")
			}
			if pushErr == nil {
				t.Error("push to a self-signed registry succeeded without insecure")
			}
		})
	}
}

func TestInsecureAllowsHTTP(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		host string
		want bool
	}{
		{nil, "registry.example", false},
		{nil, "127.0.0.1:5000", true}, // loopback always
		{[]Option{WithInsecureRegistries("registry.example")}, "registry.example:5000", true},
		{[]Option{WithInsecure(true)}, "registry.example", true},
		{[]Option{WithInsecure(true), WithInsecure(false)}, "10.1.2.3:5000", true},
	} {
		c, err := New(tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.allowsHTTP(tc.host); got != tc.want {
			t.Errorf("allowsHTTP(%s) with %d options = %v, want %v", tc.host, len(tc.opts), got, tc.want)
		}
		if got := len(c.NameOptions(tc.host)) == 1; got != tc.want {
			t.Errorf("NameOptions(%s) insecure = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestEnvOptionsInsecureAndConfig(t *testing.T) {
	ws := t.TempDir()
	for _, tc := range []struct {
		env          map[string]string
		wantInsecure bool
		wantConfig   string
	}{
		{map[string]string{}, false, ""},
		{map[string]string{EnvInsecure: "1"}, true, ""},
		{map[string]string{EnvInsecure: "false"}, false, ""},
		{map[string]string{EnvInsecure: "0"}, false, ""},
		{map[string]string{EnvInsecure: "yes"}, true, ""},
		{map[string]string{"IMG_DOCKER_CONFIG": "/etc/x/auth.json", "DOCKER_CONFIG": "/d"}, false, "/etc/x/auth.json"},
		{map[string]string{"IMG_DOCKER_CONFIG": "tools/auth.json", "BUILD_WORKSPACE_DIRECTORY": ws}, false, filepath.Join(ws, "tools/auth.json")},
		{map[string]string{"DOCKER_CONFIG": ws}, false, filepath.Join(ws, "config.json")},
	} {
		var o options
		for _, opt := range EnvOptions(func(k string) string { return tc.env[k] }) {
			if err := opt(&o); err != nil {
				t.Fatal(err)
			}
		}
		if o.allHTTP != tc.wantInsecure || o.configPath != tc.wantConfig {
			t.Errorf("EnvOptions(%v): insecure %v config %q, want %v %q", tc.env, o.allHTTP, o.configPath, tc.wantInsecure, tc.wantConfig)
		}
	}
}
