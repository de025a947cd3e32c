package registry

import "strings"

// EnvOptions reads the registry settings of the deploy tools from the
// environment: IMG_DOCKER_CONFIG (or DOCKER_CONFIG), REGISTRY_AUTH_FILE and
// $XDG_RUNTIME_DIR/containers/auth.json (further credential files),
// IMG_INSECURE_REGISTRIES (hosts separated by commas or spaces) and
// IMG_REGISTRY_CA_FILE (or SSL_CERT_FILE), and the timeouts and maximum
// blob size of LimitsFromEnv.
func EnvOptions(getenv func(string) string) []Option {
	var opts []Option
	if dir := firstSet(getenv, "IMG_DOCKER_CONFIG", "DOCKER_CONFIG"); dir != "" {
		opts = append(opts, WithConfigDir(dir))
	}
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

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}
