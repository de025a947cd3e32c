package ocispec

import "testing"

// FuzzSameAsImageSpec checks, for any input, that the documents decode
// and encode as image-spec's do, and that a digest validates as
// go-digest's does.
func FuzzSameAsImageSpec(f *testing.F) {
	for _, d := range documents {
		f.Add([]byte(d.json))
	}
	for _, d := range digests {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		checkDocument(t, data)
		checkDigest(t, string(data))
	})
}
