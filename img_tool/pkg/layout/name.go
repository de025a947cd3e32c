package layout

import "strings"

// normalizeName returns the fully qualified form of an image name, the
// way Docker expands it before it looks the name up: a name without a
// registry is on docker.io, a single-component repository on docker.io is
// under library/, and a name without tag or digest gets ":latest".
//
//	app                   -> docker.io/library/app:latest
//	user/app:1            -> docker.io/user/app:1
//	localhost:5000/app    -> localhost:5000/app:latest
//	registry.local/app:v1 -> registry.local/app:v1
func normalizeName(name string) string {
	domain, rest := "docker.io", name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		// The first component is a registry if it looks like a host name.
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			domain, rest = first, name[i+1:]
		}
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	last := rest[strings.LastIndexByte(rest, '/')+1:]
	if !strings.ContainsAny(last, ":@") {
		rest += ":latest"
	}
	return domain + "/" + rest
}
