package estargz

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
)

// entry is one element of the table of contents. Zero fields are left
// out of the JSON, as the format's omitempty fields are.
type entry struct {
	name, typ   string
	size        int64
	modTime     string
	linkName    string
	mode        int64
	uid, gid    int
	uname       string
	gname       string
	offset      int64
	innerOffset int64
	devMajor    int
	devMinor    int
	xattrs      map[string]string // the names without "SCHILY.xattr."
	digest      string
	chunkOffset int64
	chunkSize   int64
	chunkDigest string
}

// Indentation of an entry inside the table of contents: the document is
// indented with one tab per level, and entries are at depth two.
const (
	entryOpen  = "{\n\t\t\t"
	entrySep   = ",\n\t\t\t"
	entryClose = "\n\t\t}"
	xattrOpen  = "{\n\t\t\t\t"
	xattrSep   = ",\n\t\t\t\t"
	xattrClose = "\n\t\t\t}"
)

// appendJSON appends e as encoding/json marshals the format's entry and
// json.Indent indents it at depth two with tabs: fields in the order the
// format declares them, strings escaped as encoding/json escapes them
// (HTML characters and U+2028/U+2029 included), xattr names sorted and
// their values in standard base64.
func (e *entry) appendJSON(b []byte) []byte {
	b = append(b, entryOpen...)
	b = appendField(b, "name", e.name)
	b = append(b, entrySep...)
	b = appendField(b, "type", e.typ)
	b = appendInt(b, "size", e.size)
	b = appendOptString(b, "modtime", e.modTime)
	b = appendOptString(b, "linkName", e.linkName)
	b = appendInt(b, "mode", e.mode)
	b = appendInt(b, "uid", int64(e.uid))
	b = appendInt(b, "gid", int64(e.gid))
	b = appendOptString(b, "userName", e.uname)
	b = appendOptString(b, "groupName", e.gname)
	b = appendInt(b, "offset", e.offset)
	b = appendInt(b, "innerOffset", e.innerOffset)
	b = appendInt(b, "devMajor", int64(e.devMajor))
	b = appendInt(b, "devMinor", int64(e.devMinor))
	if len(e.xattrs) > 0 {
		b = append(b, entrySep+`"xattrs": `+xattrOpen...)
		keys := make([]string, 0, len(e.xattrs))
		for k := range e.xattrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, xattrSep...)
			}
			b = appendString(b, k)
			b = append(b, ": \""...)
			b = base64.StdEncoding.AppendEncode(b, []byte(e.xattrs[k]))
			b = append(b, '"')
		}
		b = append(b, xattrClose...)
	}
	b = appendOptString(b, "digest", e.digest)
	b = appendInt(b, "chunkOffset", e.chunkOffset)
	b = appendInt(b, "chunkSize", e.chunkSize)
	b = appendOptString(b, "chunkDigest", e.chunkDigest)
	return append(b, entryClose...)
}

func appendField(b []byte, key, v string) []byte {
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, "\": "...)
	return appendString(b, v)
}

func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, entrySep...)
	return appendField(b, key, v)
}

func appendInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, entrySep+`"`...)
	b = append(b, key...)
	b = append(b, "\": "...)
	return strconv.AppendInt(b, v, 10)
}

// appendString appends s as a JSON string the way encoding/json writes
// it. Strings of plain printable ASCII, nearly all names, are copied;
// others go through encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
