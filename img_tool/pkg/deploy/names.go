package deploy

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// The grammar of distribution's reference package (docs/spec and
// reference/regexp.go), written out here.
var (
	// domainComponent is a DNS label.
	domainComponent = regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$`)
	// pathComponent is alpha-numeric runs joined by "_", "__", "." or
	// dashes.
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	tagPattern    = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
)

// maxNameLength bounds "registry/repository", as distribution does.
const maxNameLength = 255

// ValidateRegistry checks a registry host: DNS labels joined by dots, or an
// IPv4 address, or an IPv6 address in brackets, and an optional port
// 1-65535. Errors name the host.
func ValidateRegistry(host string) error {
	bad := func(why string) error {
		return invalidf("registry %q: %s; want a host or host:port such as ghcr.io or 127.0.0.1:5000", host, why)
	}
	if host == "" {
		return bad("empty")
	}
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.Index(host, "]")
		if end < 0 {
			return bad("unclosed [")
		}
		name, port = host[1:end], host[end+1:]
		if ip := net.ParseIP(name); ip == nil || ip.To4() != nil {
			return bad("not an IPv6 address in brackets")
		}
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return bad("text after ]")
			}
			port = p
		}
	} else {
		if i := strings.LastIndex(host, ":"); i >= 0 {
			name, port = host[:i], host[i+1:]
			if port == "" {
				return bad("empty port")
			}
		}
		if name == "" {
			return bad("empty host name")
		}
		for _, label := range strings.Split(name, ".") {
			if !domainComponent.MatchString(label) {
				return bad(fmt.Sprintf("%q is not a valid host name label", label))
			}
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
			return bad(fmt.Sprintf("port %q is not a number from 1 to 65535", port))
		}
	}
	return nil
}

// ValidateRepository checks a repository name: lowercase path components
// of [a-z0-9] joined by ".", "_", "__" or dashes, separated by "/". Errors
// name the repository.
func ValidateRepository(repository string) error {
	bad := func(why string) error {
		return invalidf("repository %q: %s; want lowercase path components of [a-z0-9._-] separated by /, e.g. my-org/app", repository, why)
	}
	if repository == "" {
		return bad("empty")
	}
	if len(repository) > maxNameLength {
		return bad(fmt.Sprintf("longer than %d characters", maxNameLength))
	}
	for _, c := range strings.Split(repository, "/") {
		if c == "" {
			return bad("empty path component")
		}
		if !pathComponent.MatchString(c) {
			if strings.ToLower(c) != c {
				return bad(fmt.Sprintf("path component %q has uppercase letters", c))
			}
			return bad(fmt.Sprintf("path component %q is invalid", c))
		}
	}
	return nil
}

// ValidateTag checks a tag: a word character and up to 127 word
// characters, dots and dashes.
func ValidateTag(tag string) error {
	if !tagPattern.MatchString(tag) {
		return invalidf("tag %q: want [A-Za-z0-9_] then up to 127 of [A-Za-z0-9_.-]", tag)
	}
	return nil
}

// ValidateDestination checks the registry, repository and tags of a push.
// No tags is valid: the push is by digest only. A tag given twice is
// written once.
func ValidateDestination(registry, repository string, tags []string) error {
	if err := ValidateRegistry(registry); err != nil {
		return err
	}
	if err := ValidateRepository(repository); err != nil {
		return err
	}
	if n := len(registry) + 1 + len(repository); n > maxNameLength {
		return invalidf("name %s/%s: %d characters, more than %d", registry, repository, n, maxNameLength)
	}
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	return nil
}

// validatePartialDestination checks the destination of a push as the
// deploy manifest may hold it: an empty registry or repository (given at
// run time) and values with template text (refused at run time) are not
// checked; the others are as in ValidateDestination.
func validatePartialDestination(registry, repository string, tags []string) error {
	checkable := func(s string) bool { return s != "" && !hasTemplate(s) }
	if checkable(registry) {
		if err := ValidateRegistry(registry); err != nil {
			return err
		}
	}
	if checkable(repository) {
		if err := ValidateRepository(repository); err != nil {
			return err
		}
	}
	if checkable(registry) && checkable(repository) {
		if n := len(registry) + 1 + len(repository); n > maxNameLength {
			return invalidf("name %s/%s: %d characters, more than %d", registry, repository, n, maxNameLength)
		}
	}
	for _, t := range tags {
		if hasTemplate(t) {
			continue
		}
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	return nil
}
