package casregistry

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// TestRealCAS runs a push and pull against a real remote cache, given
// RULES_IMG_TEST_REAPI=grpc://HOST:PORT.
func TestRealCAS(t *testing.T) {
	endpoint := os.Getenv("RULES_IMG_TEST_REAPI")
	if endpoint == "" {
		t.Skip("RULES_IMG_TEST_REAPI not set")
	}
	client, err := reapi.Dial(context.Background(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	host, conn := serve(t, New(client))
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/real:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("remote.Write to %s: %v", endpoint, err)
	}
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	h, _ := layers[0].Digest()
	size, _ := layers[0].Size()
	absent := digestOf([]byte(fmt.Sprint("absent ", h)))
	missing, err := Commit(context.Background(), conn, []reapi.Digest{{Hash: h.Hex, SizeBytes: size}, absent})
	if err != nil || len(missing) != 1 || missing[0] != absent {
		t.Fatalf("Commit = %v, %v; want [%v]", missing, err, absent)
	}
}

var _ CAS = (*reapi.Client)(nil)
