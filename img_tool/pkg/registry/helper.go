package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os/exec"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/rules-img/rules_img/img_tool/pkg/credhelper"
)

// HelperSettings are the credential helpers a build names: Generic
// (//img/settings:credential_helper) and the ones of one kind of call,
// OCIRegistry (credential_helper_oci_registry) and RemoteCache
// (credential_helper_remote_cache). Empty means unset.
type HelperSettings struct {
	Generic     string
	OCIRegistry string
	RemoteCache string
}

// Environment variables that override HelperSettings field by field.
const (
	EnvCredentialHelper            = "IMG_CREDENTIAL_HELPER"
	EnvCredentialHelperOCIRegistry = "IMG_CREDENTIAL_HELPER_OCI_REGISTRY"
	EnvCredentialHelperRemoteCache = "IMG_CREDENTIAL_HELPER_REMOTE_CACHE"
)

// WithEnv returns s with each field replaced by its environment variable
// when that is set.
func (s HelperSettings) WithEnv(getenv func(string) string) HelperSettings {
	for _, f := range []struct {
		env string
		v   *string
	}{
		{EnvCredentialHelper, &s.Generic},
		{EnvCredentialHelperOCIRegistry, &s.OCIRegistry},
		{EnvCredentialHelperRemoteCache, &s.RemoteCache},
	} {
		if v := getenv(f.env); v != "" {
			*f.v = v
		}
	}
	return s
}

// ForRegistry is the helper for registry calls (push, pull, tag):
// OCIRegistry, else Generic; "" for none (the docker config alone).
func (s HelperSettings) ForRegistry() string {
	if s.OCIRegistry != "" {
		return s.OCIRegistry
	}
	return s.Generic
}

// ForRemoteCache is the helper for gRPC calls to the remote cache:
// RemoteCache, else Generic; "" for none.
func (s HelperSettings) ForRemoteCache() string {
	if s.RemoteCache != "" {
		return s.RemoteCache
	}
	return s.Generic
}

// helperKeychain resolves registry credentials with a credential helper of
// Bazel's protocol, asked for https://REGISTRY. A helper that returns no
// Authorization header leaves the registry to the next keychain.
type helperKeychain struct {
	helper   *credhelper.Helper
	path     string
	optional bool // a helper that cannot be started passes on
}

var _ authn.ContextKeychain = (*helperKeychain)(nil)

func (k *helperKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

func (k *helperKeychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	reg := target.RegistryStr()
	headers, err := k.helper.Headers(ctx, "https://"+reg)
	if err != nil && k.optional && (errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist)) {
		return authn.Anonymous, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", reg, err)
	}
	values := http.Header(headers).Values("Authorization")
	if len(values) == 0 {
		return authn.Anonymous, nil
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Basic") && cred != "":
		raw, err := base64.StdEncoding.DecodeString(cred)
		user, pass, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			// Neither the value nor its decoding is quoted.
			return nil, fmt.Errorf("registry %s: credential helper %s: the Basic Authorization header is not base64 of user:password", reg, k.path)
		}
		return authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}), nil
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		// A ready access token, sent as it is; never exchanged at the
		// registry's token endpoint.
		return authn.FromConfig(authn.AuthConfig{RegistryToken: cred}), nil
	}
	// The value is not quoted: without a scheme it may be the credential.
	return nil, fmt.Errorf("registry %s: credential helper %s: the Authorization header is neither Basic nor Bearer", reg, k.path)
}
