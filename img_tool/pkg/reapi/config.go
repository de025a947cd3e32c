package reapi

import (
	"context"
	"flag"
	"fmt"
	"strings"
)

// Config says where a remote cache is and how to reach it, as the command
// lines of `img registry` and `img bes` and the environment of the deploy
// launcher give it.
type Config struct {
	// Endpoint is grpc://HOST:PORT or grpcs://HOST:PORT.
	Endpoint         string
	InstanceName     string
	CredentialHelper string
	CAFile           string
	// Headers are "Name=Value" entries, like Bazel's --remote_header.
	Headers []string
}

// RegisterFlags declares --ENDPOINTFLAG (with usage), --instance-name,
// --credential-helper, --ca-file and the repeatable --remote-header.
func (c *Config) RegisterFlags(fs *flag.FlagSet, endpointFlag, endpointUsage string) {
	fs.StringVar(&c.Endpoint, endpointFlag, "", endpointUsage)
	fs.StringVar(&c.InstanceName, "instance-name", "", "REAPI instance name of the remote cache (Bazel's --remote_instance_name).")
	fs.StringVar(&c.CredentialHelper, "credential-helper", "", "Credential helper for the remote cache (Bazel's --credential_helper).")
	fs.StringVar(&c.CAFile, "ca-file", "", "PEM file of certificates to trust for a grpcs:// remote cache, besides the system's.")
	fs.Func("remote-header", "`Name=Value` header to send to the remote cache (repeatable; Bazel's --remote_header).", func(s string) error {
		if _, err := parseHeader(s); err != nil {
			return err
		}
		c.Headers = append(c.Headers, s)
		return nil
	})
}

// Options are the Dial options of c.
func (c *Config) Options() ([]Option, error) {
	opts := []Option{WithInstanceName(c.InstanceName)}
	if c.CredentialHelper != "" {
		opts = append(opts, WithCredentialHelper(c.CredentialHelper))
	}
	if c.CAFile != "" {
		opts = append(opts, WithCAFile(c.CAFile))
	}
	headers := map[string]string{}
	for _, h := range c.Headers {
		if strings.TrimSpace(h) == "" {
			continue
		}
		kv, err := parseHeader(h)
		if err != nil {
			return nil, err
		}
		// Lowercased here, so that of two spellings of a name the later wins.
		headers[strings.ToLower(kv[0])] = kv[1]
	}
	if len(headers) > 0 {
		opts = append(opts, WithHeaders(headers))
	}
	return opts, nil
}

// Dial connects to the remote cache of c (see Dial).
func (c *Config) Dial(ctx context.Context) (*Client, error) {
	opts, err := c.Options()
	if err != nil {
		return nil, err
	}
	return Dial(ctx, c.Endpoint, opts...)
}

func parseHeader(s string) ([2]string, error) {
	k, v, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || k == "" {
		return [2]string{}, fmt.Errorf("remote header %q: want Name=Value", s)
	}
	return [2]string{k, v}, nil
}
