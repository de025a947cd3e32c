package bes

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// FuzzDecodeEvent decodes arbitrary bytes as a serialized
// build_event_stream.BuildEvent (the value of the Any that a BES stream
// carries). Whatever the input, decodeEvent returns an error or an event;
// an event encoded again (canonically, with the builders of the tests) and
// decoded gives the same event, and the encoding is not much larger than
// the input. Every file's remote cache digest, when one is found, is a
// valid digest. Seeds: testdata/fuzz/FuzzDecodeEvent (events as Bazel
// sends them: target configured and completed, named sets, aborted).
func FuzzDecodeEvent(f *testing.F) {
	f.Add(configuredEvent("//app:push", "image_push rule", "cfg1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := decodeEvent(data)
		if err != nil {
			if ev != nil {
				t.Fatal("an event and an error")
			}
			return
		}
		enc := encodeEventForFuzz(ev)
		if len(enc) > 2*len(data)+16 {
			t.Fatalf("canonical encoding of %d bytes from an input of %d", len(enc), len(data))
		}
		again, err := decodeEvent(enc)
		if err != nil {
			t.Fatalf("decoding the encoded event %x: %v", enc, err)
		}
		if !reflect.DeepEqual(ev, again) {
			t.Fatalf("decoded %+v, encoded and decoded again %+v", ev, again)
		}
		var files []file
		if ev.namedSet != nil {
			files = append(files, ev.namedSet.files...)
		}
		if ev.completed != nil {
			for _, g := range ev.completed.groups {
				files = append(files, g.files...)
			}
		}
		for _, fl := range files {
			d, err := casDigest(fl)
			if err != nil {
				continue
			}
			if len(d.Hash) != 64 || d.SizeBytes < 0 {
				t.Fatalf("file %+v: digest %+v", fl, d)
			}
		}
	})
}

// encodeEventForFuzz encodes ev so that decodeEvent gives ev again: each
// field once, in an order where the last one read decides.
func encodeEventForFuzz(ev *event) []byte {
	var b []byte
	if ev.id != (eventID{}) {
		b = append(b, sub(fieldEventID, encodeIDForFuzz(ev.id))...)
	}
	for _, c := range ev.children {
		b = append(b, sub(fieldEventChildren, encodeIDForFuzz(c))...)
	}
	if ev.aborted {
		b = append(b, sub(fieldEventAborted)...)
	}
	if ev.configured != nil {
		b = append(b, sub(fieldEventConfigured, strIf(fieldConfiguredKind, ev.configured.kind))...)
	}
	if c := ev.completed; c != nil {
		var m []byte
		m = append(m, boolean(fieldCompleteSuccess, c.success)...)
		for _, g := range c.groups {
			gb := strIf(fieldGroupName, g.name)
			for _, s := range g.fileSets {
				gb = append(gb, sub(fieldGroupFileSets, strIf(fieldOpaqueID, s))...)
			}
			for _, fl := range g.files {
				gb = append(gb, sub(fieldGroupInlineFiles, encodeFileForFuzz(fl))...)
			}
			m = append(m, sub(fieldCompleteOutputGroup, gb)...)
		}
		b = append(b, sub(fieldEventCompleted, m)...)
	}
	if ns := ev.namedSet; ns != nil {
		var m []byte
		for _, fl := range ns.files {
			m = append(m, sub(fieldSetFiles, encodeFileForFuzz(fl))...)
		}
		for _, s := range ns.fileSets {
			m = append(m, sub(fieldSetFileSets, strIf(fieldOpaqueID, s))...)
		}
		b = append(b, sub(fieldEventNamedSet, m)...)
	}
	return b
}

// encodeIDForFuzz encodes the parts of id that its kind's member does not
// carry first, then that member, which sets the kind.
func encodeIDForFuzz(id eventID) []byte {
	var b []byte
	config := func() []byte {
		if id.config == "" {
			return nil
		}
		return sub(fieldTargetConfig, str(fieldOpaqueID, id.config))
	}
	target := func(num protowire.Number, extra []byte) []byte {
		return sub(num, msg(strIf(fieldTargetLabel, id.label), strIf(fieldTargetAspect, id.aspect), extra))
	}
	if id.config != "" && id.kind != fieldIDTargetCompleted {
		b = append(b, sub(fieldIDTargetCompleted, config())...)
	}
	if id.namedSet != "" && id.kind != fieldIDNamedSet {
		b = append(b, sub(fieldIDNamedSet, str(fieldOpaqueID, id.namedSet))...)
	}
	if (id.label != "" || id.aspect != "") && id.kind == fieldIDNamedSet {
		b = append(b, target(fieldIDTargetConfigured, nil)...)
	}
	switch id.kind {
	case fieldIDTargetCompleted:
		b = append(b, target(fieldIDTargetCompleted, config())...)
	case fieldIDTargetConfigured:
		b = append(b, target(fieldIDTargetConfigured, nil)...)
	case fieldIDNamedSet:
		b = append(b, sub(fieldIDNamedSet, strIf(fieldOpaqueID, id.namedSet))...)
	}
	return b
}

func encodeFileForFuzz(fl file) []byte {
	b := msg(strIf(fieldFileName, fl.name), strIf(fieldFileURI, fl.uri), strIf(fieldFileDigest, fl.digest))
	if fl.length != 0 {
		b = append(b, varint(fieldFileLength, uint64(fl.length))...)
	}
	return b
}

// strIf is str, or nothing for the empty string (which decodes the same).
func strIf(num protowire.Number, s string) []byte {
	if s == "" {
		return nil
	}
	return str(num, s)
}
