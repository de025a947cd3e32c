// Command layercheck verifies layer blobs against their metadata JSON with
// the independent checker (internal/blobcheck): digest, size, diff_id, tar
// well-formedness and, for eStargz layers, the TOC through the estargz
// library's reader. Used by the e2e tests.
//
// Usage: layercheck BLOB METADATA [BLOB METADATA...]
package main

import (
	"fmt"
	"os"

	"github.com/rules-img/rules_img/img_tool/internal/blobcheck"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 || len(args)%2 != 0 {
		fmt.Fprintln(os.Stderr, "usage: layercheck BLOB METADATA [BLOB METADATA...]")
		os.Exit(2)
	}
	failed := false
	for i := 0; i < len(args); i += 2 {
		blob, mdPath := args[i], args[i+1]
		md, err := metadata.Read(mdPath)
		if err == nil {
			err = blobcheck.Check(blob, *md)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", blob, err)
			failed = true
			continue
		}
		kind := md.MediaType
		if _, ok := md.Annotations[metadata.AnnotationTOCDigest]; ok {
			kind += " (eStargz, TOC verified)"
		}
		fmt.Printf("ok   %s %s %s\n", md.Name, md.Digest, kind)
	}
	if failed {
		os.Exit(1)
	}
}
