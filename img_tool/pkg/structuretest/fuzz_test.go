package structuretest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/mtree"
	"github.com/rules-img/rules_img/img_tool/pkg/structuretest/layerfs"
)

// FuzzCheck runs an arbitrary config over an image of two arbitrary
// listings (the second on top). Whatever the input, parsing fails or the
// run ends (no panic, no endless symlink walk) with one summary line, and
// every test counts once.
// Seeds: testdata/fuzz/FuzzCheck.
func FuzzCheck(f *testing.F) {
	f.Fuzz(func(t *testing.T, config, lower, upper []byte) {
		c, err := ParseConfig("fuzz.yaml", bytes.NewReader(config))
		if err != nil {
			return
		}
		var layers []*layerfs.Layer
		for i, l := range [][]byte{lower, upper} {
			layer, err := layerfs.NewLayer("layer", bytes.NewReader(l), mtree.WithMaxEntries(500))
			if err != nil {
				layer = layerfs.UnlistedLayer("layer " + string(rune('0'+i)))
			}
			layers = append(layers, layer)
		}
		cfg, _ := ParseImageConfig("config", strings.NewReader(`{"config":{"Env":["A=/x"]}}`))
		var out bytes.Buffer
		s := Run(&out, []*Image{{Name: "fuzz", Config: cfg, FS: layerfs.NewFS(layers)}}, []NamedConfig{{Name: "fuzz.yaml", Config: c}})
		want := len(c.CommandTests) + len(c.FileExistenceTests) + len(c.FileContentTests) + len(c.LicenseTests)
		if c.MetadataTest != nil {
			want++
		}
		if s.Passed+s.Failed != want {
			t.Fatalf("%d results for %d tests", s.Passed+s.Failed, want)
		}
		if n := strings.Count(out.String(), "\nSummary: "); n != 1 && !strings.HasPrefix(out.String(), "Summary: ") {
			t.Fatalf("summary lines: %d\n%s", n, out.String())
		}
	})
}
