package load

import (
	"fmt"

	"github.com/distribution/reference"
)

// ParseName checks the name of a load, NAME[:TAG] as `docker tag` takes
// it, and returns it normalized the way Docker and containerd store it
// (full: "docker.io/library/app:latest") and the short form that `docker
// load` and `podman load` take in a tar's RepoTags (familiar:
// "app:latest"). A name without a tag gets "latest"; a name with a digest
// is an error.
//
//	app                 -> docker.io/library/app:latest, app:latest
//	user/app:1          -> docker.io/user/app:1, user/app:1
//	localhost:5000/a:v1 -> localhost:5000/a:v1, localhost:5000/a:v1
func ParseName(name string) (full, familiar string, err error) {
	bad := func(why string) error {
		return invalidf("tag %q: %s; want NAME[:TAG] such as app:latest or registry.local/team/app:v1", name, why)
	}
	if name == "" {
		return "", "", bad("empty")
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return "", "", bad(err.Error())
	}
	if _, ok := named.(reference.Digested); ok {
		return "", "", bad("a digest cannot be loaded as a name")
	}
	named = reference.TagNameOnly(named)
	return named.String(), reference.FamiliarString(named), nil
}

// ValidateName checks a name as ParseName does.
func ValidateName(name string) error {
	if _, _, err := ParseName(name); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}
