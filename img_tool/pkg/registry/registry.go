// Package registry reaches OCI registries for rules_img's pull tools.
//
// A Client holds what every request shares: credentials from a docker
// config.json (for Google's registries also from Application Default
// Credentials or gcloud), the TLS roots, the plain-HTTP policy, retries and the
// User-Agent, timeouts and bounds on every response body. It hands out go-containerregistry remote options and
// Repository handles that fetch manifests and blobs. Every error of a
// Repository names its registry and repository; no error ever contains a
// credential.
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/credhelper"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// UserAgent is the product token sent with every request; go-containerregistry
// appends its own token.
const UserAgent = "rules_img"

// retryStatusCodes are answered with a retry: timeouts, rate limits and
// server errors that a later attempt may not see.
var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// DefaultBackoff waits 0.5s, 1s and 2s (±10%) between four attempts.
var DefaultBackoff = remote.Backoff{
	Duration: 500 * time.Millisecond,
	Factor:   2,
	Jitter:   0.1,
	Steps:    4,
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	configPath string // the docker config.json; "" until New picks the default
	authFiles  []string
	insecure   []string
	allHTTP    bool   // WithInsecure: every host, and no TLS verification
	helper     string // WithCredentialHelper, WithRegistryHelpers
	// helperOptional: a helper that cannot be started passes on to the
	// docker config instead of failing (the generic helper, WithRegistryHelpers).
	helperOptional bool
	caFile         string
	backoff        remote.Backoff

	timeouts    Timeouts
	maxBlobSize int64
}

// WithConfigDir reads credentials from DIR/config.json. The default is
// $DOCKER_CONFIG, else ~/.docker. An empty dir keeps the default.
func WithConfigDir(dir string) Option {
	return func(o *options) error {
		if dir != "" {
			o.configPath = filepath.Join(dir, config.ConfigFileName)
		}
		return nil
	}
}

// WithConfigPath reads credentials from the docker config at path: a
// config.json file, or a directory holding one (like DOCKER_CONFIG). It
// replaces the default (see WithConfigDir); a file that does not exist
// means no credentials from it. An empty path keeps the default.
func WithConfigPath(path string) Option {
	return func(o *options) error {
		if path != "" {
			o.configPath = ConfigFile(path)
		}
		return nil
	}
}

// ConfigFile is the config.json that a docker config path names: path
// itself, or path/config.json when path is a directory.
func ConfigFile(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, config.ConfigFileName)
	}
	return path
}

// WithInsecure addresses every registry as an insecure one: plain HTTP is
// allowed (HTTPS is tried first) and TLS certificates are not verified.
// The default is false: only loopback hosts and WithInsecureRegistries
// may use plain HTTP, and certificates are verified.
func WithInsecure(insecure bool) Option {
	return func(o *options) error {
		o.allHTTP = o.allHTTP || insecure
		return nil
	}
}

// WithCredentialHelper asks the credential helper at path (Bazel's
// credential helper protocol, see package credhelper) for the credentials
// of each registry, with the URI https://REGISTRY, before the docker
// config: a "Basic" Authorization header it returns is a user and
// password, a "Bearer" one a registry token; no Authorization header
// passes on to the docker config. The default is no helper; an empty path
// keeps it.
func WithCredentialHelper(path string) Option {
	return func(o *options) error {
		if path != "" {
			o.helper = path
			o.helperOptional = false
		}
		return nil
	}
}

// WithRegistryHelpers uses the registry helper of s (see ForRegistry).
// The helper named for registries (OCIRegistry) must run; the generic one
// is often set for the remote cache alone (upstream's README sets it to a
// helper that is not installed everywhere), so when it cannot be started
// (not found) registries get the docker config as without a helper. A
// generic helper that runs and fails still fails the call.
func WithRegistryHelpers(s HelperSettings) Option {
	return func(o *options) error {
		if h := s.ForRegistry(); h != "" {
			o.helper = h
			o.helperOptional = s.OCIRegistry == ""
		}
		return nil
	}
}

// WithAuthFiles reads credentials also from these files in config.json
// format (REGISTRY_AUTH_FILE, podman's auth.json) when the docker config
// has none for a registry; files that do not exist are skipped.
func WithAuthFiles(paths ...string) Option {
	return func(o *options) error {
		for _, p := range paths {
			if p != "" {
				o.authFiles = append(o.authFiles, p)
			}
		}
		return nil
	}
}

// WithInsecureRegistries lets the given hosts ("host" for any port, or
// "host:port") use plain HTTP. Loopback hosts (127.0.0.0/8, ::1, localhost)
// may always use it; by default no other host may.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			if h == "" || strings.Contains(h, "/") {
				return fmt.Errorf("insecure registry %q: want host or host:port", h)
			}
			o.insecure = append(o.insecure, h)
		}
		return nil
	}
}

// WithCAFile adds the PEM certificates in path to the system roots for TLS.
// The default is the system roots only.
func WithCAFile(path string) Option {
	return func(o *options) error {
		if o.caFile != "" && o.caFile != path {
			return fmt.Errorf("CA file %s: already set to %s", path, o.caFile)
		}
		o.caFile = path
		return nil
	}
}

// WithRetryBackoff sets the waits between attempts of a request that failed
// with a connection reset, a 408, a 429 or a 5xx. The default is
// DefaultBackoff; Steps is the number of attempts and must be at least 1.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) error {
		if b.Steps < 1 {
			return fmt.Errorf("retry backoff: %d steps, want at least 1", b.Steps)
		}
		o.backoff = b
		return nil
	}
}

// Timeouts are the timeouts in effect.
func (c *Client) Timeouts() Timeouts { return c.o.timeouts }

// MaxBlobSize bounds blobs of unknown size.
func (c *Client) MaxBlobSize() int64 { return c.o.maxBlobSize }

// Client reaches registries with one set of options. It is safe for
// concurrent use.
type Client struct {
	o options
	// keys resolves credentials: the docker config, then for Google's
	// registries the Google keychain (see keychain).
	keys authn.Keychain
	// base is the transport below authentication and retries: plain-HTTP
	// policy, byte counting and TLS.
	base http.RoundTripper
	// wrapped adds retries and the User-Agent to base.
	wrapped http.RoundTripper
	read    atomic.Int64
}

// New returns a Client. It reads the CA file now and the docker config on
// the first request that needs credentials.
func New(opts ...Option) (*Client, error) {
	o := options{backoff: DefaultBackoff, timeouts: DefaultTimeouts, maxBlobSize: DefaultMaxBlobSize}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("registry client: %w", err)
		}
	}
	if o.configPath == "" {
		o.configPath = filepath.Join(defaultConfigDir(), config.ConfigFileName)
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: o.timeouts.Connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = o.timeouts.TLS
	if o.caFile != "" {
		pool, err := LoadCAFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("registry client: %w", err)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if o.allHTTP {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.InsecureSkipVerify = true // #nosec G402 -- the insecure setting asks for it
	}
	// Uploads (PUT, POST, PATCH) wait for the registry to store what was
	// sent, which for a large blob may take longer than the header timeout
	// that suits a fetch: they get their own transport without it (and
	// with the same TLS settings).
	write := tr.Clone()
	tr.ResponseHeaderTimeout = o.timeouts.Header
	local := []authn.Keychain{&configKeychain{path: o.configPath}, &authFileKeychain{paths: o.authFiles}}
	if o.helper != "" {
		local = append([]authn.Keychain{&helperKeychain{helper: credhelper.New(o.helper), path: o.helper, optional: o.helperOptional}}, local...)
	}
	c := &Client{o: o, keys: keychain(google.Keychain, local...)}
	c.base = &httpPolicy{
		inner: &countingTransport{inner: &guardTransport{inner: tr, write: write, t: o.timeouts}, n: &c.read},
		allow: c.allowsHTTP,
	}
	c.wrapped = transport.NewUserAgent(&retryTransport{inner: c.base, backoff: o.backoff, codes: retryStatusCodes}, UserAgent)
	return c, nil
}

func defaultConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

// LoadCAFile returns the system's certificate pool plus the PEM
// certificates in path (the system pool alone when it cannot be read).
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate found", path)
	}
	return pool, nil
}

// ConfigPath is the docker config.json that credentials are read from; it
// need not exist.
func (c *Client) ConfigPath() string { return c.o.configPath }

// allowsHTTP reports whether host may be reached over plain HTTP.
func (c *Client) allowsHTTP(host string) bool {
	return c.o.allHTTP || AllowsHTTP(host, c.o.insecure)
}

// BytesRead is the number of response body bytes read from the network so
// far, over all requests of this Client, including failed ones.
func (c *Client) BytesRead() int64 { return c.read.Load() }

// RemoteOptions returns go-containerregistry options that reach registries
// like this Client does: same credentials, TLS roots, plain-HTTP policy,
// byte counting, retried status codes and User-Agent. (go-containerregistry
// v0.20 wraps the transport in its own retry with a fixed 100ms·3ⁿ backoff;
// the backoff option applies to its writes.) Parse references with the
// options of NameOptions so that loopback and insecure hosts may use HTTP.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		// Error answers stay bounded; successful ones are bounded by
		// go-containerregistry's readers (layers may be large).
		remote.WithContext(withBodyLimit(ctx, -1)),
		remote.WithAuthFromKeychain(c.keys),
		remote.WithTransport(c.base),
		remote.WithUserAgent(UserAgent),
		remote.WithRetryBackoff(c.o.backoff),
		remote.WithRetryStatusCodes(retryStatusCodes...),
	}
}

// NameOptions returns the name options for references on host: name.Insecure
// when the host may use plain HTTP.
func (c *Client) NameOptions(host string) []name.Option {
	if c.allowsHTTP(host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// AllowsHTTP reports whether host ("host" or "host:port") may be reached
// over plain HTTP: loopback hosts always, other hosts only when insecure
// lists them, either by host (any port) or by host:port.
func AllowsHTTP(host string, insecure []string) bool {
	hostname := hostOnly(host)
	if IsLoopback(hostname) {
		return true
	}
	for _, h := range insecure {
		if strings.EqualFold(h, host) {
			return true
		}
		if _, _, err := net.SplitHostPort(h); err != nil && strings.EqualFold(hostOnly(h), hostname) {
			// An entry without a port allows every port of the host.
			return true
		}
	}
	return false
}

// IsLoopback reports whether hostname (without port) is "localhost" or a
// loopback IP address (127.0.0.0/8, ::1).
func IsLoopback(hostname string) bool {
	if strings.EqualFold(hostname, "localhost") {
		return true
	}
	ip := net.ParseIP(hostname)
	return ip != nil && ip.IsLoopback()
}

// hostOnly strips the port and IPv6 brackets from host.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
