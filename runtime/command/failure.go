package command

import "github.com/resolute-run/resolute/runtime/protocol/pb"

// FailureFromProto is the Failure a protocol message carries, metadata included.
func FailureFromProto(f *pb.Failure) *Failure {
	if f == nil {
		return nil
	}
	out := &Failure{Code: uint16(f.GetCode()), Message: f.GetMessage()}
	for _, m := range f.GetMetadata() {
		out.Metadata = append(out.Metadata, MetadataEntry{Key: m.GetKey(), Value: m.GetValue()})
	}
	return out
}

// Proto is the protocol form of f, metadata included.
func (f *Failure) Proto() *pb.Failure {
	out := &pb.Failure{Code: uint32(f.Code), Message: f.Message}
	for _, m := range f.Metadata {
		out.Metadata = append(out.Metadata, &pb.FailureMetadata{Key: m.Key, Value: m.Value})
	}
	return out
}
