package truststore

import (
	"fmt"
	"os"

	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
)

// Bounds of a certificate directory walk: a symlink loop or a huge tree
// fails instead of running away.
const (
	maxCertDepth = 16
	maxCertFiles = 100000
)

// AddPath adds the certificates of a file, or of every file below a
// directory (in name order, recursively; each must hold certificates).
// Deeper than 16 levels or more than 100,000 files is ErrInvalidArgument.
func (s *Store) AddPath(p string) error {
	n := 0
	return s.addPath(p, 0, &n)
}

func (s *Store) addPath(p string, depth int, n *int) error {
	if depth > maxCertDepth || *n > maxCertFiles {
		return fmt.Errorf("%s: more than %d directory levels or %d files: %w", p, maxCertDepth, maxCertFiles, baseimage.ErrInvalidArgument)
	}
	*n++
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		data, err := baseimage.ReadInput(p)
		if err != nil {
			return err
		}
		return s.Add(p, data)
	}
	ents, err := os.ReadDir(p) // sorted by name
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := s.addPath(p+"/"+e.Name(), depth+1, n); err != nil {
			return err
		}
	}
	return nil
}
