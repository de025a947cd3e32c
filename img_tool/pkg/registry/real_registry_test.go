package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// testRegistry returns the host:port of a plain-HTTP registry for tests
// that need a real one, e.g. from tools/services/registry.sh.
func testRegistry(t *testing.T) string {
	t.Helper()
	host := os.Getenv("RULES_IMG_TEST_REGISTRY")
	if host == "" {
		t.Skip("RULES_IMG_TEST_REGISTRY is unset: set it to the host:port of a plain registry " +
			`(eval "$(tools/services/registry.sh start plain 5100)"; RULES_IMG_TEST_REGISTRY=$REGISTRY)`)
	}
	return host
}

func TestRealRegistry(t *testing.T) {
	host := testRegistry(t)
	ctx := context.Background()
	c, err := New(WithConfigDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	repoName := fmt.Sprintf("rules-img-test/registry-%d", time.Now().UnixNano())
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host+"/"+repoName+":v1", c.NameOptions(host)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, c.RemoteOptions(ctx)...); err != nil {
		t.Fatalf("push: %v", err)
	}
	wantDigest, _ := img.Digest()
	cfgName, _ := img.ConfigName()

	var got *Manifest
	served, err := Fetch(ctx, []string{"127.0.0.1:1", host}, func(ctx context.Context, reg string) error {
		repo, err := c.Repository(reg, repoName)
		if err != nil {
			return err
		}
		if got, err = repo.Manifest(ctx, "v1"); err != nil {
			return err
		}
		raw, _ := img.RawConfigFile()
		data, err := repo.ReadBlob(ctx, cfgName.String(), int64(len(raw)), 1<<20)
		if err == nil && string(data) != string(raw) {
			err = errors.New("config differs")
		}
		return err
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if served != host || got.Digest != wantDigest.String() {
		t.Errorf("served by %s digest %s, want %s %s", served, got.Digest, host, wantDigest)
	}
	if c.BytesRead() < int64(len(got.Bytes)) {
		t.Errorf("BytesRead() = %d, want at least %d", c.BytesRead(), len(got.Bytes))
	}

	repo, err := c.Repository(host, repoName)
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.Manifest(ctx, "missing")
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != 404 || !IsUnavailable(err) {
		t.Errorf("Manifest(missing) = %v, want a 404 that moves on to a mirror", err)
	}
	if !strings.HasPrefix(err.Error(), "registry "+host+" repository "+repoName+": ") {
		t.Errorf("error %q does not name registry and repository", err)
	}
}
