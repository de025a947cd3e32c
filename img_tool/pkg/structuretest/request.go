package structuretest

// The files that the image_structure_test rule and `img oci-layout-metadata`
// write for `img image-structure-test`: JSON, every path relative to one
// root (the test's runfiles, or the metadata directory of a layout).

// Request is what one test checks.
type Request struct {
	Configs []ConfigSpec `json:"configs"`
	Images  []ImageSpec  `json:"images,omitempty"`
	// Layouts are metadata directories written by `img oci-layout-metadata`,
	// each with an ImagesFile listing its images (paths relative to it).
	Layouts []LayoutSpec `json:"layouts,omitempty"`
}

// LayoutSpec is the metadata directory of an OCI layout.
type LayoutSpec struct {
	Name string `json:"name"` // prefixes the names of its images
	Path string `json:"path"`
}

// ConfigSpec is one container-structure-test config file.
type ConfigSpec struct {
	Name string `json:"name"` // how messages name it
	Path string `json:"path"`
}

// ImageSpec is one single-platform image.
type ImageSpec struct {
	Name   string      `json:"name"`
	Config string      `json:"config"`
	Layers []LayerSpec `json:"layers"`
}

// LayerSpec is one layer: its metadata JSON (digest and name, for
// messages; may be empty) and its listing (empty: the layer has none).
type LayerSpec struct {
	Metadata string `json:"metadata"`
	Mtree    string `json:"mtree"`
}

// ImagesFile is the file of a layout metadata directory that lists its
// images: {"images": [ImageSpec...]}.
const ImagesFile = "images.json"
