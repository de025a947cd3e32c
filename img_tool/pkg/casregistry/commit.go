package casregistry

import (
	"context"
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// commitMethod is the full gRPC method name of Blobs.Commit, the blob
// cache service of rules_img's registry, defined as:
//
//	package pkg.proto.blobcache;
//	service Blobs { rpc Commit(CommitRequest) returns (CommitResponse); }
//	message CommitRequest {
//	  repeated build.bazel.remote.execution.v2.Digest blob_digests = 1;
//	  build.bazel.remote.execution.v2.DigestFunction.Value digest_function = 2;
//	}
//	message CommitResponse {
//	  repeated build.bazel.remote.execution.v2.Digest missing_blob_digests = 1;
//	}
const commitMethod = "/pkg.proto.blobcache.Blobs/Commit"

// The message descriptors of the file above, built at init since there is
// no generated code for it. The file is not registered globally.
var commitRequest, commitResponse protoreflect.MessageDescriptor

func init() {
	const reapiFile = "build/bazel/remote/execution/v2/remote_execution.proto"
	_ = repb.File_build_bazel_remote_execution_v2_remote_execution_proto // registers reapiFile
	repeated := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	optional := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	field := func(name string, num int32, label *descriptorpb.FieldDescriptorProto_Label, typ *descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: &name, Number: &num, Label: label, Type: typ, TypeName: &typeName}
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:       proto.String("pkg/proto/blobcache/blobcache.proto"),
		Package:    proto.String("pkg.proto.blobcache"),
		Dependency: []string{reapiFile},
		Syntax:     proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("CommitRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("blob_digests", 1, repeated, msg, ".build.bazel.remote.execution.v2.Digest"),
				field("digest_function", 2, optional, descriptorpb.FieldDescriptorProto_TYPE_ENUM.Enum(),
					".build.bazel.remote.execution.v2.DigestFunction.Value"),
			},
		}, {
			Name:  proto.String("CommitResponse"),
			Field: []*descriptorpb.FieldDescriptorProto{field("missing_blob_digests", 1, repeated, msg, ".build.bazel.remote.execution.v2.Digest")},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Blobs"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name:       proto.String("Commit"),
				InputType:  proto.String(".pkg.proto.blobcache.CommitRequest"),
				OutputType: proto.String(".pkg.proto.blobcache.CommitResponse"),
			}},
		}},
	}, protoregistry.GlobalFiles)
	if err != nil {
		panic(fmt.Sprintf("casregistry: building the blobcache descriptors: %v", err))
	}
	commitRequest = fd.Messages().ByName("CommitRequest")
	commitResponse = fd.Messages().ByName("CommitResponse")
}

// committer is the handler type of blobsService.
type committer interface {
	commit(ctx context.Context, req *dynamicpb.Message) (*dynamicpb.Message, error)
}

var blobsService = grpc.ServiceDesc{
	ServiceName: "pkg.proto.blobcache.Blobs",
	HandlerType: (*committer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Commit",
		Handler: func(srv any, ctx context.Context, dec func(any) error, icept grpc.UnaryServerInterceptor) (any, error) {
			req := dynamicpb.NewMessage(commitRequest)
			if err := dec(req); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, req any) (any, error) {
				return srv.(committer).commit(ctx, req.(*dynamicpb.Message))
			}
			if icept == nil {
				return call(ctx, req)
			}
			return icept(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: commitMethod}, call)
		},
	}},
	Metadata: "pkg/proto/blobcache/blobcache.proto",
}

// RegisterGRPC serves the Blobs.Commit call on s. Commit asks the CAS which
// of the digests it lacks, learns the sizes of the others (so that the
// registry serves them from then on) and answers the missing ones. Digest
// functions other than SHA256 (or unset) are InvalidArgument.
func (r *Registry) RegisterGRPC(s *grpc.Server) { s.RegisterService(&blobsService, r) }

func (r *Registry) commit(ctx context.Context, req *dynamicpb.Message) (*dynamicpb.Message, error) {
	fields := commitRequest.Fields()
	switch f := repb.DigestFunction_Value(req.Get(fields.ByName("digest_function")).Enum()); f {
	case repb.DigestFunction_UNKNOWN, repb.DigestFunction_SHA256:
	default:
		return nil, status.Errorf(codes.InvalidArgument, "digest function %v: only SHA256 is supported", f)
	}
	ds, err := digestsFrom(req.Get(fields.ByName("blob_digests")).List())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	missing, err := r.cas.FindMissing(ctx, ds)
	if err != nil {
		code := status.Code(err)
		if code == codes.Unknown {
			code = codes.Unavailable
		}
		return nil, status.Errorf(code, "finding %d blobs in the CAS: %v", len(ds), err)
	}
	absent := map[reapi.Digest]bool{}
	for _, d := range missing {
		absent[d] = true
	}
	for _, d := range ds {
		if !absent[d] {
			r.learn(d, true)
		}
	}
	resp := dynamicpb.NewMessage(commitResponse)
	putDigests(resp, commitResponse.Fields().ByName("missing_blob_digests"), missing)
	return resp, nil
}

// Commit calls Blobs.Commit over conn (a connection to the gRPC port of a
// registry serving RegisterGRPC): the
// registry learns the sizes of those of ds that its CAS holds and will serve
// them; the others are returned as missing.
func Commit(ctx context.Context, conn grpc.ClientConnInterface, ds []reapi.Digest) (missing []reapi.Digest, err error) {
	req := dynamicpb.NewMessage(commitRequest)
	putDigests(req, commitRequest.Fields().ByName("blob_digests"), ds)
	req.Set(commitRequest.Fields().ByName("digest_function"), protoreflect.ValueOfEnum(protoreflect.EnumNumber(repb.DigestFunction_SHA256)))
	resp := dynamicpb.NewMessage(commitResponse)
	if err := conn.Invoke(ctx, commitMethod, req, resp); err != nil {
		return nil, fmt.Errorf("committing %d blobs to the registry: %w", len(ds), err)
	}
	missing, err = digestsFrom(resp.Get(commitResponse.Fields().ByName("missing_blob_digests")).List())
	if err != nil {
		return nil, fmt.Errorf("Commit response: %w", err)
	}
	return missing, nil
}

func putDigests(m *dynamicpb.Message, fd protoreflect.FieldDescriptor, ds []reapi.Digest) {
	list := m.Mutable(fd).List()
	for _, d := range ds {
		e := list.NewElement()
		e.Message().Set(e.Message().Descriptor().Fields().ByName("hash"), protoreflect.ValueOfString(d.Hash))
		e.Message().Set(e.Message().Descriptor().Fields().ByName("size_bytes"), protoreflect.ValueOfInt64(d.SizeBytes))
		list.Append(e)
	}
}

func digestsFrom(list protoreflect.List) ([]reapi.Digest, error) {
	ds := make([]reapi.Digest, 0, list.Len())
	for i := range list.Len() {
		m := list.Get(i).Message()
		f := m.Descriptor().Fields()
		d, err := reapi.FromOCI("sha256:"+m.Get(f.ByName("hash")).String(), m.Get(f.ByName("size_bytes")).Int())
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}
