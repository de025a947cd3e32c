package layer

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FileMetadata overrides tar header fields of an entry. Nil fields keep
// the value the writer chose. It is the JSON the rules' file_metadata()
// produces.
type FileMetadata struct {
	Mode       *string           `json:"mode,omitempty"`  // octal, e.g. "0755"
	UID        *int              `json:"uid,omitempty"`   //
	GID        *int              `json:"gid,omitempty"`   //
	Uname      *string           `json:"uname,omitempty"` //
	Gname      *string           `json:"gname,omitempty"` //
	Mtime      *string           `json:"mtime,omitempty"` // RFC 3339
	PAXRecords map[string]string `json:"pax_records,omitempty"`

	mode  int64
	mtime time.Time
}

// ParseFileMetadata decodes and checks one metadata JSON object strictly.
func ParseFileMetadata(s string) (*FileMetadata, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var m FileMetadata
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s is not valid metadata JSON: %w: %w", s, err, ErrInvalidArgument)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the JSON object: %w", s, ErrInvalidArgument)
	}
	if m.Mode != nil {
		v, err := strconv.ParseInt(*m.Mode, 8, 64)
		if err != nil || v < 0 || v > 0o7777 {
			return nil, fmt.Errorf("mode %q is not an octal mode like \"0644\": %w", *m.Mode, ErrInvalidArgument)
		}
		m.mode = v
	}
	if m.Mtime != nil {
		t, err := time.Parse(time.RFC3339, *m.Mtime)
		if err != nil {
			return nil, fmt.Errorf("mtime %q is not RFC 3339: %w", *m.Mtime, ErrInvalidArgument)
		}
		m.mtime = t
	}
	for _, f := range []struct {
		name string
		id   *int
	}{{"uid", m.UID}, {"gid", m.GID}} {
		if f.id != nil && (*f.id < 0 || *f.id > maxID) {
			return nil, fmt.Errorf("%s %d is out of range, want 0 to %d: %w", f.name, *f.id, maxID, ErrInvalidArgument)
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"uname", m.Uname}, {"gname", m.Gname}} {
		if f.v != nil && (len(*f.v) > maxOwnerName || strings.ContainsAny(*f.v, "\x00\n")) {
			return nil, fmt.Errorf("%s %q: at most %d bytes, without NUL or newline: %w", f.name, *f.v, maxOwnerName, ErrInvalidArgument)
		}
	}
	if err := checkPAXRecords(m.PAXRecords); err != nil {
		return nil, err
	}
	return &m, nil
}

const (
	maxID        = 1<<31 - 1 // uid/gid: GNU tar and the kernel's idmaps refuse more
	maxOwnerName = 256
	maxPAXKey    = 256
	maxPAXValue  = 64 << 10
	maxPAXCount  = 256
)

// headerPAXKeys are the PAX keys the writer derives from the entry itself;
// a record may not override them (the header and the record would disagree).
var headerPAXKeys = []string{"path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime", "GNU.sparse.map", "GNU.sparse.size", "GNU.sparse.name", "GNU.sparse.realsize", "GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.offset", "GNU.sparse.numbytes", "GNU.sparse.numblocks"}

// checkPAXRecords refuses records a tar reader would misparse or that
// contradict the header: empty keys, keys with NUL, newline or '=', values
// with NUL, over-long keys and values, too many records, header keys.
func checkPAXRecords(recs map[string]string) error {
	if len(recs) > maxPAXCount {
		return fmt.Errorf("pax_records: %d records, more than the limit of %d: %w", len(recs), maxPAXCount, ErrInvalidArgument)
	}
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := recs[k]
		switch {
		case k == "" || len(k) > maxPAXKey || strings.ContainsAny(k, "\x00\n="):
			return fmt.Errorf("pax_records: key %q: want 1 to %d bytes without NUL, newline or '=': %w", k, maxPAXKey, ErrInvalidArgument)
		case slices.Contains(headerPAXKeys, k):
			return fmt.Errorf("pax_records: key %q is set from the entry itself (use mode, uid, gid, uname, gname, mtime): %w", k, ErrInvalidArgument)
		case len(v) > maxPAXValue || strings.ContainsRune(v, 0):
			return fmt.Errorf("pax_records: value of %q: at most %d bytes, without NUL: %w", k, maxPAXValue, ErrInvalidArgument)
		}
	}
	return nil
}

// apply writes the set fields into h. With keepMode the mode is left alone
// (defaults must not make directories unsearchable).
func (m *FileMetadata) apply(h *tar.Header, keepMode bool) {
	if m == nil {
		return
	}
	if m.Mode != nil && !keepMode {
		h.Mode = m.mode
	}
	if m.UID != nil {
		h.Uid = *m.UID
	}
	if m.GID != nil {
		h.Gid = *m.GID
	}
	if m.Uname != nil {
		h.Uname = *m.Uname
	}
	if m.Gname != nil {
		h.Gname = *m.Gname
	}
	if m.Mtime != nil {
		h.ModTime = m.mtime
	}
	if len(m.PAXRecords) > 0 {
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		for k, v := range m.PAXRecords {
			h.PAXRecords[k] = v
		}
	}
}

// Metadata is the layer-wide header policy: defaults for every entry and
// overrides per path (paths without the leading "/").
type Metadata struct {
	Defaults  *FileMetadata
	Overrides map[string]*FileMetadata
	used      map[string]bool
}

// ParseMetadata builds a Metadata from the CLI's JSON strings.
func ParseMetadata(defaults string, overrides map[string]string) (*Metadata, error) {
	md := &Metadata{Overrides: map[string]*FileMetadata{}, used: map[string]bool{}}
	if defaults != "" {
		d, err := ParseFileMetadata(defaults)
		if err != nil {
			return nil, fmt.Errorf("default metadata: %w", err)
		}
		md.Defaults = d
	}
	for p, js := range overrides {
		clean, err := CleanPath(p)
		if err != nil {
			return nil, fmt.Errorf("file_metadata for %q: %w", p, err)
		}
		m, err := ParseFileMetadata(js)
		if err != nil {
			return nil, fmt.Errorf("file_metadata for /%s: %w", clean, err)
		}
		md.Overrides[clean] = m
	}
	return md, nil
}

func (md *Metadata) apply(h *tar.Header) {
	if md == nil {
		return
	}
	name := strings.TrimSuffix(h.Name, "/")
	md.Defaults.apply(h, h.Typeflag == tar.TypeDir)
	if o, ok := md.Overrides[name]; ok {
		md.used[name] = true
		o.apply(h, false)
	}
}

// applyOverride applies only the override for h's path, not the
// defaults: for entries the layer did not list (parent directories).
func (md *Metadata) applyOverride(h *tar.Header) {
	if md == nil {
		return
	}
	name := strings.TrimSuffix(h.Name, "/")
	if o, ok := md.Overrides[name]; ok {
		md.used[name] = true
		o.apply(h, false)
	}
}

func (md *Metadata) unused() []string {
	if md == nil {
		return nil
	}
	var out []string
	for p := range md.Overrides {
		if !md.used[p] {
			out = append(out, "/"+p)
		}
	}
	slices.Sort(out)
	return out
}

// headerKey is the part of a header that a hardlink shares with its target:
// two paths may share content only if these are equal too. Keys are
// interned, as most files of a layer share one.
func (w *Writer) headerKey(h *tar.Header) string {
	b := w.keyBuf[:0]
	b = strconv.AppendInt(b, h.Mode, 8)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(h.Uid), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(h.Gid), 10)
	b = append(b, '|')
	b = append(b, h.Uname...)
	b = append(b, '|')
	b = append(b, h.Gname...)
	b = append(b, '|')
	b = strconv.AppendInt(b, h.ModTime.UnixNano(), 10)
	if len(h.PAXRecords) > 0 {
		keys := make([]string, 0, len(h.PAXRecords))
		for k := range h.PAXRecords {
			if k != "path" && k != "linkpath" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(b, '|')
			b = append(b, k...)
			b = append(b, '=')
			b = append(b, h.PAXRecords[k]...)
		}
	}
	w.keyBuf = b
	if k, ok := w.headers[string(b)]; ok {
		return k
	}
	k := string(b)
	w.headers[k] = k
	return k
}
