package registry

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// configKeychain resolves credentials like authn.DefaultKeychain, from the
// docker config.json at path: "auths" entries, then "credHelpers" and
// "credsStore" (docker-credential-* programs), for "registry/repository"
// first and then "registry". No config file means anonymous access.
type configKeychain struct {
	path string

	once sync.Once
	cf   *configfile.ConfigFile
	err  error
}

var _ authn.Keychain = (*configKeychain)(nil)

func (k *configKeychain) load() {
	f, err := os.Open(k.path)
	if errors.Is(err, os.ErrNotExist) {
		k.cf = configfile.New(k.path)
		return
	}
	if err != nil {
		k.err = err
		return
	}
	defer f.Close()
	k.cf, k.err = config.LoadFromReader(f)
	if k.err == nil {
		k.cf.Filename = k.path
	}
}

func (k *configKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	k.once.Do(k.load)
	if k.err != nil {
		return nil, fmt.Errorf("docker config %s: %w", k.path, k.err)
	}
	return resolveIn(k.cf, k.path, target)
}

// resolveIn looks target up in one config file (read from path):
// "registry/repository" first, then "registry".
func resolveIn(cf *configfile.ConfigFile, path string, target authn.Resource) (authn.Authenticator, error) {
	for _, key := range []string{target.String(), target.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		cfg, err := cf.GetAuthConfig(key)
		if err != nil {
			return nil, fmt.Errorf("docker config %s: credentials for %s: %w", path, key, err)
		}
		// GetAuthConfig fills in the server address; it is not a credential.
		cfg.ServerAddress = ""
		if cfg != (types.AuthConfig{}) {
			return authn.FromConfig(authn.AuthConfig{
				Username:      cfg.Username,
				Password:      cfg.Password,
				Auth:          cfg.Auth,
				IdentityToken: cfg.IdentityToken,
				RegistryToken: cfg.RegistryToken,
			}), nil
		}
	}
	return authn.Anonymous, nil
}

// authFileKeychain resolves credentials from further files in config.json
// format, in order: $REGISTRY_AUTH_FILE (e.g. rules_img's
// docker_config_path setting) and podman's containers/auth.json. A file
// that does not exist is skipped; one that cannot be parsed is an error
// naming it.
type authFileKeychain struct {
	paths []string

	once  sync.Once
	files []*configfile.ConfigFile
	err   error
}

var _ authn.Keychain = (*authFileKeychain)(nil)

func (k *authFileKeychain) load() {
	for _, p := range k.paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			k.files = append(k.files, nil)
			continue
		}
		if err != nil {
			k.err = fmt.Errorf("registry auth file %s: %w", p, err)
			return
		}
		cf, err := config.LoadFromReader(f)
		f.Close()
		if err != nil {
			k.err = fmt.Errorf("registry auth file %s: %w", p, err)
			return
		}
		cf.Filename = p
		k.files = append(k.files, cf)
	}
}

func (k *authFileKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	k.once.Do(k.load)
	if k.err != nil {
		return nil, k.err
	}
	for i, cf := range k.files {
		if cf == nil {
			continue
		}
		a, err := resolveIn(cf, k.paths[i], target)
		if err != nil || a != authn.Anonymous {
			return a, err
		}
	}
	return authn.Anonymous, nil
}

// AuthError is a 401 or 403 answer. Its message names the registry and the
// repository and says where credentials come from; it never contains the
// request, its headers or the credentials.
type AuthError struct {
	Registry   string
	Repository string
	// StatusCode is 401 or 403.
	StatusCode int
	// Code is the registry's error code ("UNAUTHORIZED", "DENIED"), else the
	// upper-case status text.
	Code string
	// ConfigPath is the docker config.json that credentials came from.
	ConfigPath string
	// ConfigMissing is true when ConfigPath did not exist, e.g. a path
	// outside a build action's sandbox (Bazel's hermetic /tmp).
	ConfigMissing bool
	// HaveCredentials is true when the config yielded credentials for the
	// registry, false when the request was anonymous.
	HaveCredentials bool

	err error
}

func (e *AuthError) Error() string {
	status := fmt.Sprintf("%d %s", e.StatusCode, e.Code)
	prefix := fmt.Sprintf("registry %s repository %s: ", e.Registry, e.Repository)
	config := e.ConfigPath
	if e.ConfigMissing {
		config += " (which does not exist here)"
	}
	switch {
	case !e.HaveCredentials && e.StatusCode == http.StatusUnauthorized:
		return prefix + fmt.Sprintf("authentication required (%s); set up credentials in %s or a credential helper", status, config)
	case !e.HaveCredentials:
		return prefix + fmt.Sprintf("access denied (%s) to anonymous pulls; set up credentials in %s or a credential helper", status, config)
	case e.StatusCode == http.StatusUnauthorized:
		return prefix + fmt.Sprintf("authentication failed (%s): the registry rejected the credentials for %s from %s", status, e.Registry, e.ConfigPath)
	default:
		return prefix + fmt.Sprintf("access denied (%s): the credentials for %s from %s have no pull access to %s", status, e.Registry, e.ConfigPath, e.Repository)
	}
}

// Unwrap returns the registry's answer, a *transport.Error.
func (e *AuthError) Unwrap() error { return e.err }

// asAuthError returns the AuthError for a 401 or 403 in err, or nil.
func asAuthError(err error, registry, repository, configPath string, haveCredentials bool) *AuthError {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return nil
	}
	if terr.StatusCode != http.StatusUnauthorized && terr.StatusCode != http.StatusForbidden {
		return nil
	}
	code := ErrorCode(terr)
	_, statErr := os.Stat(configPath)
	return &AuthError{
		ConfigMissing:   errors.Is(statErr, os.ErrNotExist),
		Registry:        registry,
		Repository:      repository,
		StatusCode:      terr.StatusCode,
		Code:            code,
		ConfigPath:      configPath,
		HaveCredentials: haveCredentials,
		err:             terr,
	}
}
