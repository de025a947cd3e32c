package registry

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Flags are the command-line flags of commands that fetch from registries
// (pull_tool pull and download-blob, img download-blob): the registries to
// try, the repository, and the transport settings.
type Flags struct {
	Registries []string
	Repository string
	configPath string
	insecure   []string
	allHTTP    bool
	helper     string
	caFile     string
	timeouts   Timeouts
	maxBlob    int64
}

// listValue appends every value of a repeatable flag, in order.
type listValue struct{ list *[]string }

func (l listValue) String() string {
	if l.list == nil {
		return ""
	}
	return strings.Join(*l.list, ",")
}

func (l listValue) Set(v string) error { *l.list = append(*l.list, v); return nil }

// Register adds --registry (repeatable), --repository, --docker-config,
// --insecure, --insecure-registry (repeatable), --credential-helper,
// --ca-file, the timeouts
// (--registry-connect-timeout, --registry-tls-timeout,
// --registry-header-timeout, --registry-idle-timeout,
// --registry-total-timeout) and --max-blob-size to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Var(listValue{&f.Registries}, "registry", "Registry host, e.g. index.docker.io or 127.0.0.1:5000. Repeatable: tried in order until one serves the request.")
	fs.StringVar(&f.Repository, "repository", "", "Repository on the registries, e.g. library/ubuntu.")
	fs.StringVar(&f.configPath, "docker-config", "", "Docker config.json with credentials, or the directory holding it. Default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.")
	fs.BoolVar(&f.allHTTP, "insecure", false, "Treat every registry as insecure: plain HTTP allowed, TLS certificates not verified. Default: $IMG_INSECURE.")
	fs.Var(listValue{&f.insecure}, "insecure-registry", "Host (or host:port) that may use plain HTTP besides loopback hosts. Repeatable.")
	fs.StringVar(&f.helper, "credential-helper", "", "Credential helper (Bazel's protocol) asked for registry credentials before the docker config.")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of CA certificates to trust besides the system ones.")
	for _, t := range []struct {
		name, env string
		d         *time.Duration
		what      string
		def       time.Duration
	}{
		{"registry-connect-timeout", EnvConnectTimeout, &f.timeouts.Connect, "Timeout for connecting to a registry", DefaultTimeouts.Connect},
		{"registry-tls-timeout", EnvTLSTimeout, &f.timeouts.TLS, "Timeout for the TLS handshake", DefaultTimeouts.TLS},
		{"registry-header-timeout", EnvHeaderTimeout, &f.timeouts.Header, "Timeout for the response headers", DefaultTimeouts.Header},
		{"registry-idle-timeout", EnvIdleTimeout, &f.timeouts.Idle, "A response body that sends nothing for this long fails", DefaultTimeouts.Idle},
		{"registry-total-timeout", EnvTotalTimeout, &f.timeouts.Total, "Budget of the whole fetch, with retries and mirrors", DefaultTimeouts.Total},
	} {
		fs.Var(timeoutValue{t.d}, t.name, fmt.Sprintf("%s, e.g. 90s. Default: $%s, else %v.", t.what, t.env, t.def))
	}
	fs.Var(sizeValue{&f.maxBlob}, "max-blob-size", fmt.Sprintf("Largest blob of unknown size, in bytes. Default: $%s, else %d (32 GiB).", EnvMaxBlobSize, int64(DefaultMaxBlobSize)))
}

// timeoutValue is a duration flag that also takes seconds.
type timeoutValue struct{ d *time.Duration }

func (v timeoutValue) String() string {
	if v.d == nil || *v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v timeoutValue) Set(s string) error {
	d, err := ParseTimeout(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// sizeValue is a positive byte count.
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil || *v.n == 0 {
		return ""
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v sizeValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("%q: want a positive number of bytes", s)
	}
	if err := CheckSize(n); err != nil {
		return err
	}
	*v.n = n
	return nil
}

// Check reports a missing --registry or --repository.
func (f *Flags) Check() error {
	if len(f.Registries) == 0 {
		return errors.New("--registry is required")
	}
	if f.Repository == "" {
		return errors.New("--repository is required")
	}
	return nil
}

// Options are the client options the flags ask for. The limits come from
// the environment (see LimitsFromEnv) unless a flag sets them.
func (f *Flags) Options() []Option {
	opts := []Option{
		WithConfigPath(f.configPath),
		WithInsecure(f.allHTTP || Insecure(os.Getenv)),
		WithInsecureRegistries(f.insecure...),
		WithCredentialHelper(f.helper),
		LimitsFromEnv(os.Getenv),
		WithTimeouts(f.timeouts),
		WithMaxBlobSize(f.maxBlob),
	}
	if f.caFile != "" {
		opts = append(opts, WithCAFile(f.caFile))
	}
	return opts
}
