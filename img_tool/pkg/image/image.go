// Package image assembles image configs, manifests and indexes from small
// JSON metadata files: layer metadata, base manifests and configs, and the
// descriptors of other manifests. It never reads a layer blob.
//
// Equal inputs give byte-identical outputs: JSON is written compactly with
// sorted map keys, and every timestamp is the Unix epoch unless a creation
// time is given (WithCreated).
package image

import (
	"errors"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/image/imageconfig"
)

// Media types of the Docker image format, accepted for base images.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
)

// HistoryComment is the comment of the history entry of every new layer.
const HistoryComment = "rules_img"

// Errors that callers may want to tell apart; test with errors.Is.
var (
	// ErrPlatformMismatch: a base config or config fragment names another
	// platform than the image being built (imageconfig's error).
	ErrPlatformMismatch = imageconfig.ErrPlatformMismatch
	// ErrMissingPlatform: a manifest descriptor for an index has no platform.
	ErrMissingPlatform = errors.New("missing platform")
)

// epoch is the creation time of every config and history entry written here.
var epoch = time.Unix(0, 0).UTC()
