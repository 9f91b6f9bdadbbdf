package main

// Turning protoc-gen-validate errors into one line per violated rule, with the
// path in proto field names (what a config author writes in JSON/YAML):
// "http_filters[0].typed_config<ExtAuthz>.with_request_body.max_request_bytes:
// value must be greater than 0" rather than PGV's nested Go-named causes.

import (
	"errors"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The shape of every PGV-generated <Message>ValidationError.
type fieldError interface {
	Field() string
	Reason() string
	Cause() error
}

// The shape of every PGV-generated <Message>MultiError (from ValidateAll).
type multiError interface {
	AllErrors() []error
}

func describe(err error, md protoreflect.MessageDescriptor, prefix string, out *[]string) {
	var multi multiError
	if errors.As(err, &multi) {
		for _, e := range multi.AllErrors() {
			describe(e, md, prefix, out)
		}
		return
	}
	var fe fieldError
	if !errors.As(err, &fe) {
		*out = append(*out, withPath(prefix, err.Error()))
		return
	}
	segment, next := fieldSegment(md, fe.Field())
	path := join(prefix, segment)
	cause := fe.Cause()
	if cause == nil {
		*out = append(*out, withPath(path, fe.Reason()))
		return
	}
	var nestedField fieldError
	var nestedMulti multiError
	if next != nil && (errors.As(cause, &nestedField) || errors.As(cause, &nestedMulti)) {
		describe(cause, next, path, out)
		return
	}
	*out = append(*out, withPath(path, fe.Reason()+": "+cause.Error()))
}

func withPath(path, msg string) string {
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

// fieldSegment maps PGV's Go field name ("HttpFilters[2]", "Clusters[foo]",
// "ConfigType") to the proto name ("http_filters[2]") and returns the message
// type a nested cause refers to.
func fieldSegment(md protoreflect.MessageDescriptor, goField string) (string, protoreflect.MessageDescriptor) {
	name, index := goField, ""
	if i := strings.IndexByte(goField, '['); i >= 0 {
		name, index = goField[:i], goField[i:]
	}
	if md == nil {
		return goField, nil
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !sameName(string(fd.Name()), name) {
			continue
		}
		switch {
		case fd.IsMap():
			return string(fd.Name()) + index, fd.MapValue().Message()
		default:
			return string(fd.Name()) + index, fd.Message()
		}
	}
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		if od := oneofs.Get(i); sameName(string(od.Name()), name) {
			return string(od.Name()) + index, nil
		}
	}
	return goField, nil
}

// sameName compares a proto name with its protoc-gen-go CamelCase form.
func sameName(protoName, goName string) bool {
	return strings.EqualFold(strings.ReplaceAll(protoName, "_", ""), goName)
}
