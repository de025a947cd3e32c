package registry

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestIsGoogleRegistry(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"gcr.io", true},
		{"eu.gcr.io", true},
		{"GCR.IO", true},
		{"us-docker.pkg.dev", true},
		{"europe-west1-docker.pkg.dev:443", true},
		{"mirror.gcr.io", true},
		{"registry.google.com", true},
		{"index.docker.io", false},
		{"ghcr.io", false},
		{"notgcr.io", false},
		{"gcr.io.example.com", false},
		{"pkg.dev.example.com", false},
		{"127.0.0.1:5000", false},
		{"[::1]:5000", false},
	} {
		if got := IsGoogleRegistry(tc.host); got != tc.want {
			t.Errorf("IsGoogleRegistry(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

// fakeKeychain answers every host with auth and counts the calls.
type fakeKeychain struct {
	auth  authn.Authenticator
	calls []string
}

func (f *fakeKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	f.calls = append(f.calls, target.RegistryStr())
	return f.auth, nil
}

// TestKeychainOrder: the docker config comes first; the Google keychain
// answers only for Google's registries that the config has nothing for,
// and is never asked about other hosts.
func TestKeychainOrder(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("user:secret"))
	config := writeConfig(t, `{"auths":{"gcr.io":{"auth":"`+basic+`"}}}`)
	fromGoogle := authn.FromConfig(authn.AuthConfig{RegistryToken: "google-token"})
	for _, tc := range []struct {
		ref       string
		wantAuth  string // "config", "google" or "anonymous"
		wantCalls int
	}{
		{"gcr.io/proj/app", "config", 0},
		{"eu.gcr.io/proj/app", "google", 1},
		{"us-docker.pkg.dev/proj/repo/app", "google", 1},
		{"index.docker.io/library/app", "anonymous", 0},
		{"ghcr.io/org/app", "anonymous", 0},
		{"127.0.0.1:5000/app", "anonymous", 0},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			google := &fakeKeychain{auth: fromGoogle}
			keys := keychain(google, &configKeychain{path: ConfigFile(config)})
			repo, err := name.NewRepository(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			auth, err := keys.Resolve(repo)
			if err != nil {
				t.Fatal(err)
			}
			got := "anonymous"
			if auth != authn.Anonymous {
				cfg, err := auth.Authorization()
				if err != nil {
					t.Fatal(err)
				}
				got = "config"
				if cfg.RegistryToken == "google-token" {
					got = "google"
				}
			}
			if got != tc.wantAuth || len(google.calls) != tc.wantCalls {
				t.Errorf("credentials from %s, %d calls of the Google keychain (%q); want %s and %d", got, len(google.calls), google.calls, tc.wantAuth, tc.wantCalls)
			}
		})
	}
}
