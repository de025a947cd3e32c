package registry

import (
	"path/filepath"
	"strings"
)

// EnvOptions reads the registry settings of the deploy tools from the
// environment: IMG_DOCKER_CONFIG (a config.json or its directory; a
// relative path is relative to $BUILD_WORKSPACE_DIRECTORY when set, as
// under `bazel run`) or DOCKER_CONFIG (its directory), REGISTRY_AUTH_FILE
// and $XDG_RUNTIME_DIR/containers/auth.json (further credential files),
// IMG_INSECURE (see Insecure), IMG_INSECURE_REGISTRIES (hosts separated by
// commas or spaces), IMG_CREDENTIAL_HELPER_OCI_REGISTRY (or
// IMG_CREDENTIAL_HELPER) and IMG_REGISTRY_CA_FILE (or SSL_CERT_FILE), and
// the timeouts and maximum blob size of LimitsFromEnv.
func EnvOptions(getenv func(string) string) []Option {
	var opts []Option
	if p := getenv("IMG_DOCKER_CONFIG"); p != "" {
		if ws := getenv("BUILD_WORKSPACE_DIRECTORY"); ws != "" && !filepath.IsAbs(p) {
			p = filepath.Join(ws, p)
		}
		opts = append(opts, WithConfigPath(p))
	} else if dir := getenv("DOCKER_CONFIG"); dir != "" {
		opts = append(opts, WithConfigDir(dir))
	}
	opts = append(opts, WithInsecure(Insecure(getenv)))
	opts = append(opts, WithRegistryHelpers(HelperSettings{}.WithEnv(getenv)))
	files := []string{getenv("REGISTRY_AUTH_FILE")}
	if run := getenv("XDG_RUNTIME_DIR"); run != "" {
		files = append(files, run+"/containers/auth.json")
	}
	opts = append(opts, WithAuthFiles(files...))
	if v := getenv("IMG_INSECURE_REGISTRIES"); v != "" {
		hosts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
		opts = append(opts, WithInsecureRegistries(hosts...))
	}
	if ca := firstSet(getenv, "IMG_REGISTRY_CA_FILE", "SSL_CERT_FILE"); ca != "" {
		opts = append(opts, WithCAFile(ca))
	}
	return append(opts, LimitsFromEnv(getenv))
}

// EnvInsecure turns on insecure registry access (see WithInsecure).
const EnvInsecure = "IMG_INSECURE"

// Insecure reports whether IMG_INSECURE is set to anything but 0 or false.
func Insecure(getenv func(string) string) bool {
	switch strings.ToLower(strings.TrimSpace(getenv(EnvInsecure))) {
	case "", "0", "false":
		return false
	}
	return true
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}
