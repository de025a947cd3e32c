package bes

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// Field numbers of build_event_stream.proto (bazelbuild/bazel,
// src/main/java/com/google/devtools/build/lib/buildeventstream/proto). Only
// the fields this package reads are listed; everything else is skipped.
const (
	// BuildEvent.
	fieldEventID         = 1  // BuildEventId id
	fieldEventChildren   = 2  // repeated BuildEventId children
	fieldEventAborted    = 4  // Aborted aborted (payload)
	fieldEventCompleted  = 8  // TargetComplete completed (payload)
	fieldEventNamedSet   = 15 // NamedSetOfFiles named_set_of_files (payload)
	fieldEventConfigured = 18 // TargetConfigured configured (payload)

	// BuildEventId, members of oneof id.
	fieldIDTargetCompleted  = 5  // TargetCompletedId target_completed
	fieldIDNamedSet         = 13 // NamedSetOfFilesId named_set
	fieldIDTargetConfigured = 16 // TargetConfiguredId target_configured

	// BuildEventId.TargetCompletedId and TargetConfiguredId.
	fieldTargetLabel  = 1 // string label
	fieldTargetAspect = 2 // string aspect
	fieldTargetConfig = 3 // ConfigurationId configuration (TargetCompletedId only)

	// BuildEventId.ConfigurationId and NamedSetOfFilesId.
	fieldOpaqueID = 1 // string id

	// TargetConfigured.
	fieldConfiguredKind = 1 // string target_kind

	// TargetComplete.
	fieldCompleteSuccess     = 1 // bool success
	fieldCompleteOutputGroup = 2 // repeated OutputGroup output_group

	// OutputGroup.
	fieldGroupName        = 1 // string name
	fieldGroupFileSets    = 3 // repeated NamedSetOfFilesId file_sets
	fieldGroupInlineFiles = 5 // repeated File inline_files (newer Bazel)

	// NamedSetOfFiles.
	fieldSetFiles    = 1 // repeated File files
	fieldSetFileSets = 2 // repeated NamedSetOfFilesId file_sets

	// File.
	fieldFileName   = 1 // string name
	fieldFileURI    = 2 // string uri (oneof file)
	fieldFileDigest = 5 // string digest, hex
	fieldFileLength = 6 // int64 length
)

// bazelEventType is the type URL of the Any that carries a BuildEvent.
const bazelEventType = "build_event_stream.BuildEvent"

// eventID is the part of a BuildEventId this package tells apart; kind is
// the number of the oneof member (0 for the ones it does not decode).
type eventID struct {
	kind          protowire.Number
	label, aspect string
	config        string // configuration id of a target_completed id
	namedSet      string // id of a named_set id
}

// event is the decoded part of a BuildEvent.
type event struct {
	id       eventID
	children []eventID
	// The payload: at most one of these is set.
	aborted    bool
	configured *targetConfigured
	completed  *targetComplete
	namedSet   *namedSet
}

type targetConfigured struct{ kind string }

type targetComplete struct {
	success bool
	groups  []outputGroup
}

type outputGroup struct {
	name     string
	fileSets []string
	files    []file
}

type namedSet struct {
	files    []file
	fileSets []string
}

type file struct {
	name, uri, digest string
	length            int64
}

// field is one field of an encoded message: b for the length-delimited wire
// type, u for varints.
type field struct {
	num protowire.Number
	typ protowire.Type
	b   []byte
	u   uint64
}

func (f field) bytes(num protowire.Number) bool {
	return f.num == num && f.typ == protowire.BytesType
}

func (f field) varint(num protowire.Number) bool {
	return f.num == num && f.typ == protowire.VarintType
}

// walk calls fn for each field of the message b, skipping groups and fixed
// size fields, which none of the decoded fields use.
func walk(b []byte, fn func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType || typ == protowire.VarintType {
			if err := fn(f); err != nil {
				return fmt.Errorf("field %d: %w", num, err)
			}
		}
	}
	return nil
}

// decodeEvent decodes a serialized build_event_stream.BuildEvent.
func decodeEvent(b []byte) (*event, error) {
	ev := &event{}
	err := walk(b, func(f field) (err error) {
		switch {
		case f.bytes(fieldEventID):
			ev.id, err = decodeID(f.b)
		case f.bytes(fieldEventChildren):
			var id eventID
			id, err = decodeID(f.b)
			ev.children = append(ev.children, id)
		case f.bytes(fieldEventAborted):
			ev.aborted = true
		case f.bytes(fieldEventConfigured):
			ev.configured = &targetConfigured{}
			err = walk(f.b, func(f field) error {
				if f.bytes(fieldConfiguredKind) {
					ev.configured.kind = string(f.b)
				}
				return nil
			})
		case f.bytes(fieldEventCompleted):
			ev.completed, err = decodeComplete(f.b)
		case f.bytes(fieldEventNamedSet):
			ev.namedSet, err = decodeNamedSet(f.b)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("decoding build event: %w", err)
	}
	return ev, nil
}

func decodeID(b []byte) (eventID, error) {
	var id eventID
	err := walk(b, func(f field) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case fieldIDTargetConfigured, fieldIDTargetCompleted:
			id.kind = f.num
			return walk(f.b, func(f field) error {
				switch {
				case f.bytes(fieldTargetLabel):
					id.label = string(f.b)
				case f.bytes(fieldTargetAspect):
					id.aspect = string(f.b)
				case f.bytes(fieldTargetConfig) && id.kind == fieldIDTargetCompleted:
					return walk(f.b, opaqueID(&id.config))
				}
				return nil
			})
		case fieldIDNamedSet:
			id.kind = f.num
			return walk(f.b, opaqueID(&id.namedSet))
		}
		return nil
	})
	return id, err
}

// opaqueID decodes the id of a ConfigurationId or NamedSetOfFilesId into s.
func opaqueID(s *string) func(field) error {
	return func(f field) error {
		if f.bytes(fieldOpaqueID) {
			*s = string(f.b)
		}
		return nil
	}
}

func decodeComplete(b []byte) (*targetComplete, error) {
	tc := &targetComplete{}
	err := walk(b, func(f field) error {
		switch {
		case f.varint(fieldCompleteSuccess):
			tc.success = f.u != 0
		case f.bytes(fieldCompleteOutputGroup):
			var g outputGroup
			err := walk(f.b, func(f field) error {
				switch {
				case f.bytes(fieldGroupName):
					g.name = string(f.b)
				case f.bytes(fieldGroupFileSets):
					g.fileSets = append(g.fileSets, "")
					return walk(f.b, opaqueID(&g.fileSets[len(g.fileSets)-1]))
				case f.bytes(fieldGroupInlineFiles):
					fl, err := decodeFile(f.b)
					g.files = append(g.files, fl)
					return err
				}
				return nil
			})
			tc.groups = append(tc.groups, g)
			return err
		}
		return nil
	})
	return tc, err
}

func decodeNamedSet(b []byte) (*namedSet, error) {
	ns := &namedSet{}
	err := walk(b, func(f field) error {
		switch {
		case f.bytes(fieldSetFiles):
			fl, err := decodeFile(f.b)
			ns.files = append(ns.files, fl)
			return err
		case f.bytes(fieldSetFileSets):
			ns.fileSets = append(ns.fileSets, "")
			return walk(f.b, opaqueID(&ns.fileSets[len(ns.fileSets)-1]))
		}
		return nil
	})
	return ns, err
}

func decodeFile(b []byte) (file, error) {
	var fl file
	err := walk(b, func(f field) error {
		switch {
		case f.bytes(fieldFileName):
			fl.name = string(f.b)
		case f.bytes(fieldFileURI):
			fl.uri = string(f.b)
		case f.bytes(fieldFileDigest):
			fl.digest = string(f.b)
		case f.varint(fieldFileLength):
			fl.length = int64(f.u)
		}
		return nil
	})
	return fl, err
}

// errNotInCache is wrapped by the errors about outputs that Bazel reports
// with a local file:// URI instead of a remote cache one.
var errNotInCache = errors.New("not in the remote cache: build with --remote_cache and without --remote_upload_local_results=false")

// casDigest is the remote cache digest of f: its digest and length fields,
// or, when Bazel left them out, the HASH/SIZE at the end of its bytestream
// URI (bytestream://HOST[/INSTANCE]/blobs/HASH/SIZE).
func casDigest(f file) (reapi.Digest, error) {
	u, err := url.Parse(f.uri)
	switch {
	case f.uri == "":
		return reapi.Digest{}, fmt.Errorf("%s has no URI", f.name)
	case err != nil:
		return reapi.Digest{}, fmt.Errorf("%s: %w", f.name, err)
	case u.Scheme == "file":
		return reapi.Digest{}, fmt.Errorf("%s is at %s, %w", f.name, f.uri, errNotInCache)
	case u.Scheme != "bytestream":
		return reapi.Digest{}, fmt.Errorf("%s: unsupported URI %s, want bytestream://", f.name, f.uri)
	}
	hashSize := f.digest + "/" + strconv.FormatInt(f.length, 10)
	if f.digest == "" {
		_, hashSize, _ = strings.Cut(u.Path, "/blobs/")
	}
	d, err := reapi.ParseDigest(hashSize)
	if err != nil {
		return reapi.Digest{}, fmt.Errorf("%s at %s: %w", f.name, f.uri, err)
	}
	return d, nil
}
