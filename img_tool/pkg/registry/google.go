package registry

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// IsGoogleRegistry reports whether host ("host" or "host:port") is one of
// Google's registries: gcr.io and *.gcr.io (Container Registry), *.pkg.dev
// (Artifact Registry), *.google.com.
func IsGoogleRegistry(host string) bool {
	h := strings.ToLower(hostOnly(host))
	return h == "gcr.io" || strings.HasSuffix(h, ".gcr.io") || strings.HasSuffix(h, ".pkg.dev") || strings.HasSuffix(h, ".google.com")
}

// googleKeychain resolves credentials for Google's registries with inner
// (go-containerregistry's google.Keychain: Application Default Credentials,
// else `gcloud`), once per process. Other hosts are anonymous here, without
// calling inner: no environment lookup, no program, no network request.
type googleKeychain struct {
	inner authn.Keychain
}

var _ authn.ContextKeychain = googleKeychain{}

func (k googleKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

func (k googleKeychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	if !IsGoogleRegistry(target.RegistryStr()) {
		return authn.Anonymous, nil
	}
	return authn.Resolve(ctx, k.inner, target)
}

// keychain is what a Client resolves credentials with: the local ones in
// order (the docker config with its auths, credHelpers and credsStore,
// then further auth files), then, for Google's registries when those have
// nothing for them, the Google keychain.
func keychain(google authn.Keychain, local ...authn.Keychain) authn.Keychain {
	return authn.NewMultiKeychain(append(local, googleKeychain{inner: google})...)
}
