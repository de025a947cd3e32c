package bes

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// This file encodes build_event_stream.BuildEvent messages for the tests,
// independently of the decoder: the field numbers are written out here again
// from build_event_stream.proto.

// msg concatenates encoded fields into a message.
func msg(fields ...[]byte) []byte {
	var b []byte
	for _, f := range fields {
		b = append(b, f...)
	}
	return b
}

func str(num protowire.Number, s string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
}

func sub(num protowire.Number, fields ...[]byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), msg(fields...))
}

func varint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func boolean(num protowire.Number, v bool) []byte {
	if !v {
		return nil // proto3 leaves false out
	}
	return varint(num, 1)
}

// BuildEventId members.
func idTargetConfigured(label string) []byte { return sub(16, str(1, label)) }
func idNamedSet(id string) []byte            { return sub(13, str(1, id)) }
func idTargetCompleted(label, config string) []byte {
	return sub(5, str(1, label), sub(3, str(1, config)))
}
func idAspectCompleted(label, config, aspect string) []byte {
	return sub(5, str(1, label), sub(3, str(1, config)), str(2, aspect))
}
func idProgress(n uint64) []byte { return sub(2, varint(1, n)) }

// buildEvent is BuildEvent{id: 1, children: 2, payload}.
func buildEvent(id []byte, children [][]byte, payload []byte) []byte {
	b := sub(1, id)
	for _, c := range children {
		b = append(b, sub(2, c)...)
	}
	return append(b, payload...)
}

// configuredEvent announces label, of kind, configured in config.
func configuredEvent(label, kind, config string) []byte {
	return buildEvent(idTargetConfigured(label), [][]byte{idTargetCompleted(label, config)},
		sub(18, str(1, kind), sub(3, str(3, "sometag")))) // configured{target_kind, tag}
}

// tFile is a build_event_stream.File.
type tFile struct {
	name, uri, digest string
	length            int64
}

func (f tFile) encode(num protowire.Number) []byte {
	b := msg(str(4, "bazel-out"), str(4, "k8-fastbuild"), str(4, "bin"), str(1, f.name))
	if f.uri != "" {
		b = append(b, str(2, f.uri)...)
	}
	if f.digest != "" {
		b = append(b, str(5, f.digest)...)
	}
	if f.length != 0 {
		b = append(b, varint(6, uint64(f.length))...)
	}
	return sub(num, b)
}

// namedSetEvent is NamedSetOfFiles{files: 1, file_sets: 2}.
func namedSetEvent(id string, files []tFile, sets ...string) []byte {
	var b []byte
	for _, f := range files {
		b = append(b, f.encode(1)...)
	}
	for _, s := range sets {
		b = append(b, sub(2, str(1, s))...)
	}
	return buildEvent(idNamedSet(id), nil, sub(15, b))
}

// group is an OutputGroup{name: 1, file_sets: 3}.
func group(name string, sets ...string) []byte {
	b := str(1, name)
	for _, s := range sets {
		b = append(b, sub(3, str(1, s))...)
	}
	return sub(2, b)
}

// completedEvent is TargetComplete{success: 1, output_group: 2} (payload 8).
func completedEvent(label, config string, success bool, groups ...[]byte) []byte {
	return buildEvent(idTargetCompleted(label, config), nil,
		sub(8, append(msg(boolean(1, success), str(3, "tag")), msg(groups...)...)))
}

// abortedEvent is an Aborted payload (4) for the completion of label.
func abortedEvent(label, config string) []byte {
	return buildEvent(idTargetCompleted(label, config), nil, sub(4, varint(1, 1), str(2, "interrupted")))
}

// progressEvent is a Progress payload (3) with some stderr.
func progressEvent(n uint64) []byte {
	return buildEvent(idProgress(n), [][]byte{idProgress(n + 1)}, sub(3, str(2, "INFO: building\n")))
}
