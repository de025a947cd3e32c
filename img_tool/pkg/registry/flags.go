package registry

import (
	"errors"
	"flag"
	"strings"
)

// Flags are the command-line flags of commands that fetch from registries
// (pull_tool pull and download-blob, img download-blob): the registries to
// try, the repository, and the transport settings.
type Flags struct {
	Registries []string
	Repository string
	configDir  string
	insecure   []string
	caFile     string
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
// --insecure-registry (repeatable) and --ca-file to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Var(listValue{&f.Registries}, "registry", "Registry host, e.g. index.docker.io or 127.0.0.1:5000. Repeatable: tried in order until one serves the request.")
	fs.StringVar(&f.Repository, "repository", "", "Repository on the registries, e.g. library/ubuntu.")
	fs.StringVar(&f.configDir, "docker-config", "", "Directory of the docker config.json with credentials. Default: $DOCKER_CONFIG, else ~/.docker.")
	fs.Var(listValue{&f.insecure}, "insecure-registry", "Host (or host:port) that may use plain HTTP besides loopback hosts. Repeatable.")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of CA certificates to trust besides the system ones.")
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

// Options are the client options the flags ask for.
func (f *Flags) Options() []Option {
	opts := []Option{WithConfigDir(f.configDir), WithInsecureRegistries(f.insecure...)}
	if f.caFile != "" {
		opts = append(opts, WithCAFile(f.caFile))
	}
	return opts
}
