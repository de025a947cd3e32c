package bes

import (
	"context"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// DeployPusher is the Pusher of the bes push strategy: it runs the deploy
// manifests, read from the remote cache, with package deploy.
type DeployPusher struct {
	// Source is the remote cache that holds the deploy manifests and blobs.
	Source deploy.BlobSource
	// Options are passed to deploy.RunFromCAS.
	Options []deploy.Option
	// Log receives "bes: TARGET: pushed REFERENCE" per pushed reference.
	Log io.Writer
}

// Push runs the deploy manifest dispatch and logs the references it pushed,
// also those pushed before an error.
func (p *DeployPusher) Push(ctx context.Context, target string, dispatch reapi.Digest) error {
	rep, err := deploy.RunFromCAS(ctx, p.Source, dispatch, p.Options...)
	if rep != nil && p.Log != nil {
		for _, r := range rep.Pushes {
			fmt.Fprintf(p.Log, "bes: %s: pushed %s\n", target, r.Reference())
		}
	}
	return err
}
