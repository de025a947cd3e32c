package reapi

import "errors"

// ErrNotFound is wrapped by the errors about blobs that the CAS does not
// hold (never uploaded, or evicted).
var ErrNotFound = errors.New("not in the remote cache")

// ErrCorrupt is wrapped by the errors about content that does not match
// its digest: a blob read from the cache, or content given to upload.
var ErrCorrupt = errors.New("content does not match its digest")
