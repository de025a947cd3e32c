//go:build !img_build_actions

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
)

// TestDeployMetadataCredentialHelpers: the three helper flags land in the
// deploy manifest's settings, and deploy-merge keeps them.
func TestDeployMetadataCredentialHelpers(t *testing.T) {
	in := newDeployInputs(t, `{"registry":"127.0.0.1:5000","repository":"org/app","tags":["v1"]}`, deployImage(t, 1))
	dir := t.TempDir()
	meta, merged := filepath.Join(dir, "dispatch.json"), filepath.Join(dir, "merged.json")
	helpers := []string{"--credential-helper", "/h/generic", "--credential-helper-oci-registry", "/h/oci", "--credential-helper-remote-cache", "/h/cache"}
	mustRun(t, append(append([]string{"deploy-metadata", "--command", "push", "--root-path", in.root, "--root-kind", "manifest", "--configuration-file", in.conf}, helpers...), meta)...)
	mustRun(t, append(append([]string{"deploy-merge"}, helpers...), merged, meta)...)
	want := deploy.Settings{PushStrategy: "eager", CredentialHelper: "/h/generic", CredentialHelperOCIRegistry: "/h/oci", CredentialHelperRemoteCache: "/h/cache"}
	for i, p := range []string{meta, merged} {
		if i == 1 {
			want.LoadStrategy = "eager" // merged manifests name both strategies
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := deploy.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d.Settings != want {
			t.Errorf("%s: settings %+v, want %+v", filepath.Base(p), d.Settings, want)
		}
	}
}

func TestHelperSettings(t *testing.T) {
	s := deploy.Settings{CredentialHelper: "g", CredentialHelperOCIRegistry: "o", CredentialHelperRemoteCache: "r"}
	for _, tc := range []struct {
		name           string
		settings       deploy.Settings
		env            map[string]string
		registry, rcac string
	}{
		{"settings", s, nil, "o", "r"},
		{"generic only", deploy.Settings{CredentialHelper: "g"}, nil, "g", "g"},
		{"environment wins per kind", s, map[string]string{"IMG_CREDENTIAL_HELPER_OCI_REGISTRY": "eo", "IMG_CREDENTIAL_HELPER_REMOTE_CACHE": "er"}, "eo", "er"},
		{"generic environment under specific settings", s, map[string]string{"IMG_CREDENTIAL_HELPER": "eg"}, "o", "r"},
		{"generic environment", deploy.Settings{CredentialHelper: "g"}, map[string]string{"IMG_CREDENTIAL_HELPER": "eg"}, "eg", "eg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := helperSettings(tc.settings, func(k string) string { return tc.env[k] })
			if h.ForRegistry() != tc.registry || h.ForRemoteCache() != tc.rcac {
				t.Errorf("registry %q, remote cache %q; want %q, %q", h.ForRegistry(), h.ForRemoteCache(), tc.registry, tc.rcac)
			}
		})
	}
}
