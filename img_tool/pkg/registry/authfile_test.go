package registry

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func writeAuthFile(t *testing.T, path, host, user, pass string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"auths": {"`+host+`": {"auth": "`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

// resolveAuth resolves the credentials keys give for repo. With wantErr set
// it wants an error naming wantErr and returns nil.
func resolveAuth(t *testing.T, keys authn.Keychain, repo, wantErr string) *authn.AuthConfig {
	t.Helper()
	ref, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	a, err := keys.Resolve(ref)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Resolve(%s) = %v, want an error naming %s", repo, err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestAuthFiles(t *testing.T) {
	dir := t.TempDir()
	dockerDir := filepath.Join(dir, "docker")
	writeAuthFile(t, filepath.Join(dockerDir, "config.json"), "docker.example", "from-docker", "p1")
	authFile := filepath.Join(dir, "auth.json")
	writeAuthFile(t, authFile, "authfile.example", "from-authfile", "p2")
	// The docker config wins where both have the registry.
	both := filepath.Join(dir, "both.json")
	writeAuthFile(t, both, "docker.example", "shadowed", "p3")
	missing := filepath.Join(dir, "missing.json")
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		files    []string
		repo     string
		wantUser string // "" = anonymous
		wantErr  string
	}{
		{"docker config", []string{authFile}, "docker.example/app", "from-docker", ""},
		{"auth file", []string{missing, authFile}, "authfile.example/app", "from-authfile", ""},
		{"docker config first", []string{both}, "docker.example/app", "from-docker", ""},
		{"nothing anywhere", []string{missing}, "other.example/app", "", ""},
		{"unparsable file", []string{broken}, "other.example/app", "", broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := keychain(authn.NewMultiKeychain(), &configKeychain{path: filepath.Join(dockerDir, "config.json")}, &authFileKeychain{paths: tc.files})
			cfg := resolveAuth(t, keys, tc.repo, tc.wantErr)
			if cfg == nil {
				return
			}
			if cfg.Username != tc.wantUser {
				t.Errorf("user = %q, want %q", cfg.Username, tc.wantUser)
			}
		})
	}
}

func TestEnvOptionsAuthFiles(t *testing.T) {
	env := map[string]string{"REGISTRY_AUTH_FILE": "/a/auth.json", "XDG_RUNTIME_DIR": "/run/user/7"}
	var o options
	for _, opt := range EnvOptions(func(k string) string { return env[k] }) {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(o.authFiles, " "); got != "/a/auth.json /run/user/7/containers/auth.json" {
		t.Errorf("auth files = %s", got)
	}
}
