package baseimage

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/rules-img/rules_img/img_tool/pkg/layer"
)

// MaxInputSize bounds every configuration and input file of a content rule.
const MaxInputSize = 64 << 20

// ReadInput reads a configuration or input file of at most MaxInputSize
// bytes; a larger one is ErrInvalidArgument, naming the file.
func ReadInput(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%s: larger than 64 MiB: %w", p, ErrInvalidArgument)
	}
	return data, nil
}

// ParseMode parses an octal mode of at most 07777 named what; "" gives def.
func ParseMode(what, s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 8, 64)
	if err != nil || v < 0 || v > 0o7777 {
		return 0, fmt.Errorf("%s %q is not an octal mode like \"0644\": %w", what, s, ErrInvalidArgument)
	}
	return v, nil
}

// ApplyMetadata sets the owner and mode fields of m (nil: none) on e. A
// content entry has no mtime or PAX records of its own: m setting either
// is ErrInvalidArgument.
func (e *Entry) ApplyMetadata(m *layer.FileMetadata) error {
	if m == nil {
		return nil
	}
	if m.Mtime != nil || len(m.PAXRecords) > 0 {
		return fmt.Errorf("/%s: metadata: only mode, uid, gid, uname and gname apply: %w", e.Path, ErrInvalidArgument)
	}
	if m.Mode != nil {
		v, err := ParseMode("mode", *m.Mode, 0)
		if err != nil {
			return err
		}
		e.Mode = v
	}
	if m.UID != nil {
		e.UID = *m.UID
	}
	if m.GID != nil {
		e.GID = *m.GID
	}
	if m.Uname != nil {
		e.Uname = *m.Uname
	}
	if m.Gname != nil {
		e.Gname = *m.Gname
	}
	return nil
}
