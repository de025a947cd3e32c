//go:build !img_build_actions

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
	"github.com/rules-img/rules_img/img_tool/pkg/structuretest"
	"github.com/rules-img/rules_img/img_tool/pkg/structuretest/layerfs"
)

// structureTestRequest is the runfile that the image_structure_test rule
// writes: every path in it is a runfiles path below the same root.
const structureTestRequest = "image_structure_test/request.json"

// runImageStructureTestEnv is runImageStructureTest with the process's
// argv0 and environment: as the executable of an image_structure_test
// target (a link named image-structure-test) it finds its request in its
// runfiles.
func runImageStructureTestEnv(ctx context.Context, args []string, stderr io.Writer) error {
	return runImageStructureTest(ctx, args, os.Args[0], os.Getenv, stderr)
}

func runImageStructureTest(ctx context.Context, args []string, argv0 string, getenv func(string) string, out io.Writer) error {
	fs := newFlagSet("image-structure-test", "[--request FILE [--root DIR]]")
	fs.SetOutput(out)
	var request, root string
	fs.StringVar(&request, "request", "", "The request JSON (configs, image configs, layer listings). Default: "+structureTestRequest+" in the runfiles.")
	fs.StringVar(&root, "root", ".", "With --request: the directory that the request's paths are relative to.")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errors.Join(err, errUsage)
	}
	var rf deploy.Runfiles = deploy.DirRunfiles(root)
	if request == "" {
		rf = structureTestRunfiles(argv0, getenv)
		if rf == nil {
			return fmt.Errorf("no %s in the runfiles ($RUNFILES_DIR, $TEST_SRCDIR, %s.runfiles or $RUNFILES_MANIFEST_FILE); run it as a test, or give --request", structureTestRequest, argv0)
		}
		p, _ := rf.Path(structureTestRequest)
		request = p
	}
	data, err := readBounded(request, 16<<20)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	var req structuretest.Request
	if err := json.Unmarshal(data, &req); err != nil {
		return fmt.Errorf("request %s: %w", request, err)
	}
	open := func(name string) (*os.File, error) {
		p, err := rf.Path(name)
		if err != nil {
			return nil, err
		}
		return os.Open(p)
	}
	var configs []structuretest.NamedConfig
	for _, c := range req.Configs {
		f, err := open(c.Path)
		if err != nil {
			return fmt.Errorf("config %s: %w", c.Name, err)
		}
		parsed, err := structuretest.ParseConfig(c.Name, f)
		f.Close()
		if err != nil {
			return err
		}
		configs = append(configs, structuretest.NamedConfig{Name: c.Name, Config: parsed})
	}
	var images []*structuretest.Image
	for _, im := range req.Images {
		img, err := loadStructureImage(im, "", open)
		if err != nil {
			return err
		}
		images = append(images, img)
	}
	for _, layout := range req.Layouts {
		dir := layout.Path
		f, err := open(dir + "/" + structuretest.ImagesFile)
		if err != nil {
			return fmt.Errorf("layout metadata %s: %w", dir, err)
		}
		var listed struct {
			Images []structuretest.ImageSpec `json:"images"`
		}
		err = json.NewDecoder(io.LimitReader(f, 16<<20)).Decode(&listed)
		f.Close()
		if err != nil {
			return fmt.Errorf("layout metadata %s: %w", dir, err)
		}
		for _, im := range listed.Images {
			im.Name = strings.TrimSpace(layout.Name + " " + im.Name)
			img, err := loadStructureImage(im, dir+"/", open)
			if err != nil {
				return err
			}
			images = append(images, img)
		}
	}
	if len(configs) == 0 || len(images) == 0 {
		return fmt.Errorf("request %s: no configs or no images", request)
	}
	s := structuretest.Run(out, images, configs)
	if s.Failed > 0 {
		return fmt.Errorf("%d of %d structure tests failed", s.Failed, s.Failed+s.Passed)
	}
	return nil
}

// loadStructureImage reads the config and listings of one image; its
// paths are below prefix.
func loadStructureImage(im structuretest.ImageSpec, prefix string, open func(string) (*os.File, error)) (*structuretest.Image, error) {
	f, err := open(prefix + im.Config)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", im.Name, err)
	}
	cfg, err := structuretest.ParseImageConfig(im.Name, f)
	f.Close()
	if err != nil {
		return nil, err
	}
	var layers []*layerfs.Layer
	for i, l := range im.Layers {
		md := ""
		if l.Metadata != "" {
			md = prefix + l.Metadata
		}
		name := layerDisplayName(i, md, open)
		if l.Mtree == "" {
			layers = append(layers, layerfs.UnlistedLayer(name))
			continue
		}
		f, err := open(prefix + l.Mtree)
		if err != nil {
			return nil, fmt.Errorf("image %s: %s: %w", im.Name, name, err)
		}
		layer, err := layerfs.NewLayer(name, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", im.Name, err)
		}
		layers = append(layers, layer)
	}
	return &structuretest.Image{Name: im.Name, Config: cfg, FS: layerfs.NewFS(layers)}, nil
}

// layerDisplayName names layer i by its digest and name from its
// metadata JSON, when readable.
func layerDisplayName(i int, md string, open func(string) (*os.File, error)) string {
	name := fmt.Sprintf("layer %d", i)
	if md == "" {
		return name
	}
	f, err := open(md)
	if err != nil {
		return name
	}
	defer f.Close()
	var l metadata.Layer
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&l); err != nil {
		return name
	}
	parts := []string{}
	if l.Digest != "" {
		parts = append(parts, l.Digest)
	}
	if l.Name != "" && l.Name != l.Digest {
		parts = append(parts, l.Name)
	}
	if len(parts) == 0 {
		return name
	}
	return fmt.Sprintf("%s (%s)", name, strings.Join(parts, ", "))
}

// structureTestRunfiles finds the runfiles holding the request: the
// directory runfiles of a test ($RUNFILES_DIR, $TEST_SRCDIR, argv0's
// .runfiles) or the runfiles manifest.
func structureTestRunfiles(argv0 string, getenv func(string) string) deploy.Runfiles {
	isFile := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && !st.IsDir()
	}
	for _, dir := range []string{getenv("RUNFILES_DIR"), getenv("TEST_SRCDIR"), argv0 + ".runfiles"} {
		if dir != "" && dir != ".runfiles" && isFile(filepath.Join(dir, structureTestRequest)) {
			return deploy.DirRunfiles(dir)
		}
	}
	if mf := getenv("RUNFILES_MANIFEST_FILE"); mf != "" {
		if m, err := deploy.ReadRunfilesManifest(mf); err == nil {
			if p, err := m.Path(structureTestRequest); err == nil && isFile(p) {
				return m
			}
		}
	}
	return nil
}

// readBounded reads a whole file of at most max bytes.
func readBounded(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, max)
	}
	return data, nil
}
